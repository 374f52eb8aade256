package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

// store puts events in the workspace's outbox and tells its actor, as a
// device actor does after storing a change.
func (h *harness) store(types ...string) []storage.Event {
	h.t.Helper()
	var evs []storage.Event
	for i, typ := range types {
		e, err := newEvent(h.ws, 0, typ, map[string]int{"n": i})
		if err != nil {
			h.t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if err := h.db.AddPendingEvents(evs); err != nil {
		h.t.Fatal(err)
	}
	pid, err := h.gw.workspace(context.Background(), h.ws)
	if err != nil {
		h.t.Fatal(err)
	}
	h.gw.sys.Root.Send(pid, eventsStored{events: evs})
	return evs
}

// logged waits until the workspace's log has n events and returns them.
func (h *harness) logged(n int) []storage.Event {
	h.t.Helper()
	var evs []storage.Event
	waitFor(h.t, 5*time.Second, func() error {
		var err error
		if evs, err = h.db.ReadEvents(h.ws, 0, 10_000); err != nil {
			return err
		}
		if len(evs) < n {
			return fmt.Errorf("%d events logged, want %d", len(evs), n)
		}
		return nil
	})
	return evs
}

func checkGapFree(t *testing.T, evs []storage.Event) {
	t.Helper()
	for i, e := range evs {
		if i > 0 && e.Seq != evs[i-1].Seq+1 {
			t.Fatalf("seq %d follows %d", e.Seq, evs[i-1].Seq)
		}
	}
}

// TestDeviceEventsReachTheLog: every step of a device is logged with a
// gap-free seq, the same events reach subscribers, and nothing is left in
// the outbox.
func TestDeviceEventsReachTheLog(t *testing.T) {
	h := newHarness(t)
	sub := h.gw.Subscribe(h.ws, SubscribeFilter{})
	defer sub.Close()
	d := h.device("phone")
	h.pair(d.ID)

	evs := h.logged(4)
	checkGapFree(t, evs)
	if evs[0].Seq != 1 {
		t.Fatalf("first seq %d, want 1", evs[0].Seq)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
		if e.WorkspaceID != h.ws || e.DeviceID != d.ID || !storage.IsEventID(e.ID) {
			t.Errorf("event %+v", e)
		}
	}
	if !slices.Contains(types, EventDeviceQR) || types[len(types)-1] != EventDeviceStatus {
		t.Errorf("types %v", types)
	}
	// device.qr carries its image on the log, so that every channel sends
	// the same envelope.
	for _, e := range evs {
		if e.Type == EventDeviceQR {
			var q deviceQRData
			if err := json.Unmarshal(e.Data, &q); err != nil || q.Code == "" || len(q.Image) < 100 {
				t.Errorf("device.qr data %s", e.Data)
			}
		}
	}
	for _, want := range evs {
		select {
		case got := <-sub.C:
			if got.Seq != want.Seq || got.ID != want.ID {
				t.Fatalf("live %d/%s, logged %d/%s", got.Seq, got.ID, want.Seq, want.ID)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no live event for seq %d", want.Seq)
		}
	}
	if pending, err := h.db.PendingEvents(h.ws, "", 0); err != nil || len(pending) != 0 {
		t.Errorf("outbox after logging: %d, %v", len(pending), err)
	}
}

// TestOutboxIsLoggedAfterACrash: events stored before the process died
// (still in the outbox) are logged first when the gateway starts again,
// in the order they were stored, with the ids they were stored with, and
// only once even if their notification still arrives.
func TestOutboxIsLoggedAfterACrash(t *testing.T) {
	h := newHarness(t)
	first := h.store(EventDeviceStatus)
	h.logged(1)
	h.close()

	// What a device actor stored just before a kill -9.
	db, err := storage.Open(h.dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var stranded []storage.Event
	for _, typ := range []string{EventMessageReceived, EventMessageAck, EventDeviceStatus} {
		e, _ := newEvent(h.ws, 0, typ, struct{}{})
		stranded = append(stranded, e)
	}
	if err := db.AddPendingEvents(stranded); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	h.open()
	evs := h.logged(4)
	if evs[0].ID != first[0].ID {
		t.Fatalf("first event %s, want %s", evs[0].ID, first[0].ID)
	}
	for i, e := range stranded {
		if evs[i+1].ID != e.ID || evs[i+1].Type != e.Type || evs[i+1].Seq != uint64(i+2) {
			t.Errorf("event %d = %s %s seq %d, want %s %s seq %d", i+1, evs[i+1].ID, evs[i+1].Type, evs[i+1].Seq, e.ID, e.Type, i+2)
		}
	}
	// A late notification of the stranded events does not log them twice.
	pid, err := h.gw.workspace(context.Background(), h.ws)
	if err != nil {
		t.Fatal(err)
	}
	h.gw.sys.Root.Send(pid, eventsStored{events: stranded})
	h.store(EventMessageSent)
	evs = h.logged(5)
	if len(evs) != 5 || evs[4].Type != EventMessageSent {
		t.Fatalf("log after a late notification: %d events, last %s", len(evs), evs[len(evs)-1].Type)
	}
	checkGapFree(t, evs)
}

// splitter is a processor standing in for plugins: it drops
// message.ack events and doubles message.received ones.
type splitter struct{}

func (splitter) Process(_ int64, evs []storage.Event) []storage.Event {
	var out []storage.Event
	for _, e := range evs {
		switch e.Type {
		case EventMessageAck:
		case EventMessageReceived:
			copyOf := e
			copyOf.ID = ""
			copyOf.Type = "message.edited"
			out = append(out, e, copyOf)
		default:
			out = append(out, e)
		}
	}
	return out
}

func TestProcessorRunsBeforeTheLog(t *testing.T) {
	h := newHarness(t)
	h.gw.processor = splitter{}
	stored := h.store(EventMessageAck, EventMessageReceived, EventDeviceStatus)
	evs := h.logged(3)
	var got []string
	for _, e := range evs {
		got = append(got, e.Type)
	}
	if want := []string{EventMessageReceived, "message.edited", EventDeviceStatus}; !slices.Equal(got, want) {
		t.Fatalf("logged %v, want %v", got, want)
	}
	checkGapFree(t, evs)
	if evs[0].ID != stored[1].ID || !storage.IsEventID(evs[1].ID) || evs[1].ID == evs[0].ID {
		t.Errorf("ids: %s %s, want the stored one and a new one", evs[0].ID, evs[1].ID)
	}
	if pending, _ := h.db.PendingEvents(h.ws, "", 0); len(pending) != 0 {
		t.Errorf("the dropped event is still pending: %+v", pending)
	}
}

func TestRetentionKeepsTheNewestAndTheSeq(t *testing.T) {
	h := newHarness(t)
	h.store(EventDeviceStatus, EventDeviceStatus, EventDeviceStatus)
	evs := h.logged(3)
	// Age the first two beyond the retention.
	old := time.Now().Add(-h.gw.retention - time.Hour)
	for i := range 2 {
		evs[i].CreatedAt = old
	}
	if err := h.db.AppendEvents(evs[:2]); err != nil {
		t.Fatal(err)
	}
	pid, _ := h.gw.workspace(context.Background(), h.ws)
	h.gw.sys.Root.Send(pid, compactLog{})
	waitFor(t, 5*time.Second, func() error {
		first, err := h.db.FirstEventSeq(h.ws)
		if err != nil || first != 3 {
			return fmt.Errorf("first seq %d, %v; want 3", first, err)
		}
		return nil
	})
	h.store(EventDeviceStatus)
	waitFor(t, 5*time.Second, func() error {
		last, err := h.db.LastEventSeq(h.ws)
		if err != nil || last != 4 {
			return fmt.Errorf("last seq %d, %v; want 4", last, err)
		}
		return nil
	})
}
