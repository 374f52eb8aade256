package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// RateLimit is a device's admission limit: Limit sends per window.
type RateLimit struct {
	Limit         int `json:"limit"`
	WindowSeconds int `json:"windowSeconds"`
}

// Device is one WhatsApp account connected through an engine. It always has
// exactly one API key of kind KeyDevice.
type Device struct {
	ID           int64     `json:"id"`
	WorkspaceID  int64     `json:"workspaceId"`
	Name         string    `json:"name"`
	Engine       string    `json:"engine"` // "sim" | "whatsmeow"
	Status       string    `json:"status"` // DISCONNECTED, CONNECTING, SCAN_QR, CONNECTED, LOGGED_OUT, TEMP_BANNED, FAILED
	StatusReason string    `json:"statusReason,omitempty"`
	Phone        string    `json:"phone"`
	LID          string    `json:"lid,omitempty"`
	PushName     string    `json:"pushName"`
	Paired       bool      `json:"paired"`
	WantOnline   bool      `json:"wantOnline"` // user asked to connect and has not disconnected
	RateLimit    RateLimit `json:"rateLimit"`
	Pacing       string    `json:"pacing"`
	KeyID        int64     `json:"keyId"`
	KeyPrefix    string    `json:"keyPrefix"`
	CreatedAt    time.Time `json:"createdAt"`
	LastSeenAt   time.Time `json:"lastSeenAt"` // zero: never connected

	// Pacing (above) names the pacing profile the device's settings started
	// from; PacingSettings holds them all (actors/pacing.Settings as JSON),
	// empty while the device uses its profile's preset unchanged.
	PacingSettings json.RawMessage `json:"pacingSettings,omitempty"`
}

// CreateDevice stores a device and its device key in one synced batch,
// assigning both IDs and linking them (d.KeyID, d.KeyPrefix, key.DeviceID).
// ErrConflict when the workspace already has a device with that name.
//
// key.Kind may be left empty (it becomes KeyDevice); key.WorkspaceID is
// overwritten with d.WorkspaceID. ErrNotFound for an unknown workspace.
func (db *DB) CreateDevice(d Device, key APIKey) (Device, APIKey, error) {
	if key.Kind == "" {
		key.Kind = KeyDevice
	}
	switch {
	case d.Name == "":
		return Device{}, APIKey{}, fmt.Errorf("create device: %w: empty name", ErrInvalid)
	case key.Kind != KeyDevice:
		return Device{}, APIKey{}, fmt.Errorf("create device: %w: key kind %q", ErrInvalid, key.Kind)
	case key.Hash == ([32]byte{}):
		return Device{}, APIKey{}, fmt.Errorf("create device: %w: empty key hash", ErrInvalid)
	}
	if err := db.acquire(); err != nil {
		return Device{}, APIKey{}, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewIndexedBatch()
	defer b.Close()
	err := db.createDevice(b, &d, &key)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return Device{}, APIKey{}, fmt.Errorf("create device %q: %w", d.Name, err)
	}
	return d, key, nil
}

func (db *DB) createDevice(b *pebble.Batch, d *Device, key *APIKey) error {
	if err := workspaceExists(b, d.WorkspaceID); err != nil {
		return err
	}
	if err := checkDeviceNameFree(b, d.WorkspaceID, d.Name); err != nil {
		return err
	}
	if err := checkKeyHashFree(b, key.Hash); err != nil {
		return err
	}
	var err error
	if d.ID, err = nextID(b, seqDevice); err != nil {
		return err
	}
	if key.ID, err = nextID(b, seqAPIKey); err != nil {
		return err
	}
	key.WorkspaceID, key.DeviceID = d.WorkspaceID, d.ID
	d.KeyID, d.KeyPrefix = key.ID, key.Prefix
	if err := putDevice(b, *d); err != nil {
		return err
	}
	return putKey(b, *key)
}

// GetDevice returns a device by its global ID; callers check WorkspaceID.
// ErrNotFound when there is none.
func (db *DB) GetDevice(id int64) (Device, error) {
	if err := db.acquire(); err != nil {
		return Device{}, err
	}
	defer db.release()
	d, err := getRecord[Device](db.pdb, deviceKey(id))
	if err != nil {
		return Device{}, fmt.Errorf("device %d: %w", id, err)
	}
	return d, nil
}

// GetDeviceByName returns the workspace's device with exactly that name;
// ErrNotFound when there is none.
func (db *DB) GetDeviceByName(ws int64, name string) (Device, error) {
	if err := db.acquire(); err != nil {
		return Device{}, err
	}
	defer db.release()
	v, err := get(db.pdb, deviceNameKey(ws, name))
	if err != nil {
		return Device{}, fmt.Errorf("device %q: %w", name, err)
	}
	id, err := decodeID(v)
	if err != nil {
		return Device{}, fmt.Errorf("device %q: %w", name, err)
	}
	d, err := getRecord[Device](db.pdb, deviceKey(id))
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: name index points to missing device %d", ErrCorrupt, id)
	}
	if err != nil {
		return Device{}, fmt.Errorf("device %q: %w", name, err)
	}
	return d, nil
}

