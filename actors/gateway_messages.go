package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The facade's queries: contacts, groups, chats, presence and read
// receipts. Each needs the device connected (ErrNotConnected) and an
// engine with the capability (engine.ErrUnsupported otherwise).

// queryLimit bounds one query's network I/O.
const queryLimit = 30 * time.Second

// maxReadReceipts bounds the messages POST /api/chats/read marks at once.
const maxReadReceipts = 100

// session returns the device's connected session.
func (g *Gateway) session(ctx context.Context, ws, id int64) (engine.Session, error) {
	v, err := g.ask(ctx, ws, id, cmdSession{})
	if err != nil {
		return nil, err
	}
	return v.(engine.Session), nil
}

// capability returns the device's connected session as T.
func capability[T any](ctx context.Context, g *Gateway, ws, id int64) (T, error) {
	var zero T
	s, err := g.session(ctx, ws, id)
	if err != nil {
		return zero, err
	}
	c, ok := s.(T)
	if !ok {
		return zero, fmt.Errorf("%w", engine.ErrUnsupported)
	}
	return c, nil
}

func queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, queryLimit)
}

// Contacts lists the device's contacts.
func (g *Gateway) Contacts(ctx context.Context, ws, id int64) ([]engine.Contact, error) {
	c, err := capability[engine.Contacts](ctx, g, ws, id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.Contacts(ctx)
}

// CheckPhones tells which phone numbers are on WhatsApp.
func (g *Gateway) CheckPhones(ctx context.Context, ws, id int64, phones []string) ([]engine.PhoneCheck, error) {
	s, err := g.session(ctx, ws, id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return s.CheckPhones(ctx, phones)
}

// Avatar returns the profile picture of a user or group
// (engine.ErrNoAvatar when there is none).
func (g *Gateway) Avatar(ctx context.Context, ws, id int64, jid engine.JID) (engine.Avatar, error) {
	c, err := capability[engine.Contacts](ctx, g, ws, id)
	if err != nil {
		return engine.Avatar{}, err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.Avatar(ctx, jid)
}

// Groups lists the groups the device is in.
func (g *Gateway) Groups(ctx context.Context, ws, id int64) ([]engine.Group, error) {
	c, err := capability[engine.Groups](ctx, g, ws, id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.Groups(ctx)
}

// CreateGroup creates a group owned by the device.
func (g *Gateway) CreateGroup(ctx context.Context, ws, id int64, subject string, participants []engine.JID) (engine.Group, error) {
	c, err := capability[engine.Groups](ctx, g, ws, id)
	if err != nil {
		return engine.Group{}, err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.CreateGroup(ctx, subject, participants)
}

// UpdateParticipants adds, removes, promotes or demotes group members.
func (g *Gateway) UpdateParticipants(ctx context.Context, ws, id int64, group engine.JID, action engine.ParticipantAction, participants []engine.JID) ([]engine.ParticipantResult, error) {
	c, err := capability[engine.Groups](ctx, g, ws, id)
	if err != nil {
		return nil, err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.UpdateParticipants(ctx, group, action, participants)
}

// InviteLink returns a group's invite link (reset revokes the old one).
func (g *Gateway) InviteLink(ctx context.Context, ws, id int64, group engine.JID, reset bool) (string, error) {
	c, err := capability[engine.Groups](ctx, g, ws, id)
	if err != nil {
		return "", err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.InviteLink(ctx, group, reset)
}

// LeaveGroup makes the device leave a group.
func (g *Gateway) LeaveGroup(ctx context.Context, ws, id int64, group engine.JID) error {
	c, err := capability[engine.Groups](ctx, g, ws, id)
	if err != nil {
		return err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.LeaveGroup(ctx, group)
}

// SendChatPresence shows typing, recording or nothing in a chat.
func (g *Gateway) SendChatPresence(ctx context.Context, ws, id int64, chat engine.JID, state engine.ChatPresence) error {
	c, err := capability[engine.Presence](ctx, g, ws, id)
	if err != nil {
		return err
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	return c.SendChatPresence(ctx, chat, state)
}

// Chats lists the device's chats, most recent first.
func (g *Gateway) Chats(ctx context.Context, ws, id int64, limit int, cursor string) ([]storage.Chat, string, error) {
	if _, err := g.Device(ctx, ws, id); err != nil {
		return nil, "", err
	}
	return g.db.ListChats(id, limit, cursor)
}

// MarkChatRead sends read receipts for the chat's unread received messages
// (at most the latest 100) and resets its unread count. It returns the
// ids of the messages marked.
func (g *Gateway) MarkChatRead(ctx context.Context, ws, id int64, chat engine.JID) ([]string, error) {
	p, err := capability[engine.Presence](ctx, g, ws, id)
	if err != nil {
		return nil, err
	}
	unread := 0
	c, err := g.db.GetChat(id, chat.String())
	switch {
	case err == nil:
		unread = min(c.UnreadCount, maxReadReceipts)
	case !errors.Is(err, storage.ErrNotFound):
		return nil, err
	}
	msgs, _, err := g.db.ListMessages(ws, storage.MessageFilter{DeviceID: id, Chat: chat.String(), Direction: "in", Limit: max(unread, 1)})
	if err != nil {
		return nil, err
	}
	msgs = msgs[:min(len(msgs), unread)]
	// One receipt per sender: in groups WhatsApp addresses them by author.
	bySender := map[string][]storage.Message{}
	var senders []string
	for _, m := range msgs {
		if m.WAID == "" || m.FromMe {
			continue
		}
		if _, ok := bySender[m.From]; !ok {
			senders = append(senders, m.From)
		}
		bySender[m.From] = append(bySender[m.From], m)
	}
	ctx, cancel := queryContext(ctx)
	defer cancel()
	var marked []string
	for _, from := range senders {
		var sender engine.JID
		if chat.IsGroup() {
			sender, _ = engine.ParseRecipient(from)
		}
		group := bySender[from]
		waids := make([]string, len(group))
		for i, m := range group {
			waids[i] = m.WAID
		}
		if err := p.MarkRead(ctx, chat, sender, waids, time.Now()); err != nil {
			return marked, err
		}
		for _, m := range group {
			marked = append(marked, m.ID)
		}
	}
	if _, err := g.ask(ctx, ws, id, cmdChatRead{chat: chat.String()}); err != nil && !errors.Is(err, ErrDeviceNotFound) {
		return marked, err
	}
	return marked, nil
}
