package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Event is an entry of a workspace's event log, the source of webhooks and
// streams. Seq orders a workspace's events; it is 0 while the event waits
// in the outbox.
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
	eventIDLength = len(eventIDPrefix) + sortableIDLength

	defaultEventLimit = 100
)

// NewEventID returns a new event id ("evt_" + 26 chars, time-ordered).
func NewEventID() string { return sortableIDs.next(eventIDPrefix) }

// IsEventID reports whether s has the form of an event id.
func IsEventID(s string) bool { return isSortableID(s, eventIDPrefix) }

// AppendEvents writes events whose Seq the caller (the workspace's single
// writer) assigned, in one synced batch.
//
// Each event needs a WorkspaceID and a Seq ≥ 1 (ErrInvalid otherwise); an
// event with the Seq of a stored one replaces it.
func (db *DB) AppendEvents(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	return db.commitEvents(evs, nil, 0)
}

// CommitEvents appends events to workspace ws's log and removes the
// outbox entries they came from, in one synced batch: an event is either
// pending or logged, never both.
//
// Each event needs WorkspaceID ws and a Seq ≥ 1 (ErrInvalid otherwise).
// pendingIDs are the ids of the outbox entries consumed; they need not be
// the ids of evs (a plugin may have replaced, dropped or split events), and
// an id no longer pending is ignored.
func (db *DB) CommitEvents(ws int64, evs []Event, pendingIDs []string) error {
	if ws <= 0 {
		return fmt.Errorf("commit events: %w: workspace %d", ErrInvalid, ws)
	}
	for _, ev := range evs {
		if ev.WorkspaceID != ws {
			return fmt.Errorf("commit events: %w: event %q of workspace %d in workspace %d's batch", ErrInvalid, ev.ID, ev.WorkspaceID, ws)
		}
	}
	if len(evs) == 0 && len(pendingIDs) == 0 {
		return nil
	}
	return db.commitEvents(evs, pendingIDs, ws)
}

func (db *DB) commitEvents(evs []Event, pendingIDs []string, ws int64) error {
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
	for _, id := range pendingIDs {
		if err := b.Delete(outboxKey(ws, id), nil); err != nil {
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
	last, err := edgeEventSeq(db.pdb, ws, true)
	if err != nil {
		return 0, fmt.Errorf("last event seq: %w", err)
	}
	return last, nil
}

// FirstEventSeq is the lowest seq still stored for the workspace (0 when
// none): events before it were removed by retention.
func (db *DB) FirstEventSeq(ws int64) (uint64, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	first, err := edgeEventSeq(db.pdb, ws, false)
	if err != nil {
		return 0, fmt.Errorf("first event seq: %w", err)
	}
	return first, nil
}

// edgeEventSeq is the workspace's last (or first) seq, 0 when it has none.
func edgeEventSeq(r pebble.Reader, ws int64, last bool) (uint64, error) {
	var seq uint64
	err := scanPrefix(r, workspaceEventsPrefix(ws), last, func(k, _ []byte) (bool, error) {
		var err error
		_, seq, err = parseEventKey(k)
		return false, err
	})
	return seq, err
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

// CompactEvents removes the workspace's events created before the cutoff
// and returns how many it removed. The newest event always stays, so that
// the log's last seq, which the next seq follows, is never lost.
//
// Events are created in seq order, so the first event to keep is found by
// a binary search over seq (a few reads, however long the log). The
// removal is not synced: one lost with a crash is simply removed again.
func (db *DB) CompactEvents(ws int64, cutoff time.Time) (int, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	first, err := edgeEventSeq(db.pdb, ws, false)
	if err != nil || first == 0 {
		return 0, wrapCompact(err)
	}
	last, err := edgeEventSeq(db.pdb, ws, true)
	if err != nil {
		return 0, wrapCompact(err)
	}
	// keep is the first seq in [first, last] created at or after the
	// cutoff; last when every earlier one is older.
	lo, hi := first, last
	for lo < hi {
		mid := lo + (hi-lo)/2
		ev, err := getRecord[Event](db.pdb, eventKey(ws, mid))
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("%w: event %d missing inside the log [%d, %d]", ErrCorrupt, mid, first, last)
		}
		if err != nil {
			return 0, wrapCompact(err)
		}
		if ev.CreatedAt.Before(cutoff) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	keep := lo
	if keep == first {
		return 0, nil
	}
	if err := db.pdb.DeleteRange(eventKey(ws, first), eventKey(ws, keep), pebble.NoSync); err != nil {
		return 0, wrapCompact(err)
	}
	return int(keep - first), nil
}

func wrapCompact(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("compact events: %w", err)
}

// EventWorkspaces lists the workspaces that have logged or pending
// events, in ID order, so that their log writers can be started after a
// restart.
func (db *DB) EventWorkspaces() ([]int64, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	seen := map[int64]bool{}
	var out []int64
	for _, prefix := range []string{prefixEvent, prefixEventOutbox} {
		ids, err := workspacesUnder(db.pdb, prefix)
		if err != nil {
			return nil, fmt.Errorf("event workspaces: %w", err)
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out, nil
}

// workspacesUnder lists the distinct workspace IDs that start the keys
// under prefix, seeking past each workspace rather than reading its keys.
func workspacesUnder(r pebble.Reader, prefix string) (ids []int64, err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: []byte(prefix), UpperBound: prefixEnd([]byte(prefix))})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	for valid := it.First(); valid; {
		k := it.Key()
		if len(k) < len(prefix)+idSize {
			return nil, fmt.Errorf("%w: key %q is too short", ErrCorrupt, k)
		}
		ws := binary.BigEndian.Uint64(k[len(prefix):])
		ids = append(ids, int64(ws))
		if ws == math.MaxUint64 {
			break
		}
		valid = it.SeekGE(binary.BigEndian.AppendUint64([]byte(prefix), ws+1))
	}
	return ids, nil
}
