package wastore

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// ---- ContactStore

type contactRecord struct {
	FirstName     string `json:"first_name,omitempty"`
	FullName      string `json:"full_name,omitempty"`
	PushName      string `json:"push_name,omitempty"`
	BusinessName  string `json:"business_name,omitempty"`
	RedactedPhone string `json:"redacted_phone,omitempty"`
}

func (r *contactRecord) info(found bool) types.ContactInfo {
	return types.ContactInfo{
		Found: found, FirstName: r.FirstName, FullName: r.FullName, PushName: r.PushName,
		BusinessName: r.BusinessName, RedactedPhone: r.RedactedPhone,
	}
}

// updateContact applies change to the user's contact record and stores it
// when change reports a change; it returns change's results.
func (s *Store) updateContact(ctx context.Context, user types.JID, change func(*contactRecord) (bool, string)) (bool, string, error) {
	s.contactMu.Lock()
	defer s.contactMu.Unlock()
	var rec contactRecord
	if _, err := s.c.getRecord(ctx, contactKey(s.id, user.String()), &rec); err != nil {
		return false, "", err
	}
	changed, previous := change(&rec)
	if !changed {
		return false, "", nil
	}
	if err := s.c.putRecord(ctx, contactKey(s.id, user.String()), &rec); err != nil {
		return false, "", err
	}
	return true, previous, nil
}

// PutPushName implements store.ContactStore: it reports whether the name
// changed and the previous one.
func (s *Store) PutPushName(ctx context.Context, user types.JID, pushName string) (bool, string, error) {
	changed, prev, err := s.updateContact(ctx, user, func(r *contactRecord) (bool, string) {
		prev := r.PushName
		r.PushName = pushName
		return prev != pushName, prev
	})
	return changed, prev, wrapErr("put push name", err)
}

// PutBusinessName implements store.ContactStore, like PutPushName.
func (s *Store) PutBusinessName(ctx context.Context, user types.JID, businessName string) (bool, string, error) {
	changed, prev, err := s.updateContact(ctx, user, func(r *contactRecord) (bool, string) {
		prev := r.BusinessName
		r.BusinessName = businessName
		return prev != businessName, prev
	})
	return changed, prev, wrapErr("put business name", err)
}

// PutContactName implements store.ContactStore. The interface names its
// parameters (fullName, firstName), but whatsmeow passes the first name
// first (appstate.go), as its SQL store reads them.
func (s *Store) PutContactName(ctx context.Context, user types.JID, firstName, fullName string) error {
	_, _, err := s.updateContact(ctx, user, func(r *contactRecord) (bool, string) {
		changed := r.FirstName != firstName || r.FullName != fullName
		r.FirstName, r.FullName = firstName, fullName
		return changed, ""
	})
	return wrapErr("put contact name", err)
}

