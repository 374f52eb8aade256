package storage

import (
	"errors"
	"testing"
	"time"
)

func TestChats(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "chats@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	msgs := []Message{
		{Chat: "111@s.whatsapp.net", Direction: "in", PushName: "Ann", Timestamp: t0},
		{Chat: "222@s.whatsapp.net", Direction: "in", PushName: "Bo", Timestamp: t0.Add(time.Minute)},
		{Chat: "111@s.whatsapp.net", Direction: "in", PushName: "Ann", Timestamp: t0.Add(2 * time.Minute)},
		{Chat: "1203@g.us", Direction: "in", IsGroup: true, PushName: "Someone", Timestamp: t0.Add(3 * time.Minute)},
		{Chat: "222@s.whatsapp.net", Direction: "out", Timestamp: t0.Add(4 * time.Minute)},
	}
	for i := range msgs {
		msgs[i].ID, msgs[i].DeviceID = NewMessageID(), d.ID
		if err := db.RecordChatMessage(msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	page, next, err := db.ListChats(d.ID, 2, "")
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page %+v, %q, %v", page, next, err)
	}
	rest, next2, err := db.ListChats(d.ID, 2, next)
	if err != nil || len(rest) != 1 || next2 != "" {
		t.Fatalf("second page %+v, %q, %v", rest, next2, err)
	}
	all := append(page, rest...)
	want := []struct {
		jid    string
		name   string
		unread int
		last   string
	}{
		{"222@s.whatsapp.net", "Bo", 0, msgs[4].ID},
		{"1203@g.us", "", 1, msgs[3].ID},
		{"111@s.whatsapp.net", "Ann", 2, msgs[2].ID},
	}
	for i, w := range want {
		c := all[i]
		if c.JID != w.jid || c.Name != w.name || c.UnreadCount != w.unread || c.LastMessageID != w.last {
			t.Errorf("chat %d = %+v, want %+v", i, c, w)
		}
	}
	if err := db.MarkChatRead(d.ID, "111@s.whatsapp.net"); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkChatRead(d.ID, "never@s.whatsapp.net"); err != nil {
		t.Fatal(err)
	}
	page, _, _ = db.ListChats(d.ID, 10, "")
	if page[2].UnreadCount != 0 || len(page) != 3 {
		t.Errorf("after MarkChatRead: %+v", page)
	}
	if c, err := db.GetChat(d.ID, "1203@g.us"); err != nil || c.UnreadCount != 1 {
		t.Errorf("GetChat = %+v, %v", c, err)
	}
	if _, err := db.GetChat(d.ID, "none@s.whatsapp.net"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetChat of no chat: %v", err)
	}
	if _, _, err := db.ListChats(d.ID, 10, "!!"); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
}
