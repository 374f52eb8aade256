package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// KeyKind says what an API key may be used for.
type KeyKind string

// API key kinds.
const (
	KeyLive   KeyKind = "live"
	KeyTest   KeyKind = "test"
	KeyDevice KeyKind = "device"
)

// APIKey is a stored API key. Only the SHA-256 of the secret is kept.
type APIKey struct {
	ID          int64     `json:"id"`
	WorkspaceID int64     `json:"workspaceId"`
	DeviceID    int64     `json:"deviceId,omitempty"` // device keys only
	Kind        KeyKind   `json:"kind"`
	Name        string    `json:"name"`
	Prefix      string    `json:"prefix"` // display prefix, e.g. "gw_live_AbC123…"
	Hash        [32]byte  `json:"-"`
	CreatedAt   time.Time `json:"createdAt"`
	LastUsedAt  time.Time `json:"lastUsedAt"` // zero: never
}

// apiKeyRecord is the stored form of an APIKey: APIKey.Hash is kept out of
// JSON so that it never leaves through the API, so the record carries it
// in a field of its own.
type apiKeyRecord struct {
	APIKey
	StoredHash []byte `json:"hash"`
}

// CreateKey stores a workspace key (live or test), synced, and returns it
// with its new ID. ErrNotFound for an unknown workspace, ErrConflict when
// the hash is already stored. Device keys are made with their device
// (CreateDevice) and replaced with ReplaceKey.
func (db *DB) CreateKey(k APIKey) (APIKey, error) {
	if err := checkWorkspaceKey(k); err != nil {
		return APIKey{}, fmt.Errorf("create key: %w", err)
	}
	if err := db.acquire(); err != nil {
		return APIKey{}, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewIndexedBatch()
	defer b.Close()
	err := db.createKey(b, &k)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("create key: %w", err)
	}
	return k, nil
}

func (db *DB) createKey(b *pebble.Batch, k *APIKey) error {
	if err := workspaceExists(b, k.WorkspaceID); err != nil {
		return err
	}
	if err := checkKeyHashFree(b, k.Hash); err != nil {
		return err
	}
	var err error
	if k.ID, err = nextID(b, seqAPIKey); err != nil {
		return err
	}
	return putKey(b, *k)
}

// GetKey returns a key of workspace ws; ErrNotFound when it is missing or
// belongs to another workspace.
func (db *DB) GetKey(ws, id int64) (APIKey, error) {
	if err := db.acquire(); err != nil {
		return APIKey{}, err
	}
	defer db.release()
	k, err := getKeyIn(db.pdb, ws, id)
	if err != nil {
		return APIKey{}, fmt.Errorf("key %d: %w", id, err)
	}
	return k, nil
}

// GetKeyByHash returns the key whose secret hashes to hash; ErrNotFound
// when there is none.
func (db *DB) GetKeyByHash(hash [32]byte) (APIKey, error) {
	if err := db.acquire(); err != nil {
		return APIKey{}, err
	}
	defer db.release()
	v, err := get(db.pdb, apiKeyHashKey(hash))
	if err != nil {
		return APIKey{}, fmt.Errorf("key by hash: %w", err)
	}
	id, err := decodeID(v)
	if err != nil {
		return APIKey{}, fmt.Errorf("key by hash: %w", err)
	}
	k, err := getKey(db.pdb, id)
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: hash index points to missing key %d", ErrCorrupt, id)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("key by hash: %w", err)
	}
	return k, nil
}

