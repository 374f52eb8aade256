package wastore

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Store is every per-device whatsmeow store of one gateway device. Its
// methods follow whatsmeow's SQL store: "not found" is nil with no error,
// writes are synced, and a call made with the context of a transaction
// (DoDecryptionTxn) reads and writes that transaction. Safe for concurrent
// use.
type Store struct {
	c  *Container
	id int64

	// Read-modify-write operations are serialised per device, as the SQL
	// store does with its locks and transactions.
	preKeyMu  sync.Mutex
	contactMu sync.Mutex
	chatMu    sync.Mutex
}

var (
	_ store.AllSessionSpecificStores = (*Store)(nil)
	_ store.IdentityStore            = (*Store)(nil)
	_ store.SessionStore             = (*Store)(nil)
	_ store.PreKeyStore              = (*Store)(nil)
	_ store.SenderKeyStore           = (*Store)(nil)
	_ store.AppStateSyncKeyStore     = (*Store)(nil)
	_ store.AppStateStore            = (*Store)(nil)
	_ store.ContactStore             = (*Store)(nil)
	_ store.ChatSettingsStore        = (*Store)(nil)
	_ store.MsgSecretStore           = (*Store)(nil)
	_ store.PrivacyTokenStore        = (*Store)(nil)
	_ store.EventBuffer              = (*Store)(nil)
)

// ---- IdentityStore

// PutIdentity implements store.IdentityStore.
func (s *Store) PutIdentity(ctx context.Context, address string, key [32]byte) error {
	if err := s.c.rw(ctx).Set(identityKey(s.id, address), key[:]); err != nil {
		return fmt.Errorf("put identity %s: %w", address, err)
	}
	return nil
}

// DeleteAllIdentities implements store.IdentityStore: every device of the
// user phone.
func (s *Store) DeleteAllIdentities(ctx context.Context, phone string) error {
	if err := s.c.rw(ctx).DeletePrefix(addressesOfUser(s.id, tableIdentity, phone)); err != nil {
		return fmt.Errorf("delete identities of %s: %w", phone, err)
	}
	return nil
}

// DeleteIdentity implements store.IdentityStore.
func (s *Store) DeleteIdentity(ctx context.Context, address string) error {
	if err := s.c.rw(ctx).Delete(identityKey(s.id, address)); err != nil {
		return fmt.Errorf("delete identity %s: %w", address, err)
	}
	return nil
}

// IsTrustedIdentity implements store.IdentityStore: an unknown address is
// trusted on first use.
func (s *Store) IsTrustedIdentity(ctx context.Context, address string, key [32]byte) (bool, error) {
	v, err := s.c.get(ctx, identityKey(s.id, address))
	switch {
	case err != nil:
		return false, fmt.Errorf("get identity %s: %w", address, err)
	case v == nil:
		return true, nil
	case len(v) != 32:
		return false, fmt.Errorf("%w: identity of %s has %d bytes", ErrCorrupt, address, len(v))
	}
	return [32]byte(v) == key, nil
}

// ---- SessionStore

// GetSession implements store.SessionStore.
func (s *Store) GetSession(ctx context.Context, address string) ([]byte, error) {
	v, err := s.c.get(ctx, sessionKey(s.id, address))
	if err != nil {
		return nil, fmt.Errorf("get session %s: %w", address, err)
	}
	return v, nil
}

// HasSession implements store.SessionStore.
func (s *Store) HasSession(ctx context.Context, address string) (bool, error) {
	v, err := s.GetSession(ctx, address)
	return v != nil, err
}

// GetManySessions implements store.SessionStore: every address is in the
// result, with nil for those without a session.
func (s *Store) GetManySessions(ctx context.Context, addresses []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(addresses))
	for _, a := range addresses {
		v, err := s.GetSession(ctx, a)
		if err != nil {
			return nil, err
		}
		out[a] = v
	}
	return out, nil
}

// PutSession implements store.SessionStore.
func (s *Store) PutSession(ctx context.Context, address string, session []byte) error {
	if err := s.c.rw(ctx).Set(sessionKey(s.id, address), session); err != nil {
		return fmt.Errorf("put session %s: %w", address, err)
	}
	return nil
}

