package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
)

func TestEventLog(t *testing.T) {
	db, _ := openTestDB(t)
	mk := func(ws int64, seq uint64) Event {
		return Event{ID: NewEventID(), Seq: seq, Type: "message.sent", CreatedAt: testTime(int(seq)), WorkspaceID: ws, DeviceID: 3,
			Data: json.RawMessage(fmt.Appendf(nil, `{"seq":%d}`, seq))}
	}
	if seq, err := db.LastEventSeq(1); err != nil || seq != 0 {
		t.Fatalf("LastEventSeq of an empty log = %d, %v; want 0", seq, err)
	}
	var ws1 []Event
	for seq := uint64(1); seq <= 7; seq++ {
		ws1 = append(ws1, mk(1, seq))
	}
	// Two batches, with another workspace's events on both sides of ws 1.
	if err := db.AppendEvents(append(ws1[:4:4], mk(2, 1), mk(2, 2))); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(ws1[4:]); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendEvents(nil); err != nil {
		t.Errorf("AppendEvents(nil): %v", err)
	}

	for ws, want := range map[int64]uint64{1: 7, 2: 2, 3: 0} {
		if seq, err := db.LastEventSeq(ws); err != nil || seq != want {
			t.Errorf("LastEventSeq(%d) = %d, %v; want %d", ws, seq, err, want)
		}
	}
	for _, tc := range []struct {
		after uint64
		limit int
		want  []Event
	}{
		{0, 3, ws1[:3]},
		{3, 3, ws1[3:6]},
		{6, 3, ws1[6:]},
		{7, 3, []Event{}},
		{0, 0, ws1}, // default limit
		{math.MaxUint64, 3, []Event{}},
	} {
		got, err := db.ReadEvents(1, tc.after, tc.limit)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReadEvents(1, %d, %d) = %+v, %v; want %+v", tc.after, tc.limit, got, err, tc.want)
		}
	}
}

func TestAppendEventsRejects(t *testing.T) {
	db, _ := openTestDB(t)
	for name, ev := range map[string]Event{
		"no seq":       {WorkspaceID: 1},
		"no workspace": {Seq: 1},
	} {
		if err := db.AppendEvents([]Event{{WorkspaceID: 1, Seq: 1}, ev}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// The batch was refused whole.
	if seq, err := db.LastEventSeq(1); err != nil || seq != 0 {
		t.Errorf("LastEventSeq after refused batches = %d, %v; want 0", seq, err)
	}
}