// ListKeys returns the workspace's keys (device keys included) by ID.
func (db *DB) ListKeys(ws int64) ([]APIKey, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	keys := []APIKey{}
	err := scanPrefix(db.pdb, workspaceAPIKeysPrefix(ws), false, func(k, _ []byte) (bool, error) {
		_, id, err := parseWorkspaceAPIKeyKey(k)
		if err != nil {
			return false, err
		}
		key, err := getKey(db.pdb, id)
		if errors.Is(err, ErrNotFound) {
			return false, fmt.Errorf("%w: workspace index points to missing key %d", ErrCorrupt, id)
		}
		if err != nil {
			return false, err
		}
		keys = append(keys, key)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// DeleteKey deletes a workspace key, synced. ErrNotFound when it is missing
// or belongs to another workspace; ErrConflict for a device key, which goes
// with its device (DeleteDevice) or is regenerated (ReplaceKey).
func (db *DB) DeleteKey(ws, id int64) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	k, err := getKeyIn(db.pdb, ws, id)
	if err != nil {
		return fmt.Errorf("delete key %d: %w", id, err)
	}
	if k.Kind == KeyDevice {
		return fmt.Errorf("delete key %d: %w: device keys are removed with their device or regenerated", id, ErrConflict)
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	err = deleteKey(b, k)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("delete key %d: %w", id, err)
	}
	return nil
}

// ReplaceKey atomically deletes key oldID (and its hash index) and stores k
// under a new ID; for a device key the device's KeyID/KeyPrefix follow.
//
// k takes the old key's workspace and device; an empty k.Kind or k.Name
// takes the old one's too. ErrNotFound when oldID is missing or in another
// workspace, ErrConflict when k's hash is already stored, ErrInvalid when
// k's kind would turn a device key into a workspace key or back.
func (db *DB) ReplaceKey(ws, oldID int64, k APIKey) (APIKey, error) {
	if k.Hash == ([32]byte{}) {
		return APIKey{}, fmt.Errorf("replace key %d: %w: empty hash", oldID, ErrInvalid)
	}
	if err := db.acquire(); err != nil {
		return APIKey{}, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewIndexedBatch()
	defer b.Close()
	k, err := db.replaceKey(b, ws, oldID, k)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("replace key %d: %w", oldID, err)
	}
	return k, nil
}

func (db *DB) replaceKey(b *pebble.Batch, ws, oldID int64, k APIKey) (APIKey, error) {
	old, err := getKeyIn(b, ws, oldID)
	if err != nil {
		return APIKey{}, err
	}
	if k.Kind == "" {
		k.Kind = old.Kind
	}
	if (k.Kind == KeyDevice) != (old.Kind == KeyDevice) {
		return APIKey{}, fmt.Errorf("%w: cannot replace a %s key with a %s key", ErrInvalid, old.Kind, k.Kind)
	}
	if k.Name == "" {
		k.Name = old.Name
	}
	k.WorkspaceID = old.WorkspaceID
	k.DeviceID = old.DeviceID
	if err := checkKeyHashFree(b, k.Hash); err != nil {
		return APIKey{}, err
	}
	if err := deleteKey(b, old); err != nil {
		return APIKey{}, err
	}
	if k.ID, err = nextID(b, seqAPIKey); err != nil {
		return APIKey{}, err
	}
	if err := putKey(b, k); err != nil {
		return APIKey{}, err
	}
	if k.Kind != KeyDevice {
		return k, nil
	}
	d, err := getRecord[Device](b, deviceKey(k.DeviceID))
	if errors.Is(err, ErrNotFound) {
		return APIKey{}, fmt.Errorf("%w: key %d belongs to missing device %d", ErrCorrupt, old.ID, k.DeviceID)
	}
	if err != nil {
		return APIKey{}, err
	}
	d.KeyID, d.KeyPrefix = k.ID, k.Prefix
	return k, setRecord(b, deviceKey(d.ID), d)
}

// TouchKeys records last-used times (coalesced by the caller); not synced.
// Keys that no longer exist are skipped; a time older than the stored one
// is ignored.
func (db *DB) TouchKeys(lastUsed map[int64]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	// Under catalogMu so that a touch cannot write back a key that
	// DeleteKey or ReplaceKey has just removed.
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewBatch()
	defer b.Close()
	for id, t := range lastUsed {
		k, err := getKey(db.pdb, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("touch key %d: %w", id, err)
		}
		if !t.After(k.LastUsedAt) {
			continue
		}
		k.LastUsedAt = t
		if err := setKeyRecord(b, k); err != nil {
			return fmt.Errorf("touch key %d: %w", id, err)
		}
	}
	if b.Empty() {
		return nil
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("touch keys: %w", err)
	}
	return nil
}

// checkWorkspaceKey validates a key for CreateAccount and CreateKey.
func checkWorkspaceKey(k APIKey) error {
	if k.Kind != KeyLive && k.Kind != KeyTest {
		return fmt.Errorf("%w: key kind %q (want %q or %q)", ErrInvalid, k.Kind, KeyLive, KeyTest)
	}
	if k.Hash == ([32]byte{}) {
		return fmt.Errorf("%w: empty key hash", ErrInvalid)
	}
	return nil
}

// checkKeyHashFree is ErrConflict when a key with that hash is stored.
func checkKeyHashFree(r pebble.Reader, hash [32]byte) error {
	taken, err := has(r, apiKeyHashKey(hash))
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("%w: key hash already stored", ErrConflict)
	}
	return nil
}

func getKey(r pebble.Reader, id int64) (APIKey, error) {
	rec, err := getRecord[apiKeyRecord](r, apiKeyKey(id))
	if err != nil {
		return APIKey{}, err
	}
	if len(rec.StoredHash) != len(rec.Hash) {
		return APIKey{}, fmt.Errorf("%w: key %d has a %d-byte hash", ErrCorrupt, id, len(rec.StoredHash))
	}
	k := rec.APIKey
	copy(k.Hash[:], rec.StoredHash)
	return k, nil
}

// getKeyIn is getKey, ErrNotFound when the key belongs to another workspace.
func getKeyIn(r pebble.Reader, ws, id int64) (APIKey, error) {
	k, err := getKey(r, id)
	if err != nil {
		return APIKey{}, err
	}
	if k.WorkspaceID != ws {
		return APIKey{}, ErrNotFound
	}
	return k, nil
}

func setKeyRecord(b *pebble.Batch, k APIKey) error {
	return setRecord(b, apiKeyKey(k.ID), apiKeyRecord{APIKey: k, StoredHash: k.Hash[:]})
}

// putKey writes a key with its hash index and workspace listing.
func putKey(b *pebble.Batch, k APIKey) error {
	if err := setKeyRecord(b, k); err != nil {
		return err
	}
	if err := b.Set(apiKeyHashKey(k.Hash), encodeID(k.ID), nil); err != nil {
		return err
	}
	return b.Set(workspaceAPIKeyKey(k.WorkspaceID, k.ID), nil, nil)
}

// deleteKey removes what putKey wrote.
func deleteKey(b *pebble.Batch, k APIKey) error {
	return errors.Join(
		b.Delete(apiKeyKey(k.ID), nil),
		b.Delete(apiKeyHashKey(k.Hash), nil),
		b.Delete(workspaceAPIKeyKey(k.WorkspaceID, k.ID), nil),
	)
}
