package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// A device's pacer state is what its anti-ban pacer must not forget over a
// restart (24-hour counters, spacing, pauses, number checks): a JSON
// document its owner (the device actor, actors/pacing.Snapshot) builds and
// versions. It is stored as given, under dp/, and goes with the device.

// GetPacerState returns the device's pacer state; ErrNotFound when none is
// stored.
func (db *DB) GetPacerState(device int64) ([]byte, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	v, err := get(db.pdb, pacerStateKey(device))
	if err != nil {
		return nil, fmt.Errorf("pacer state of device %d: %w", device, err)
	}
	return v, nil
}

// PutPacerState stores (replaces) the device's pacer state, synced.
func (db *DB) PutPacerState(device int64, state []byte) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if err := db.pdb.Set(pacerStateKey(device), state, pebble.Sync); err != nil {
		return fmt.Errorf("put pacer state of device %d: %w", device, err)
	}
	return nil
}

// PutMessageWithPacerState stores m as PutMessage does and, in the same
// synced batch, the pacer state of m's device and evs into the workspace's
// outbox: a send, what it changed in the pacer and the events it caused
// are stored together or not at all, so a restart neither forgets a send
// nor counts one that is not recorded. A nil state leaves the stored one.
//
// The events are checked as in PutMessageWithEvents.
func (db *DB) PutMessageWithPacerState(m Message, state []byte, evs []Event) error {
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
	if err == nil && state != nil {
		err = b.Set(pacerStateKey(m.DeviceID), state, nil)
	}
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

// QueueDepth counts the device's queued messages.
func (db *DB) QueueDepth(device int64) (int, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	n := 0
	err := scanPrefix(db.pdb, deviceQueuePrefix(device), false, func(_, _ []byte) (bool, error) {
		n++
		return true, nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue depth of device %d: %w", device, err)
	}
	return n, nil
}
