package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Engine state is a small opaque blob an engine keeps per device (the
// simulator's pairing). The whatsmeow store has its own keyspace. It is
// stored as is, without a record version: its owner versions it.

// GetEngineState returns the device's engine state; ErrNotFound when none
// is stored.
func (db *DB) GetEngineState(device int64) ([]byte, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	v, err := get(db.pdb, engineStateKey(device))
	if err != nil {
		return nil, fmt.Errorf("engine state of device %d: %w", device, err)
	}
	return v, nil
}

// PutEngineState stores (replaces) the device's engine state, synced.
func (db *DB) PutEngineState(device int64, v []byte) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if err := db.pdb.Set(engineStateKey(device), v, pebble.Sync); err != nil {
		return fmt.Errorf("put engine state of device %d: %w", device, err)
	}
	return nil
}

// DeleteEngineState deletes the device's engine state, synced; deleting
// none is not an error.
func (db *DB) DeleteEngineState(device int64) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if err := db.pdb.Delete(engineStateKey(device), pebble.Sync); err != nil {
		return fmt.Errorf("delete engine state of device %d: %w", device, err)
	}
	return nil
}
