package storage

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Chat is a conversation of a device as the gateway saw it: the last
// message stored for it and how many received messages are unread.
type Chat struct {
	DeviceID      int64     `json:"deviceId"`
	JID           string    `json:"jid"`
	Name          string    `json:"name,omitempty"` // push name of the contact, when known
	IsGroup       bool      `json:"isGroup"`
	LastMessageID string    `json:"lastMessageId"`
	LastMessageAt time.Time `json:"lastMessageAt"`
	UnreadCount   int       `json:"unreadCount"`
}

// RecordChatMessage moves the message's chat on: its last message and, for
// a received one, its unread count. The device's actor is the only caller
// (one writer per device). The chat list is derived from messages, so the
// write is not synced: a crash loses at most the latest moves.
func (db *DB) RecordChatMessage(m Message) error {
	if m.DeviceID <= 0 || m.Chat == "" {
		return fmt.Errorf("record chat: %w: device %d, chat %q", ErrInvalid, m.DeviceID, m.Chat)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	key := chatKey(m.DeviceID, m.Chat)
	c, err := getRecord[Chat](db.pdb, key)
	switch {
	case errors.Is(err, ErrNotFound):
		c = Chat{DeviceID: m.DeviceID, JID: m.Chat, IsGroup: m.IsGroup}
	case err != nil:
		return fmt.Errorf("record chat %s: %w", m.Chat, err)
	}
	at := m.Timestamp
	if at.IsZero() {
		at = m.CreatedAt
	}
	if !at.Before(c.LastMessageAt) {
		c.LastMessageID, c.LastMessageAt = m.ID, at.UTC()
	}
	if m.Direction == "in" && !m.FromMe {
		c.UnreadCount++
		if !m.IsGroup && m.PushName != "" {
			c.Name = m.PushName
		}
	}
	if m.Direction == "out" {
		c.UnreadCount = 0 // answering a chat means having read it
	}
	if err := db.setRecordNoSync(key, c); err != nil {
		return fmt.Errorf("record chat %s: %w", m.Chat, err)
	}
	return nil
}

// GetChat returns one chat of a device; ErrNotFound when it has none.
func (db *DB) GetChat(device int64, jid string) (Chat, error) {
	if err := db.acquire(); err != nil {
		return Chat{}, err
	}
	defer db.release()
	c, err := getRecord[Chat](db.pdb, chatKey(device, jid))
	if err != nil {
		return Chat{}, fmt.Errorf("chat %s: %w", jid, err)
	}
	return c, nil
}

// MarkChatRead sets the chat's unread count to zero; a chat never stored is
// not an error.
func (db *DB) MarkChatRead(device int64, jid string) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	key := chatKey(device, jid)
	c, err := getRecord[Chat](db.pdb, key)
	if errors.Is(err, ErrNotFound) || (err == nil && c.UnreadCount == 0) {
		return nil
	}
	if err == nil {
		c.UnreadCount = 0
		err = db.setRecordNoSync(key, c)
	}
	if err != nil {
		return fmt.Errorf("mark chat %s read: %w", jid, err)
	}
	return nil
}

func (db *DB) setRecordNoSync(key []byte, rec any) error {
	v, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	return db.pdb.Set(key, v, pebble.NoSync)
}

// ListChats returns a device's chats, most recent message first, and the
// cursor of the next page ("" at the end). Limit 0 means 50, more than 500
// means 500. ErrBadCursor (wrapped) for a bad cursor.
func (db *DB) ListChats(device int64, limit int, cursor string) ([]Chat, string, error) {
	f := MessageFilter{Limit: limit}
	limit = f.limit()
	var after *Chat
	if cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cursor)
		at, jid, ok := strings.Cut(string(raw), "|")
		t, terr := time.Parse(time.RFC3339Nano, at)
		if err != nil || !ok || terr != nil || jid == "" {
			return nil, "", fmt.Errorf("list chats: %w: %q", ErrBadCursor, cursor)
		}
		after = &Chat{JID: jid, LastMessageAt: t}
	}
	if err := db.acquire(); err != nil {
		return nil, "", err
	}
	defer db.release()
	// A device has few chats next to its messages: read them all and order
	// them by recency here rather than keep a second index.
	var all []Chat
	err := scanPrefix(db.pdb, deviceChatsPrefix(device), false, func(_, v []byte) (bool, error) {
		var c Chat
		if err := decodeRecord(v, &c); err != nil {
			return false, err
		}
		all = append(all, c)
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list chats: %w", err)
	}
	slices.SortFunc(all, compareChats)
	if after != nil {
		i, _ := slices.BinarySearchFunc(all, *after, compareChats)
		for i < len(all) && compareChats(all[i], *after) <= 0 {
			i++
		}
		all = all[i:]
	}
	next := ""
	if len(all) > limit {
		all = all[:limit]
		last := all[limit-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(last.LastMessageAt.Format(time.RFC3339Nano) + "|" + last.JID))
	}
	return all, next, nil
}

// compareChats orders chats newest first, then by JID.
func compareChats(a, b Chat) int {
	if c := b.LastMessageAt.Compare(a.LastMessageAt); c != 0 {
		return c
	}
	return cmp.Compare(a.JID, b.JID)
}