// PutManySessions implements store.SessionStore, atomically.
func (s *Store) PutManySessions(ctx context.Context, sessions map[string][]byte) error {
	if len(sessions) == 0 {
		return nil
	}
	return s.c.inTxn(ctx, func(ctx context.Context) error {
		for a, sess := range sessions {
			if err := s.PutSession(ctx, a, sess); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteAllSessions implements store.SessionStore: every device of the
// user phone.
func (s *Store) DeleteAllSessions(ctx context.Context, phone string) error {
	if err := s.c.rw(ctx).DeletePrefix(addressesOfUser(s.id, tableSession, phone)); err != nil {
		return fmt.Errorf("delete sessions of %s: %w", phone, err)
	}
	return nil
}

// DeleteSession implements store.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, address string) error {
	if err := s.c.rw(ctx).Delete(sessionKey(s.id, address)); err != nil {
		return fmt.Errorf("delete session %s: %w", address, err)
	}
	return nil
}

// MigratePNToLID implements store.SessionStore: the sessions, identities
// and sender keys of every device of the phone number move to the LID, in
// one transaction; what the LID already has is overwritten.
func (s *Store) MigratePNToLID(ctx context.Context, pn, lid types.JID) error {
	pnUser, lidUser := pn.SignalAddressUser(), lid.SignalAddressUser()
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		rw := s.c.rw(ctx)
		for _, table := range []string{tableSession, tableIdentity} {
			from := addressesOfUser(s.id, table, pnUser)
			type move struct{ device, value []byte }
			var moves []move
			err := rw.Scan(from, false, func(k, v []byte) (bool, error) {
				moves = append(moves, move{bytes.Clone(k[len(from):]), bytes.Clone(v)})
				return true, nil
			})
			if err != nil {
				return err
			}
			for _, m := range moves {
				if err := rw.Set(append(addressesOfUser(s.id, table, lidUser), m.device...), m.value); err != nil {
					return err
				}
			}
			if err := rw.DeletePrefix(from); err != nil {
				return err
			}
		}
		type move struct {
			group, sender string
			value         []byte
		}
		var moves []move
		prefix := senderKeysPrefix(s.id)
		err := rw.Scan(prefix, false, func(k, v []byte) (bool, error) {
			group, sender, err := parseSenderKey(k[len(prefix):])
			if err != nil {
				return false, err
			}
			if strings.HasPrefix(sender, pnUser+":") {
				moves = append(moves, move{group, sender, bytes.Clone(v)})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, m := range moves {
			if err := rw.Delete(senderKeyKey(s.id, m.group, m.sender)); err != nil {
				return err
			}
			moved := lidUser + strings.TrimPrefix(m.sender, pnUser)
			if err := rw.Set(senderKeyKey(s.id, m.group, moved), m.value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s to %s: %w", pn, lid, err)
	}
	return nil
}

// ---- PreKeyStore: value = private key (32 bytes) + uploaded flag (1 byte)

func encodePreKey(k *keys.PreKey, uploaded bool) []byte {
	v := append(make([]byte, 0, 33), k.Priv[:]...)
	if uploaded {
		return append(v, 1)
	}
	return append(v, 0)
}

func decodePreKey(id uint32, v []byte) (*keys.PreKey, bool, error) {
	if len(v) != 33 {
		return nil, false, fmt.Errorf("%w: prekey %d of %d bytes", ErrCorrupt, id, len(v))
	}
	return &keys.PreKey{KeyPair: *keys.NewKeyPairFromPrivateKey([32]byte(v[:32])), KeyID: id}, v[32] == 1, nil
}

// nextPreKeyID is one more than the highest prekey id stored (ids are
// never reused while keys remain).
func (s *Store) nextPreKeyID(ctx context.Context) (uint32, error) {
	var last uint32
	prefix := preKeysPrefix(s.id)
	err := s.c.rw(ctx).Scan(prefix, true, func(k, _ []byte) (bool, error) {
		id, err := parsePreKeyID(k[len(prefix):])
		last = id
		return false, err
	})
	return last + 1, err
}

// GenOnePreKey implements store.PreKeyStore: a new key, marked uploaded.
func (s *Store) GenOnePreKey(ctx context.Context) (*keys.PreKey, error) {
	s.preKeyMu.Lock()
	defer s.preKeyMu.Unlock()
	id, err := s.nextPreKeyID(ctx)
	if err != nil {
		return nil, fmt.Errorf("generate prekey: %w", err)
	}
	k := keys.NewPreKey(id)
	if err := s.c.rw(ctx).Set(preKeyKey(s.id, id), encodePreKey(k, true)); err != nil {
		return nil, fmt.Errorf("generate prekey: %w", err)
	}
	return k, nil
}

// GetOrGenPreKeys implements store.PreKeyStore: the keys not yet uploaded,
// lowest id first, topped up with new ones to count (stored atomically).
func (s *Store) GetOrGenPreKeys(ctx context.Context, count uint32) ([]*keys.PreKey, error) {
	s.preKeyMu.Lock()
	defer s.preKeyMu.Unlock()
	out := make([]*keys.PreKey, 0, count)
	prefix := preKeysPrefix(s.id)
	err := s.c.rw(ctx).Scan(prefix, false, func(k, v []byte) (bool, error) {
		if uint32(len(out)) >= count {
			return false, nil
		}
		id, err := parsePreKeyID(k[len(prefix):])
		if err != nil {
			return false, err
		}
		pk, uploaded, err := decodePreKey(id, v)
		if err != nil {
			return false, err
		}
		if !uploaded {
			out = append(out, pk)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("get prekeys: %w", err)
	}
	if uint32(len(out)) == count {
		return out, nil
	}
	err = s.c.inTxn(ctx, func(ctx context.Context) error {
		next, err := s.nextPreKeyID(ctx)
		if err != nil {
			return err
		}
		for uint32(len(out)) < count {
			k := keys.NewPreKey(next)
			if err := s.c.rw(ctx).Set(preKeyKey(s.id, next), encodePreKey(k, false)); err != nil {
				return err
			}
			out = append(out, k)
			next++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generate prekeys: %w", err)
	}
	return out, nil
}

// GetPreKey implements store.PreKeyStore.
func (s *Store) GetPreKey(ctx context.Context, id uint32) (*keys.PreKey, error) {
	v, err := s.c.get(ctx, preKeyKey(s.id, id))
	if err != nil || v == nil {
		return nil, wrapErr("get prekey", err)
	}
	k, _, err := decodePreKey(id, v)
	return k, err
}

// RemovePreKey implements store.PreKeyStore.
func (s *Store) RemovePreKey(ctx context.Context, id uint32) error {
	return wrapErr("remove prekey", s.c.rw(ctx).Delete(preKeyKey(s.id, id)))
}

// MarkPreKeysAsUploaded implements store.PreKeyStore: every key up to and
// including upToID, atomically.
func (s *Store) MarkPreKeysAsUploaded(ctx context.Context, upToID uint32) error {
	s.preKeyMu.Lock()
	defer s.preKeyMu.Unlock()
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		type mark struct {
			id uint32
			v  []byte
		}
		var marks []mark
		prefix := preKeysPrefix(s.id)
		err := s.c.rw(ctx).Scan(prefix, false, func(k, v []byte) (bool, error) {
			id, err := parsePreKeyID(k[len(prefix):])
			if err != nil || id > upToID {
				return false, err
			}
			if len(v) == 33 && v[32] == 0 {
				nv := bytes.Clone(v)
				nv[32] = 1
				marks = append(marks, mark{id, nv})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, m := range marks {
			if err := s.c.rw(ctx).Set(preKeyKey(s.id, m.id), m.v); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("mark prekeys uploaded", err)
}

// UploadedPreKeyCount implements store.PreKeyStore.
func (s *Store) UploadedPreKeyCount(ctx context.Context) (int, error) {
	n := 0
	err := s.c.rw(ctx).Scan(preKeysPrefix(s.id), false, func(_, v []byte) (bool, error) {
		if len(v) == 33 && v[32] == 1 {
			n++
		}
		return true, nil
	})
	return n, wrapErr("count prekeys", err)
}

// ---- SenderKeyStore

// PutSenderKey implements store.SenderKeyStore.
func (s *Store) PutSenderKey(ctx context.Context, group, user string, session []byte) error {
	return wrapErr("put sender key", s.c.rw(ctx).Set(senderKeyKey(s.id, group, user), session))
}

// GetSenderKey implements store.SenderKeyStore.
func (s *Store) GetSenderKey(ctx context.Context, group, user string) ([]byte, error) {
	v, err := s.c.get(ctx, senderKeyKey(s.id, group, user))
	return v, wrapErr("get sender key", err)
}

// wrapErr adds context to an error; nil stays nil.
func wrapErr(context string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", context, err)
}
