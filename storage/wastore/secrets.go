package wastore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// ---- MsgSecretStore: one secret per (chat, sender, message id), keyed by
// the non-device JIDs.

// PutMessageSecret implements store.MsgSecretStore; a secret already stored
// is kept.
func (s *Store) PutMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID, secret []byte) error {
	k := msgSecretKey(s.id, chat.ToNonAD().String(), sender.ToNonAD().String(), id)
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		v, err := s.c.get(ctx, k)
		if err != nil || v != nil {
			return err
		}
		return s.c.rw(ctx).Set(k, secret)
	})
	return wrapErr("put message secret", err)
}

// PutMessageSecrets implements store.MsgSecretStore, atomically.
func (s *Store) PutMessageSecrets(ctx context.Context, inserts []store.MessageSecretInsert) error {
	if len(inserts) == 0 {
		return nil
	}
	return s.c.inTxn(ctx, func(ctx context.Context) error {
		for _, in := range inserts {
			if err := s.PutMessageSecret(ctx, in.Chat, in.Sender, in.ID, in.Secret); err != nil {
				return err
			}
		}
		return nil
	})
}

// alternative returns the LID of a phone-number JID or the phone-number
// JID of a LID (non-device), or the empty JID when the map has none.
func (s *Store) alternative(ctx context.Context, jid types.JID) (types.JID, error) {
	var alt types.JID
	var err error
	switch jid.Server {
	case types.HiddenUserServer:
		alt, err = s.c.lids.GetPNForLID(ctx, jid)
	case types.DefaultUserServer:
		alt, err = s.c.lids.GetLIDForPN(ctx, jid)
	}
	return alt.ToNonAD(), err
}

// withAlternative is jid (non-device) and, when known, its alternative.
func (s *Store) withAlternative(ctx context.Context, jid types.JID) ([]types.JID, error) {
	jid = jid.ToNonAD()
	alt, err := s.alternative(ctx, jid)
	if err != nil || alt.IsEmpty() {
		return []types.JID{jid}, err
	}
	return []types.JID{jid, alt}, nil
}

// GetMessageSecret implements store.MsgSecretStore. Chat and sender match
// by phone number or LID, as the SQL store does through its LID map; the
// sender the secret was stored under is returned with it.
func (s *Store) GetMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID) ([]byte, types.JID, error) {
	chats, err := s.withAlternative(ctx, chat)
	if err != nil {
		return nil, types.EmptyJID, fmt.Errorf("get message secret: %w", err)
	}
	senders, err := s.withAlternative(ctx, sender)
	if err != nil {
		return nil, types.EmptyJID, fmt.Errorf("get message secret: %w", err)
	}
	for _, c := range chats {
		for _, snd := range senders {
			v, err := s.c.get(ctx, msgSecretKey(s.id, c.String(), snd.String(), id))
			if err != nil {
				return nil, types.EmptyJID, fmt.Errorf("get message secret: %w", err)
			}
			if v != nil {
				return v, snd, nil
			}
		}
	}
	return nil, types.EmptyJID, nil
}

// ---- PrivacyTokenStore: value = unix time (8 bytes) + token

// PutPrivacyTokens implements store.PrivacyTokenStore, atomically; a token
// replaces the user's previous one.
func (s *Store) PutPrivacyTokens(ctx context.Context, tokens ...store.PrivacyToken) error {
	if len(tokens) == 0 {
		return nil
	}
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		for _, t := range tokens {
			v := append(binary.BigEndian.AppendUint64(nil, uint64(t.Timestamp.Unix())), t.Token...)
			if err := s.c.rw(ctx).Set(privacyTokenKey(s.id, t.User.ToNonAD().String()), v); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("put privacy tokens", err)
}

// GetPrivacyToken implements store.PrivacyTokenStore: the latest token
// stored under the user's phone number or LID; nil when there is none.
func (s *Store) GetPrivacyToken(ctx context.Context, user types.JID) (*store.PrivacyToken, error) {
	users, err := s.withAlternative(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("get privacy token: %w", err)
	}
	var best *store.PrivacyToken
	for _, u := range users {
		v, err := s.c.get(ctx, privacyTokenKey(s.id, u.String()))
		if err != nil {
			return nil, fmt.Errorf("get privacy token: %w", err)
		}
		if v == nil {
			continue
		}
		if len(v) < 8 {
			return nil, fmt.Errorf("%w: privacy token of %d bytes", ErrCorrupt, len(v))
		}
		ts := time.Unix(int64(binary.BigEndian.Uint64(v)), 0)
		if best == nil || ts.After(best.Timestamp) {
			best = &store.PrivacyToken{User: user.ToNonAD(), Token: v[8:], Timestamp: ts}
		}
	}
	return best, nil
}
