package storage

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Event is an entry of a workspace's event log, the source of webhooks and
// streams. Seq orders a workspace's events.
type Event struct {
	ID          string          `json:"id"` // evt_…
	Seq         uint64          `json:"seq"`
	Type        string          `json:"type"`
	CreatedAt   time.Time       `json:"createdAt"`
	WorkspaceID int64           `json:"workspaceId"`
	DeviceID    int64           `json:"deviceId,omitempty"`
	Data        json.RawMessage `json:"data"`
}

const (
	eventIDPrefix = "evt_"

	defaultEventLimit = 100
)

// NewEventID returns a new event id ("evt_" + 26 chars, time-ordered).
func NewEventID() string { return sortableIDs.next(eventIDPrefix) }

// AppendEvents writes events whose Seq the caller (the workspace's single
// writer) assigned, in one synced batch.
//
// Each event needs a WorkspaceID and a Seq ≥ 1 (ErrInvalid otherwise); an
// event with the Seq of a stored one replaces it.
func (db *DB) AppendEvents(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	b := db.pdb.NewBatch()
	defer b.Close()
	for _, ev := range evs {
		if ev.WorkspaceID <= 0 || ev.Seq == 0 {
			return fmt.Errorf("append events: %w: event %q has workspace %d, seq %d", ErrInvalid, ev.ID, ev.WorkspaceID, ev.Seq)
		}
		if err := setRecord(b, eventKey(ev.WorkspaceID, ev.Seq), ev); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	return nil
}

// LastEventSeq is the highest seq stored for the workspace (0 when none).
func (db *DB) LastEventSeq(ws int64) (uint64, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	var last uint64
	err := scanPrefix(db.pdb, workspaceEventsPrefix(ws), true, func(k, _ []byte) (bool, error) {
		_, seq, err := parseEventKey(k)
		last = seq
		return false, err
	})
	if err != nil {
		return 0, fmt.Errorf("last event seq: %w", err)
	}
	return last, nil
}

// ReadEvents returns up to limit events with seq > after, in seq order.
//
// limit ≤ 0 means 100.
func (db *DB) ReadEvents(ws int64, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	evs := []Event{}
	if after == math.MaxUint64 {
		return evs, nil
	}
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	upper := prefixEnd(workspaceEventsPrefix(ws))
	err := scan(db.pdb, eventKey(ws, after+1), upper, false, func(_, v []byte) (bool, error) {
		var ev Event
		if err := decodeRecord(v, &ev); err != nil {
			return false, err
		}
		evs = append(evs, ev)
		return len(evs) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return evs, nil
}
