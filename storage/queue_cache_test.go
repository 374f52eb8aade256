package storage

import (
	"reflect"
	"testing"
)

// TestQueueCacheFollowsWrites: the queue read through the cache is always
// what was stored last, whatever the caller does to what it was given,
// and after a reopen (an empty cache) the same.
func TestQueueCacheFollowsWrites(t *testing.T) {
	db, dir := openTestDB(t)
	ws, _, _ := testAccount(t, db, "queue@example.com")
	dev, _ := testDevice(t, db, ws.ID, "queue")
	m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: dev.ID, Direction: "out", Chat: "1@s.whatsapp.net",
		To: "1@s.whatsapp.net", Type: "image", Status: statusQueued, CreatedAt: testTime(1),
		Media: &MediaInfo{MimeType: "image/png", FileName: "a.png"}, Mentions: []string{"2@s.whatsapp.net"}}
	if err := db.PutMessage(m); err != nil {
		t.Fatal(err)
	}
	queue := func(db *DB) []Message {
		t.Helper()
		q, err := db.QueuedMessages(dev.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	q := queue(db)
	if len(q) != 1 || !reflect.DeepEqual(q[0], m) {
		t.Fatalf("queue = %+v; want %+v", q, m)
	}
	// What a caller changes in its copy changes nothing stored.
	q[0].Media.FileName, q[0].Mentions[0] = "changed.png", "changed"
	if again := queue(db); again[0].Media.FileName != "a.png" || again[0].Mentions[0] != "2@s.whatsapp.net" {
		t.Errorf("the cache shares data with its callers: %+v", again[0])
	}

	m.WAID = "3EB0AAAA"
	if err := db.PutMessageWithEvents(m, nil); err != nil {
		t.Fatal(err)
	}
	if q := queue(db); len(q) != 1 || q[0].WAID != "3EB0AAAA" {
		t.Errorf("queue after the WAID was stored = %+v", q)
	}
	if got, err := db.GetMessageByWAID(dev.ID, "3EB0AAAA"); err != nil || got.ID != m.ID {
		t.Errorf("WAID index = %+v, %v", got, err)
	}

	// Sent: out of the queue, its stale index entries gone.
	m.Status, m.WAID = "sent", "3EB0BBBB"
	if err := db.PutMessageWithPacerState(m, nil, nil); err != nil {
		t.Fatal(err)
	}
	if q := queue(db); len(q) != 0 {
		t.Errorf("queue after the send = %+v", q)
	}
	if _, err := db.GetMessageByWAID(dev.ID, "3EB0AAAA"); err == nil {
		t.Error("the old WAID still points to the message")
	}

	second := m
	second.ID, second.Status, second.WAID = NewMessageID(), statusQueued, ""
	if err := db.PutMessage(second); err != nil {
		t.Fatal(err)
	}
	queue(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	reopened := openTestDir(t, dir)
	if q := queue(reopened); len(q) != 1 || q[0].ID != second.ID || q[0].Media.FileName != "a.png" {
		t.Errorf("queue after reopening = %+v", q)
	}
	if err := reopened.DeleteDevice(dev.ID); err != nil {
		t.Fatal(err)
	}
	if q := queue(reopened); len(q) != 0 {
		t.Errorf("queue of a deleted device = %+v", q)
	}
	if _, ok := reopened.queue.get(second.ID); ok {
		t.Error("a deleted device's message is still cached")
	}
}

// TestQueueCacheKeepsNewerWrites: a read that began before a write cannot
// put its older copy in the cache over the write.
func TestQueueCacheKeepsNewerWrites(t *testing.T) {
	c := newQueueCache()
	old := Message{ID: "msg_1", DeviceID: 7, Status: statusQueued, Text: "old"}
	epoch := c.epoch(7) // a QueuedMessages begins reading
	newer := old
	newer.Text = "newer"
	c.stored(newer, &old) // meanwhile the actor stores a newer version
	c.fill(old, epoch)    // the read ends with what its snapshot held
	if got, _ := c.get("msg_1"); got.Text != "newer" {
		t.Errorf("cached %q; want the newer write", got.Text)
	}
	// A write of another device does not stop this one's fill.
	other := Message{ID: "msg_2", DeviceID: 8, Status: statusQueued}
	epoch = c.epoch(8)
	c.stored(Message{ID: "msg_3", DeviceID: 7, Status: statusQueued}, nil)
	c.fill(other, epoch)
	if _, ok := c.get("msg_2"); !ok {
		t.Error("a fill was refused for another device's write")
	}
	// Not queued any more: gone.
	newer.Status = "sent"
	c.stored(newer, nil)
	if _, ok := c.get("msg_1"); ok {
		t.Error("a sent message is still cached")
	}
}

// TestMessageCloneSharesNothing fills every pointer, slice and map of a
// Message, nested ones included, and checks that clone copies each: a
// field added later without a copy in clone fails here.
func TestMessageCloneSharesNothing(t *testing.T) {
	var m Message
	fill(reflect.ValueOf(&m).Elem())
	c := m.clone()
	if !reflect.DeepEqual(c, m) {
		t.Fatalf("clone differs:\n%+v\n%+v", c, m)
	}
	if path := shared(reflect.ValueOf(m), reflect.ValueOf(c), "Message"); path != "" {
		t.Errorf("clone shares %s with the original", path)
	}
}

// fill gives every settable pointer, slice and map in v a non-empty value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem())
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		}
		for i := range v.Len() {
			fill(v.Index(i))
		}
	case reflect.Map:
		if v.Len() == 0 {
			v.Set(reflect.MakeMapWithSize(v.Type(), 1))
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	}
}

// shared names the first pointer, slice or map that a and b share.
func shared(a, b reflect.Value, path string) string {
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() {
			return ""
		}
		if a.Pointer() == b.Pointer() {
			return path
		}
		return shared(a.Elem(), b.Elem(), path)
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shared(a.Index(i), b.Index(i), path+"[]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				if p := shared(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); p != "" {
					return p
				}
			}
		}
	}
	return ""
}
