package storage

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func pendingEvent(ws, device int64, typ string) Event {
	return Event{ID: NewEventID(), Type: typ, CreatedAt: testTime(1), WorkspaceID: ws, DeviceID: device, Data: json.RawMessage(`{"x":1}`)}
}

// TestOutboxMovesToLog follows events from the writes that cause them to
// the log: stored with their change, listed in order, consumed by the
// commit that logs them.
func TestOutboxMovesToLog(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "outbox@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")

	m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "in", Chat: "c", Status: "received"}
	received := pendingEvent(ws.ID, d.ID, "message.received")
	if err := db.PutMessageWithEvents(m, []Event{received}); err != nil {
		t.Fatal(err)
	}
	d.Status = "CONNECTED"
	status := pendingEvent(ws.ID, d.ID, "device.status")
	if err := db.PutDeviceWithEvents(d, []Event{status}); err != nil {
		t.Fatal(err)
	}
	qr := pendingEvent(ws.ID, d.ID, "device.qr")
	if err := db.AddPendingEvents([]Event{qr}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddPendingEvents([]Event{pendingEvent(other.ID, 0, "plugin.disabled")}); err != nil {
		t.Fatal(err)
	}

	// The changes are stored with their events.
	if got, err := db.GetMessage(ws.ID, m.ID); err != nil || got.ID != m.ID {
		t.Fatalf("message: %+v, %v", got, err)
	}
	if got, err := db.GetDevice(d.ID); err != nil || got.Status != "CONNECTED" {
		t.Fatalf("device: %+v, %v", got, err)
	}
	all, err := db.PendingEvents(ws.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Event{received, status, qr}; !reflect.DeepEqual(all, want) {
		t.Fatalf("pending = %+v, want %+v", all, want)
	}
	page, err := db.PendingEvents(ws.ID, received.ID, 1)
	if err != nil || len(page) != 1 || page[0].ID != status.ID {
		t.Fatalf("page after the first = %+v, %v", page, err)
	}
	wss, err := db.EventWorkspaces()
	if err != nil || !reflect.DeepEqual(wss, []int64{ws.ID, other.ID}) {
		t.Fatalf("EventWorkspaces = %v, %v; want the two with pending events", wss, err)
	}

	// The log writer commits two of them, as one event (a plugin merged
	// them), and the third later.
	logged := received
	logged.Seq = 1
	if err := db.CommitEvents(ws.ID, []Event{logged}, []string{received.ID, status.ID}); err != nil {
		t.Fatal(err)
	}
	still, err := db.StillPending(ws.ID, []string{received.ID, status.ID, qr.ID})
	if err != nil || !reflect.DeepEqual(still, []bool{false, false, true}) {
		t.Fatalf("StillPending = %v, %v", still, err)
	}
	if evs, err := db.ReadEvents(ws.ID, 0, 10); err != nil || len(evs) != 1 || evs[0].ID != received.ID {
		t.Fatalf("log = %+v, %v", evs, err)
	}
	// Consuming an id twice is harmless.
	if err := db.CommitEvents(ws.ID, nil, []string{received.ID}); err != nil {
		t.Fatal(err)
	}
	if rest, err := db.PendingEvents(ws.ID, "", 0); err != nil || len(rest) != 1 || rest[0].ID != qr.ID {
		t.Fatalf("pending after commit = %+v, %v", rest, err)
	}
}

func TestOutboxRefusesBadEvents(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "bad@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")
	good := pendingEvent(ws.ID, d.ID, "device.status")
	for name, ev := range map[string]Event{
		"bad id":          {ID: "evt_1", Type: "x", WorkspaceID: ws.ID},
		"no type":         {ID: NewEventID(), WorkspaceID: ws.ID},
		"other workspace": {ID: NewEventID(), Type: "x", WorkspaceID: ws.ID + 1},
		"has a seq":       {ID: NewEventID(), Type: "x", WorkspaceID: ws.ID, Seq: 4},
	} {
		t.Run(name, func(t *testing.T) {
			m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "in", Chat: "c", Status: "received"}
			if err := db.PutMessageWithEvents(m, []Event{good, ev}); !errors.Is(err, ErrInvalid) {
				t.Errorf("PutMessageWithEvents: %v, want ErrInvalid", err)
			}
			if _, err := db.GetMessage(ws.ID, m.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("the message was stored without its events: %v", err)
			}
			if err := db.PutDeviceWithEvents(d, []Event{ev}); !errors.Is(err, ErrInvalid) {
				t.Errorf("PutDeviceWithEvents: %v, want ErrInvalid", err)
			}
			if err := db.AddPendingEvents([]Event{good, ev}); !errors.Is(err, ErrInvalid) {
				t.Errorf("AddPendingEvents: %v, want ErrInvalid", err)
			}
		})
	}
	if evs, err := db.PendingEvents(ws.ID, "", 0); err != nil || len(evs) != 0 {
		t.Errorf("pending after refused writes = %+v, %v", evs, err)
	}
	// A device write that fails (unknown device) stores no event either.
	ghost := Device{ID: d.ID + 100, WorkspaceID: ws.ID, Name: "ghost"}
	if err := db.PutDeviceWithEvents(ghost, []Event{good}); !errors.Is(err, ErrNotFound) {
		t.Errorf("PutDeviceWithEvents of an unknown device: %v, want ErrNotFound", err)
	}
	if evs, err := db.PendingEvents(ws.ID, "", 0); err != nil || len(evs) != 0 {
		t.Errorf("pending after a failed device write = %+v, %v", evs, err)
	}
	if err := db.CommitEvents(ws.ID, []Event{{ID: NewEventID(), WorkspaceID: ws.ID + 1, Seq: 1}}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("CommitEvents of another workspace's event: %v, want ErrInvalid", err)
	}
}

func TestCompactEvents(t *testing.T) {
	db, _ := openTestDB(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var evs []Event
	for seq := uint64(1); seq <= 10; seq++ {
		evs = append(evs, Event{ID: NewEventID(), Seq: seq, Type: "x", WorkspaceID: 1, CreatedAt: base.Add(time.Duration(seq) * time.Hour)})
	}
	if err := db.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cutoff  time.Time
		removed int
		first   uint64
	}{
		{"nothing is old enough", base, 0, 1},
		{"before seq 4", base.Add(4 * time.Hour), 3, 4},
		{"again: nothing more", base.Add(4 * time.Hour), 0, 4},
		{"between 6 and 7", base.Add(6*time.Hour + time.Minute), 3, 7},
		{"everything: the newest stays", base.Add(100 * time.Hour), 3, 10},
	} {
		n, err := db.CompactEvents(1, tc.cutoff)
		if err != nil || n != tc.removed {
			t.Errorf("%s: removed %d, %v; want %d", tc.name, n, err, tc.removed)
		}
		if first, err := db.FirstEventSeq(1); err != nil || first != tc.first {
			t.Errorf("%s: first seq %d, %v; want %d", tc.name, first, err, tc.first)
		}
	}
	if last, err := db.LastEventSeq(1); err != nil || last != 10 {
		t.Errorf("last seq after compaction = %d, %v; want 10", last, err)
	}
	if n, err := db.CompactEvents(2, base.Add(100*time.Hour)); err != nil || n != 0 {
		t.Errorf("compacting an empty log: %d, %v", n, err)
	}
}
