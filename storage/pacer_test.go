package storage

import (
	"errors"
	"testing"
)

// TestPacerStateGoesWithItsSend: the message, the pacer state and the
// events of a send are stored together, survive a reopen, and a nil state
// leaves the stored one.
func TestPacerStateGoesWithItsSend(t *testing.T) {
	db, dir := openTestDB(t)
	ws, _, _ := testAccount(t, db, "pacer@example.com")
	d, _ := testDevice(t, db, ws.ID, "paced")

	if _, err := db.GetPacerState(d.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("state before any write: %v, want ErrNotFound", err)
	}
	m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "out", Chat: "c", Status: "sent", WAID: "W1"}
	ev := pendingEvent(ws.ID, d.ID, "message.sent")
	if err := db.PutMessageWithPacerState(m, []byte(`{"v":1,"key":7}`), []Event{ev}); err != nil {
		t.Fatal(err)
	}
	m.Status = "delivered"
	if err := db.PutMessageWithPacerState(m, nil, nil); err != nil {
		t.Fatal(err)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDir(t, dir)
	state, err := db.GetPacerState(d.ID)
	if err != nil || string(state) != `{"v":1,"key":7}` {
		t.Errorf("state = %s, %v", state, err)
	}
	got, err := db.GetMessage(ws.ID, m.ID)
	if err != nil || got.Status != "delivered" {
		t.Errorf("message = %+v, %v", got, err)
	}
	pending, err := db.PendingEvents(ws.ID, "", 10)
	if err != nil || len(pending) != 1 || pending[0].ID != ev.ID {
		t.Errorf("pending events = %+v, %v", pending, err)
	}
}

// TestPutMessageWithPacerStateRefusesWhole: an invalid event refuses the
// whole batch: neither the message nor the state is stored.
func TestPutMessageWithPacerStateRefusesWhole(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "whole@example.com")
	d, _ := testDevice(t, db, ws.ID, "paced")
	m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "out", Chat: "c", Status: "sent"}
	bad := Event{ID: NewEventID(), Type: "x", WorkspaceID: ws.ID + 1}
	if err := db.PutMessageWithPacerState(m, []byte(`{}`), []Event{bad}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if _, err := db.GetMessage(ws.ID, m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("message stored: %v", err)
	}
	if _, err := db.GetPacerState(d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("state stored: %v", err)
	}
	if err := db.PutMessageWithPacerState(Message{ID: "nope", WorkspaceID: ws.ID, DeviceID: d.ID}, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad id: %v, want ErrInvalid", err)
	}
}

func TestQueueDepth(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "depth@example.com")
	d, _ := testDevice(t, db, ws.ID, "a")
	other, _ := testDevice(t, db, ws.ID, "b")
	for i, status := range []string{"queued", "sent", "queued", "failed", "queued"} {
		dev := d
		if i == 4 {
			dev = other
		}
		m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: dev.ID, Direction: "out", Chat: "c", Status: status}
		if err := db.PutMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		device int64
		want   int
	}{{d.ID, 2}, {other.ID, 1}, {999, 0}} {
		if n, err := db.QueueDepth(tc.device); err != nil || n != tc.want {
			t.Errorf("QueueDepth(%d) = %d, %v; want %d", tc.device, n, err, tc.want)
		}
	}
}
