package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "msg@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")
	m := Message{
		ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "in", Chat: "123@g.us",
		From: "49151@s.whatsapp.net", FromPhone: "+49151", FromLID: "9@lid", PushName: "Bob", IsGroup: true,
		Type: "image", Caption: "look", Media: &MediaInfo{MimeType: "image/jpeg", Size: 1234, FileName: "a.jpg", URL: "/files/f_1"},
		QuotedID: "msg_Q", WAID: "3EB0ABC", Status: "received", Error: &MessageError{Code: "x", Message: "y"},
		CreatedAt: testTime(1), Timestamp: testTime(0), SentAt: testTime(2), DeliveredAt: testTime(3), ReadAt: testTime(4), FailedAt: testTime(5),
	}
	if err := db.PutMessage(m); err != nil {
		t.Fatal(err)
	}
	if got, err := db.GetMessage(ws.ID, m.ID); err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("GetMessage = %+v, %v; want %+v", got, err, m)
	}
	if got, err := db.GetMessageByWAID(d.ID, "3EB0ABC"); err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("GetMessageByWAID = %+v, %v", got, err)
	}
	for name, err := range map[string]error{
		"other workspace": second(db.GetMessage(other.ID, m.ID)),
		"unknown id":      second(db.GetMessage(ws.ID, NewMessageID())),
		"empty id":        second(db.GetMessage(ws.ID, "")),
		"other device":    second(db.GetMessageByWAID(d.ID+1, "3EB0ABC")),
		"empty WAID":      second(db.GetMessageByWAID(d.ID, "")),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func TestPutMessageRejects(t *testing.T) {
	db, _ := openTestDB(t)
	for name, m := range map[string]Message{
		"no id":        {WorkspaceID: 1, DeviceID: 1},
		"foreign id":   {ID: "m1", WorkspaceID: 1, DeviceID: 1},
		"event id":     {ID: NewEventID(), WorkspaceID: 1, DeviceID: 1},
		"no workspace": {ID: NewMessageID(), DeviceID: 1},
		"no device":    {ID: NewMessageID(), WorkspaceID: 1},
	} {
		if err := db.PutMessage(m); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestMessageIndexesFollowUpdates(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "idx@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")
	put := func(m Message) {
		t.Helper()
		if err := db.PutMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	queueIDs := func() []string {
		t.Helper()
		q, err := db.QueuedMessages(d.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range q {
			ids = append(ids, m.ID)
		}
		return ids
	}
	waidOwner := func(waid string) string {
		t.Helper()
		m, err := db.GetMessageByWAID(d.ID, waid)
		if errors.Is(err, ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}

	a := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "out", Chat: "c", Status: "queued"}
	b := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "out", Chat: "c", Status: "queued"}
	put(a)
	put(b)
	if got := queueIDs(); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Fatalf("queue = %v, want [a b]", got)
	}

	// queued → sent with its WhatsApp id: out of the queue, found by WAID.
	a.Status, a.WAID, a.SentAt = "sent", "WA1", testTime(1)
	put(a)
	if got := queueIDs(); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("queue after a was sent = %v, want [b]", got)
	}
	if ok, err := has(db.pdb, queueKey(d.ID, a.ID)); err != nil || ok {
		t.Errorf("queue entry of a sent message still stored: %v, %v", ok, err)
	}
	if got := waidOwner("WA1"); got != a.ID {
		t.Errorf("WA1 → %q, want a", got)
	}
	// sent → delivered keeps the WAID index.
	a.Status = "delivered"
	put(a)
	if got := waidOwner("WA1"); got != a.ID {
		t.Errorf("WA1 after delivery → %q, want a", got)
	}
	// A changed WAID moves the index.
	a.WAID = "WA2"
	put(a)
	if got, got2 := waidOwner("WA1"), waidOwner("WA2"); got != "" || got2 != a.ID {
		t.Errorf("after WAID change: WA1 → %q, WA2 → %q; want none and a", got, got2)
	}
	// b takes WA2 over; a letting go of WA2 must not remove b's entry.
	b.Status, b.WAID = "sent", "WA2"
	put(b)
	a.WAID = "WA3"
	put(a)
	if got := waidOwner("WA2"); got != b.ID {
		t.Errorf("WA2 → %q, want b", got)
	}
	if got := queueIDs(); len(got) != 0 {
		t.Errorf("queue = %v, want empty", got)
	}
	// Back to queued (a retry) queues it again.
	b.Status = "queued"
	put(b)
	if got := queueIDs(); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("queue after retry = %v, want [b]", got)
	}
}

