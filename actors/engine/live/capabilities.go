package live

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// The optional capabilities the live engine has.
var (
	_ engine.Contacts = (*session)(nil)
	_ engine.Groups   = (*session)(nil)
	_ engine.Presence = (*session)(nil)
)

// Contacts implements engine.Contacts from whatsmeow's contact store (the
// address book synced from the phone, and the push names seen); no
// network I/O. An unpaired device has none.
func (s *session) Contacts(ctx context.Context) ([]engine.Contact, error) {
	d, err := s.e.cfg.Store.Device(ctx, s.id)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	if d.ID == nil || d.Contacts == nil {
		return nil, nil
	}
	all, err := d.Contacts.GetAllContacts(ctx)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	out := make([]engine.Contact, 0, len(all))
	for jid, info := range all {
		c := engine.Contact{JID: engineJID(jid), PushName: info.PushName, BusinessName: info.BusinessName, Name: info.FullName}
		if c.Name == "" {
			c.Name = info.FirstName
		}
		alt, err := d.GetAltJID(ctx, jid)
		if err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		for _, j := range []types.JID{jid, alt} {
			switch j.Server {
			case types.DefaultUserServer:
				c.Phone = j.User
			case types.HiddenUserServer:
				c.LID = j.User
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b engine.Contact) int { return strings.Compare(a.JID.String(), b.JID.String()) })
	return out, nil
}

// Avatar implements engine.Contacts.
func (s *session) Avatar(ctx context.Context, jid engine.JID) (engine.Avatar, error) {
	to, err := waJID(jid)
	if err != nil {
		return engine.Avatar{}, fmt.Errorf("avatar: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return engine.Avatar{}, fmt.Errorf("avatar: %w", err)
	}
	info, err := a.cli.GetProfilePictureInfo(ctx, to, nil)
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureNotSet), errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized):
		return engine.Avatar{}, fmt.Errorf("avatar of %s: %w", jid, engine.ErrNoAvatar)
	case err != nil:
		return engine.Avatar{}, fmt.Errorf("avatar of %s: %w", jid, transportError(err))
	case info == nil || info.URL == "":
		return engine.Avatar{}, fmt.Errorf("avatar of %s: %w", jid, engine.ErrNoAvatar)
	}
	return engine.Avatar{URL: info.URL, ID: info.ID}, nil
}

// SendChatPresence implements engine.Presence.
func (s *session) SendChatPresence(ctx context.Context, chat engine.JID, state engine.ChatPresence) error {
	to, err := waJID(chat)
	if err != nil {
		return fmt.Errorf("chat presence: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return fmt.Errorf("chat presence: %w", err)
	}
	presence, media := types.ChatPresenceComposing, types.ChatPresenceMediaText
	switch state {
	case engine.ChatTyping:
	case engine.ChatRecording:
		media = types.ChatPresenceMediaAudio
	case engine.ChatPaused:
		presence = types.ChatPresencePaused
	default:
		return fmt.Errorf("chat presence %q: %w", state, engine.ErrUnsupported)
	}
	if err := a.cli.SendChatPresence(ctx, to, presence, media); err != nil {
		return fmt.Errorf("chat presence: %w", transportError(err))
	}
	// Someone the device is writing to: follow their presence
	// (engine.PresenceUpdate), once per connection.
	if presence == types.ChatPresenceComposing && to.Server != types.GroupServer {
		if _, done := a.subscribed.LoadOrStore(to, true); !done {
			if err := a.cli.SubscribePresence(ctx, to); err != nil {
				a.subscribed.Delete(to)
				s.log.Debug("subscribe to presence", "jid", to.String(), "err", err)
			}
		}
	}
	return nil
}

// MarkRead implements engine.Presence.
func (s *session) MarkRead(ctx context.Context, chat, sender engine.JID, waids []string, at time.Time) error {
	if len(waids) == 0 {
		return nil
	}
	c, err := waJID(chat)
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	snd := types.EmptyJID
	if !sender.IsZero() {
		if snd, err = waJID(sender); err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
	}
	a, err := s.connected()
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	ids := make([]types.MessageID, len(waids))
	for i, id := range waids {
		ids[i] = types.MessageID(id)
	}
	if at.IsZero() {
		at = time.Now()
	}
	if err := a.cli.MarkRead(ctx, ids, at, c, snd); err != nil {
		return fmt.Errorf("mark read: %w", transportError(err))
	}
	return nil
}