// PutAllContactNames implements store.ContactStore, atomically; for a JID
// listed twice the last entry wins.
func (s *Store) PutAllContactNames(ctx context.Context, contacts []store.ContactEntry) error {
	if len(contacts) == 0 {
		return nil
	}
	return s.c.inTxn(ctx, func(ctx context.Context) error {
		for _, e := range contacts {
			if err := s.PutContactName(ctx, e.JID, e.FirstName, e.FullName); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutManyRedactedPhones implements store.ContactStore, atomically.
func (s *Store) PutManyRedactedPhones(ctx context.Context, entries []store.RedactedPhoneEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.c.inTxn(ctx, func(ctx context.Context) error {
		for _, e := range entries {
			_, _, err := s.updateContact(ctx, e.JID, func(r *contactRecord) (bool, string) {
				changed := r.RedactedPhone != e.RedactedPhone
				r.RedactedPhone = e.RedactedPhone
				return changed, ""
			})
			if err != nil {
				return fmt.Errorf("put redacted phone: %w", err)
			}
		}
		return nil
	})
}

// GetContact implements store.ContactStore; Found is false for a user
// never stored.
func (s *Store) GetContact(ctx context.Context, user types.JID) (types.ContactInfo, error) {
	var rec contactRecord
	found, err := s.c.getRecord(ctx, contactKey(s.id, user.String()), &rec)
	if err != nil {
		return types.ContactInfo{}, fmt.Errorf("get contact: %w", err)
	}
	return rec.info(found), nil
}

// GetAllContacts implements store.ContactStore.
func (s *Store) GetAllContacts(ctx context.Context) (map[types.JID]types.ContactInfo, error) {
	out := make(map[types.JID]types.ContactInfo)
	prefix := contactsPrefix(s.id)
	err := s.c.rw(ctx).Scan(prefix, false, func(k, v []byte) (bool, error) {
		jid, err := types.ParseJID(string(k[len(prefix):]))
		if err != nil {
			return false, fmt.Errorf("%w: contact JID: %v", ErrCorrupt, err)
		}
		var rec contactRecord
		if err := decodeRecord(v, &rec); err != nil {
			return false, err
		}
		out[jid] = rec.info(true)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return out, nil
}

// ---- ChatSettingsStore

type chatSettingsRecord struct {
	MutedUntil int64 `json:"muted_until,omitempty"` // unix seconds; -1 forever
	Pinned     bool  `json:"pinned,omitempty"`
	Archived   bool  `json:"archived,omitempty"`
}

func (s *Store) updateChat(ctx context.Context, chat types.JID, change func(*chatSettingsRecord)) error {
	s.chatMu.Lock()
	defer s.chatMu.Unlock()
	var rec chatSettingsRecord
	if _, err := s.c.getRecord(ctx, chatSettingsKey(s.id, chat.String()), &rec); err != nil {
		return fmt.Errorf("put chat settings: %w", err)
	}
	change(&rec)
	return wrapErr("put chat settings", s.c.putRecord(ctx, chatSettingsKey(s.id, chat.String()), &rec))
}

// PutMutedUntil implements store.ChatSettingsStore; store.MutedForever
// mutes for good and the zero time unmutes.
func (s *Store) PutMutedUntil(ctx context.Context, chat types.JID, mutedUntil time.Time) error {
	return s.updateChat(ctx, chat, func(r *chatSettingsRecord) {
		switch {
		case mutedUntil.Equal(store.MutedForever):
			r.MutedUntil = -1
		case mutedUntil.IsZero():
			r.MutedUntil = 0
		default:
			r.MutedUntil = mutedUntil.Unix()
		}
	})
}

// PutPinned implements store.ChatSettingsStore.
func (s *Store) PutPinned(ctx context.Context, chat types.JID, pinned bool) error {
	return s.updateChat(ctx, chat, func(r *chatSettingsRecord) { r.Pinned = pinned })
}

// PutArchived implements store.ChatSettingsStore.
func (s *Store) PutArchived(ctx context.Context, chat types.JID, archived bool) error {
	return s.updateChat(ctx, chat, func(r *chatSettingsRecord) { r.Archived = archived })
}

// GetChatSettings implements store.ChatSettingsStore; Found is false for a
// chat never stored.
func (s *Store) GetChatSettings(ctx context.Context, chat types.JID) (types.LocalChatSettings, error) {
	var rec chatSettingsRecord
	found, err := s.c.getRecord(ctx, chatSettingsKey(s.id, chat.String()), &rec)
	if err != nil || !found {
		return types.LocalChatSettings{}, wrapErr("get chat settings", err)
	}
	settings := types.LocalChatSettings{Found: true, Pinned: rec.Pinned, Archived: rec.Archived}
	switch {
	case rec.MutedUntil < 0:
		settings.MutedUntil = store.MutedForever
	case rec.MutedUntil > 0:
		settings.MutedUntil = time.Unix(rec.MutedUntil, 0)
	}
	return settings, nil
}
