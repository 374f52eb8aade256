package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// The event outbox (eo/): an event waits here, stored in the same synced
// batch as the change that caused it, until the workspace's log writer
// gives it a seq and moves it to the log (CommitEvents). Outbox entries are
// keyed by workspace and event id; ids are time-ordered, so a scan yields
// them in the order they were made.

// PutMessageWithEvents stores m as PutMessage does and, in the same synced
// batch, evs into the workspace's outbox: the message and the events it
// caused are stored together or not at all.
//
// Each event needs an id from NewEventID, a type, the message's workspace
// and seq 0 (ErrInvalid otherwise).
func (db *DB) PutMessageWithEvents(m Message, evs []Event) error {
	switch {
	case !isSortableID(m.ID, messageIDPrefix):
		return fmt.Errorf("put message: %w: id %q", ErrInvalid, m.ID)
	case m.WorkspaceID <= 0 || m.DeviceID <= 0:
		return fmt.Errorf("put message %s: %w: workspace %d, device %d", m.ID, ErrInvalid, m.WorkspaceID, m.DeviceID)
	}
	if err := checkPending(m.WorkspaceID, evs); err != nil {
		return fmt.Errorf("put message %s: %w", m.ID, err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	mu := db.messageLock(m.ID)
	mu.Lock()
	defer mu.Unlock()

	b := db.pdb.NewBatch()
	defer b.Close()
	old, err := db.putMessage(b, m)
	if err == nil {
		err = putPending(b, evs)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("put message %s: %w", m.ID, err)
	}
	db.queue.stored(m, old)
	return nil
}

// PutDeviceWithEvents updates d as PutDevice does and, in the same synced
// batch, puts evs into the workspace's outbox.
//
// The events are checked as in PutMessageWithEvents.
func (db *DB) PutDeviceWithEvents(d Device, evs []Event) error {
	if d.Name == "" {
		return fmt.Errorf("put device %d: %w: empty name", d.ID, ErrInvalid)
	}
	if err := checkPending(d.WorkspaceID, evs); err != nil {
		return fmt.Errorf("put device %d: %w", d.ID, err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewIndexedBatch()
	defer b.Close()
	err := db.updateDevice(b, d)
	if err == nil {
		err = putPending(b, evs)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("put device %d: %w", d.ID, err)
	}
	return nil
}

// AddPendingEvents puts events that no stored change goes with into
// their workspace's outbox (synced).
//
// Each event needs an id from NewEventID, a type, a workspace and seq 0
// (ErrInvalid otherwise); all must be of one workspace.
func (db *DB) AddPendingEvents(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := checkPending(evs[0].WorkspaceID, evs); err != nil {
		return fmt.Errorf("add pending events: %w", err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	b := db.pdb.NewBatch()
	defer b.Close()
	err := putPending(b, evs)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("add pending events: %w", err)
	}
	return nil
}

// PendingEvents returns up to limit events of the workspace's outbox with
// an id greater than after ("" for the first), oldest first.
//
// limit ≤ 0 means 100.
func (db *DB) PendingEvents(ws int64, after string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	prefix := workspaceOutboxPrefix(ws)
	lower := prefix
	if after != "" {
		lower = append(outboxKey(ws, after), 0)
	}
	evs := []Event{}
	err := scan(db.pdb, lower, prefixEnd(prefix), false, func(_, v []byte) (bool, error) {
		var ev Event
		if err := decodeRecord(v, &ev); err != nil {
			return false, err
		}
		evs = append(evs, ev)
		return len(evs) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pending events of workspace %d: %w", ws, err)
	}
	return evs, nil
}

// StillPending reports, for each id, whether that event is still in the
// workspace's outbox (not yet committed to the log).
func (db *DB) StillPending(ws int64, ids []string) ([]bool, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	out := make([]bool, len(ids))
	for i, id := range ids {
		ok, err := has(db.pdb, outboxKey(ws, id))
		if err != nil {
			return nil, fmt.Errorf("pending event %s: %w", id, err)
		}
		out[i] = ok
	}
	return out, nil
}

// checkPending is ErrInvalid unless every event can wait in ws's outbox.
func checkPending(ws int64, evs []Event) error {
	for _, ev := range evs {
		switch {
		case !IsEventID(ev.ID):
			return fmt.Errorf("%w: event id %q", ErrInvalid, ev.ID)
		case ev.Type == "":
			return fmt.Errorf("%w: event %s has no type", ErrInvalid, ev.ID)
		case ws <= 0 || ev.WorkspaceID != ws:
			return fmt.Errorf("%w: event %s of workspace %d, want %d", ErrInvalid, ev.ID, ev.WorkspaceID, ws)
		case ev.Seq != 0:
			return fmt.Errorf("%w: pending event %s already has seq %d", ErrInvalid, ev.ID, ev.Seq)
		}
	}
	return nil
}

func putPending(b *pebble.Batch, evs []Event) error {
	for _, ev := range evs {
		if err := setRecord(b, outboxKey(ev.WorkspaceID, ev.ID), ev); err != nil {
			return err
		}
	}
	return nil
}