func TestQueuedMessagesOrderAndLimit(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "q@example.com")
	d, _ := testDevice(t, db, ws.ID, "one")
	d2, _ := testDevice(t, db, ws.ID, "two")
	var want []string
	for i := range 5 {
		for _, dev := range []int64{d.ID, d2.ID} {
			m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: dev, Direction: "out", Status: "queued"}
			if err := db.PutMessage(m); err != nil {
				t.Fatal(err)
			}
			if dev == d.ID && i < 3 {
				want = append(want, m.ID)
			}
		}
	}
	q, err := db.QueuedMessages(d.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range q {
		if m.DeviceID != d.ID {
			t.Errorf("queue of device %d holds a message of device %d", d.ID, m.DeviceID)
		}
		got = append(got, m.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("QueuedMessages(limit 3) = %v, want the 3 oldest %v", got, want)
	}
}

func TestListMessagesPaging(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "list@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	d1, _ := testDevice(t, db, ws.ID, "one")
	d2, _ := testDevice(t, db, ws.ID, "two")
	foreign, _ := testDevice(t, db, other.ID, "one")

	var all []Message // in creation order
	for i := range 60 {
		m := Message{
			ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: []int64{d1.ID, d2.ID}[i%2],
			Direction: []string{"in", "out", "out"}[i%3], Chat: []string{"a@s.whatsapp.net", "b@s.whatsapp.net"}[i/2%2],
			Status: []string{"received", "queued", "sent", "read"}[i%4], CreatedAt: testTime(i),
		}
		if err := db.PutMessage(m); err != nil {
			t.Fatal(err)
		}
		all = append(all, m)
		f := m
		f.ID, f.WorkspaceID, f.DeviceID = NewMessageID(), other.ID, foreign.ID
		if err := db.PutMessage(f); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name      string
		f         MessageFilter
		wantPages int
	}{
		{"all", MessageFilter{Limit: 25}, 3},
		{"device", MessageFilter{DeviceID: d1.ID, Limit: 9}, 4},
		{"device and status", MessageFilter{DeviceID: d2.ID, Status: "queued", Limit: 4}, 4},
		{"chat and direction", MessageFilter{Chat: "a@s.whatsapp.net", Direction: "in", Limit: 3}, 4},
		{"exact pages", MessageFilter{Status: "read", Limit: 5}, 3},
		{"no match", MessageFilter{Chat: "nobody"}, 1},
		{"device of another workspace", MessageFilter{DeviceID: foreign.ID}, 1},
		{"default limit", MessageFilter{}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []Message
			for _, m := range slices.Backward(all) {
				if tc.f.DeviceID != foreign.ID && tc.f.match(m) {
					want = append(want, m)
				}
			}
			var got []Message
			f, pages := tc.f, 0
			for {
				page, next, err := db.ListMessages(ws.ID, f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if len(page) > f.limit() {
					t.Fatalf("page %d has %d messages, limit %d", pages, len(page), f.limit())
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				if len(page) != f.limit() {
					t.Errorf("page %d has %d messages and a next cursor; want a full page", pages, len(page))
				}
				if pages > 100 {
					t.Fatal("paging does not end")
				}
				f.Cursor = next
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("listed %d messages, want %d:\n got %v\nwant %v", len(got), len(want), ids(got), ids(want))
			}
			if pages != tc.wantPages {
				t.Errorf("%d pages, want %d", pages, tc.wantPages)
			}
		})
	}
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestListMessagesBadCursor(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "cur@example.com")
	enc := base64.RawURLEncoding.EncodeToString
	for _, c := range []string{
		"!!!",
		"bXNnXw==", // padded
		enc([]byte("hello")),
		enc([]byte("msg_TOOSHORT")),
		enc([]byte(NewEventID())),
		enc([]byte("msg_8ZZZZZZZZZZZZZZZZZZZZZZZZZ")), // beyond 128 bits
		enc([]byte("msg_01ARZ3NDEKTSV4RRFFQ69G5FAU")), // U is not Crockford
	} {
		_, _, err := db.ListMessages(ws.ID, MessageFilter{Cursor: c})
		if !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", c, err)
		}
	}
	if _, _, err := db.ListMessages(ws.ID, MessageFilter{Cursor: encodeCursor(NewMessageID())}); err != nil {
		t.Errorf("well-formed cursor: %v", err)
	}
}

func TestMessageFilterLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{0, 50}, {-3, 50}, {1, 1}, {50, 50}, {500, 500}, {501, 500}, {1 << 30, 500},
	} {
		if got := (MessageFilter{Limit: tc.in}).limit(); got != tc.want {
			t.Errorf("limit(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestPutMessageConcurrent(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "conc@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")
	const writers, each = 4, 10
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for i := 0; i < each && err == nil; i++ {
				m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Status: "queued"}
				if err = db.PutMessage(m); err == nil {
					m.Status, m.WAID = "sent", fmt.Sprint("W", w, "-", i)
					err = db.PutMessage(m)
				}
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if q, err := db.QueuedMessages(d.ID, 0); err != nil || len(q) != 0 {
		t.Errorf("queue = %d messages, %v; want none", len(q), err)
	}
	msgs, _, err := db.ListMessages(ws.ID, MessageFilter{DeviceID: d.ID, Status: "sent", Limit: 500})
	if err != nil || len(msgs) != writers*each {
		t.Errorf("sent messages = %d, %v; want %d", len(msgs), err, writers*each)
	}
}