// ListDevices returns the workspace's devices by ID.
func (db *DB) ListDevices(ws int64) ([]Device, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	devices := []Device{}
	err := scanPrefix(db.pdb, workspaceDevicesPrefix(ws), false, func(k, _ []byte) (bool, error) {
		_, id, err := parseWorkspaceDeviceKey(k)
		if err != nil {
			return false, err
		}
		d, err := getRecord[Device](db.pdb, deviceKey(id))
		if errors.Is(err, ErrNotFound) {
			return false, fmt.Errorf("%w: workspace index points to missing device %d", ErrCorrupt, id)
		}
		if err != nil {
			return false, err
		}
		devices = append(devices, d)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return devices, nil
}

// ListAllDevices returns every workspace's devices by ID (for restarts).
func (db *DB) ListAllDevices() ([]Device, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	devices := []Device{}
	err := scanPrefix(db.pdb, devicesPrefix(), false, func(_, v []byte) (bool, error) {
		var d Device
		if err := decodeRecord(v, &d); err != nil {
			return false, err
		}
		devices = append(devices, d)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list all devices: %w", err)
	}
	return devices, nil
}

// PutDevice updates a device (synced). ErrConflict on a name taken by another device.
//
// ErrNotFound when the device does not exist in d.WorkspaceID. KeyID and
// KeyPrefix are kept from the stored record: they follow the key
// (CreateDevice, ReplaceKey), so a caller holding an older copy of the
// device cannot point it back at a replaced key.
func (db *DB) PutDevice(d Device) error {
	if d.Name == "" {
		return fmt.Errorf("put device %d: %w: empty name", d.ID, ErrInvalid)
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
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("put device %d: %w", d.ID, err)
	}
	return nil
}

func (db *DB) updateDevice(b *pebble.Batch, d Device) error {
	old, err := getRecord[Device](b, deviceKey(d.ID))
	if err != nil {
		return err
	}
	if old.WorkspaceID != d.WorkspaceID {
		return ErrNotFound
	}
	d.KeyID, d.KeyPrefix = old.KeyID, old.KeyPrefix
	if d.Name != old.Name {
		if err := checkDeviceNameFree(b, d.WorkspaceID, d.Name); err != nil {
			return err
		}
		if err := b.Delete(deviceNameKey(old.WorkspaceID, old.Name), nil); err != nil {
			return err
		}
	}
	return putDevice(b, d)
}

// DeleteDevice deletes the device, its key, its messages (and indexes) and its engine state.
//
// It is one synced batch; the workspace's events stay. The caller has
// stopped the device's writer (its actor) first. ErrNotFound when there is
// no such device.
func (db *DB) DeleteDevice(id int64) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewBatch()
	defer b.Close()
	err := db.deleteDevice(b, id)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("delete device %d: %w", id, err)
	}
	db.queue.dropDevice(id)
	return nil
}

func (db *DB) deleteDevice(b *pebble.Batch, id int64) error {
	d, err := getRecord[Device](db.pdb, deviceKey(id))
	if err != nil {
		return err
	}
	k, err := getKey(db.pdb, d.KeyID)
	switch {
	case errors.Is(err, ErrNotFound):
		// Nothing to delete; the rest of the device still goes.
	case err != nil:
		return err
	default:
		if err := deleteKey(b, k); err != nil {
			return err
		}
	}
	// Primary message records are keyed by workspace, so each is found
	// through the device index; the device-keyed indexes go as ranges.
	err = scanPrefix(db.pdb, deviceMessagesPrefix(id), false, func(k, v []byte) (bool, error) {
		_, msgID, err := parseDeviceMessageKey(k)
		if err != nil {
			return false, err
		}
		ws, err := decodeID(v)
		if err != nil {
			return false, err
		}
		return true, b.Delete(messageKey(ws, msgID), nil)
	})
	if err != nil {
		return err
	}
	for _, prefix := range [][]byte{deviceMessagesPrefix(id), deviceWAIDsPrefix(id), deviceQueuePrefix(id), deviceChatsPrefix(id)} {
		if err := b.DeleteRange(prefix, prefixEnd(prefix), nil); err != nil {
			return err
		}
	}
	if err := deleteDeviceIdempotency(db.pdb, b, d.WorkspaceID, id); err != nil {
		return err
	}
	return errors.Join(
		b.Delete(engineStateKey(id), nil),
		b.Delete(pacerStateKey(id), nil),
		b.Delete(deviceNameKey(d.WorkspaceID, d.Name), nil),
		b.Delete(workspaceDeviceKey(d.WorkspaceID, id), nil),
		b.Delete(deviceKey(id), nil),
	)
}

// checkDeviceNameFree is ErrConflict when the workspace has a device with
// that name.
func checkDeviceNameFree(r pebble.Reader, ws int64, name string) error {
	taken, err := has(r, deviceNameKey(ws, name))
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("%w: device name %q already in use", ErrConflict, name)
	}
	return nil
}

// putDevice writes a device with its name index and workspace listing.
func putDevice(b *pebble.Batch, d Device) error {
	if err := setRecord(b, deviceKey(d.ID), d); err != nil {
		return err
	}
	if err := b.Set(deviceNameKey(d.WorkspaceID, d.Name), encodeID(d.ID), nil); err != nil {
		return err
	}
	return b.Set(workspaceDeviceKey(d.WorkspaceID, d.ID), nil, nil)
}
