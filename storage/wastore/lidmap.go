package wastore

import (
	"context"
	"fmt"
	"sync"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// LIDMap is whatsmeow's global map between LIDs and phone numbers, shared
// by every device: one LID per phone number and one phone number per LID.
// Safe for concurrent use.
type LIDMap struct {
	c  *Container
	mu sync.Mutex // serialises writes, which read what they replace
}

var (
	_ store.LIDStore        = (*LIDMap)(nil)
	_ store.AllGlobalStores = (*LIDMap)(nil)
)

// put maps lid ↔ pn, dropping whatever either was mapped to before.
func (m *LIDMap) put(ctx context.Context, lid, pn string) error {
	rw := m.c.rw(ctx)
	oldLID, err := m.c.get(ctx, pnToLIDKey(pn))
	if err != nil {
		return err
	}
	if string(oldLID) == lid {
		return nil
	}
	if oldLID != nil {
		if err := rw.Delete(lidToPNKey(string(oldLID))); err != nil {
			return err
		}
	}
	oldPN, err := m.c.get(ctx, lidToPNKey(lid))
	if err != nil {
		return err
	}
	if oldPN != nil && string(oldPN) != pn {
		if err := rw.Delete(pnToLIDKey(string(oldPN))); err != nil {
			return err
		}
	}
	if err := rw.Set(lidToPNKey(lid), []byte(pn)); err != nil {
		return err
	}
	return rw.Set(pnToLIDKey(pn), []byte(lid))
}

func validMapping(lid, pn types.JID) bool {
	return lid.Server == types.HiddenUserServer && pn.Server == types.DefaultUserServer
}

// PutLIDMapping implements store.LIDStore.
func (m *LIDMap) PutLIDMapping(ctx context.Context, lid, pn types.JID) error {
	if !validMapping(lid, pn) {
		return fmt.Errorf("%w: LID mapping %s ↔ %s", ErrInvalid, lid, pn)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.c.inTxn(ctx, func(ctx context.Context) error { return m.put(ctx, lid.User, pn.User) })
	return wrapErr("put LID mapping", err)
}

// PutManyLIDMappings implements store.LIDStore, atomically; invalid
// entries are skipped, as the SQL store does.
func (m *LIDMap) PutManyLIDMappings(ctx context.Context, mappings []store.LIDMapping) error {
	if len(mappings) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.c.inTxn(ctx, func(ctx context.Context) error {
		for _, mp := range mappings {
			if !validMapping(mp.LID, mp.PN) {
				continue
			}
			if err := m.put(ctx, mp.LID.User, mp.PN.User); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("put LID mappings", err)
}

// GetPNForLID implements store.LIDStore: the phone-number JID (with the
// LID's device) or the empty JID.
func (m *LIDMap) GetPNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	if lid.Server != types.HiddenUserServer {
		return types.JID{}, fmt.Errorf("%w: %s is not a LID", ErrInvalid, lid)
	}
	v, err := m.c.get(ctx, lidToPNKey(lid.User))
	if err != nil || v == nil {
		return types.JID{}, wrapErr("get phone number of LID", err)
	}
	return types.JID{User: string(v), Device: lid.Device, Server: types.DefaultUserServer}, nil
}

// GetLIDForPN implements store.LIDStore: the LID (with the phone number's
// device) or the empty JID.
func (m *LIDMap) GetLIDForPN(ctx context.Context, pn types.JID) (types.JID, error) {
	if pn.Server != types.DefaultUserServer {
		return types.JID{}, fmt.Errorf("%w: %s is not a phone number JID", ErrInvalid, pn)
	}
	v, err := m.c.get(ctx, pnToLIDKey(pn.User))
	if err != nil || v == nil {
		return types.JID{}, wrapErr("get LID of phone number", err)
	}
	return types.JID{User: string(v), Device: pn.Device, Server: types.HiddenUserServer}, nil
}

// GetManyLIDsForPNs implements store.LIDStore: the LIDs known, by phone
// number; other JIDs are skipped.
func (m *LIDMap) GetManyLIDsForPNs(ctx context.Context, pns []types.JID) (map[types.JID]types.JID, error) {
	out := make(map[types.JID]types.JID, len(pns))
	for _, pn := range pns {
		if pn.Server != types.DefaultUserServer {
			continue
		}
		lid, err := m.GetLIDForPN(ctx, pn)
		if err != nil {
			return nil, err
		}
		if !lid.IsEmpty() {
			out[pn] = lid
		}
	}
	return out, nil
}
