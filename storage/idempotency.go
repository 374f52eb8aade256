package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Idempotency keys: a client that sends with an Idempotency-Key header
// and retries gets the first answer again, and nothing is sent twice. The
// key is reserved (pending) before the request runs, with the id of the
// message it will admit, and completed with the answer once it is given;
// both writes are synced. Records are kept per workspace under ik/ until
// they expire, with an index by expiry under ix/ for the sweep.

// MaxIdempotencyKeyLen bounds an Idempotency-Key, in bytes.
const MaxIdempotencyKeyLen = 255

// IdempotencyRecord is what is kept for one Idempotency-Key.
type IdempotencyRecord struct {
	WorkspaceID int64  `json:"workspaceId"`
	Key         string `json:"key"`
	// Fingerprint identifies the request the key was first used with (a
	// hash of what it asked); a different request with the same key is
	// refused.
	Fingerprint string `json:"fingerprint"`
	// MessageID is the message the request admits, chosen when the key is
	// reserved, so that a request cut short by a crash is found again.
	MessageID string `json:"messageId,omitempty"`
	// DeviceID is the message's device, once the answer is recorded.
	DeviceID int64 `json:"deviceId,omitempty"`
	// Status and Body are the first answer; Status is 0 while the request
	// that reserved the key runs.
	Status    int       `json:"status,omitempty"`
	Body      []byte    `json:"body,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Pending reports whether the request that reserved the key has not
// answered yet (or never will: its process stopped first).
func (r IdempotencyRecord) Pending() bool { return r.Status == 0 }

func checkIdempotencyKey(ws int64, key string) error {
	if ws <= 0 || key == "" || len(key) > MaxIdempotencyKeyLen {
		return fmt.Errorf("%w: workspace %d, key of %d bytes", ErrInvalid, ws, len(key))
	}
	return nil
}

// ReserveIdempotencyKey stores rec as the pending record of its key
// unless a record of the key that has not expired at now is stored; it
// returns the record that holds the key and whether it is rec (reserved
// now). An expired record is replaced. rec needs a workspace, a key of
// 1 to MaxIdempotencyKeyLen bytes, a fingerprint and an expiry after now
// (ErrInvalid otherwise); its Status and Body are cleared.
func (db *DB) ReserveIdempotencyKey(rec IdempotencyRecord, now time.Time) (IdempotencyRecord, bool, error) {
	if err := checkIdempotencyKey(rec.WorkspaceID, rec.Key); err != nil {
		return IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key: %w", err)
	}
	if rec.Fingerprint == "" || !rec.ExpiresAt.After(now) {
		return IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key: %w: no fingerprint or expiry", ErrInvalid)
	}
	rec.Status, rec.Body, rec.DeviceID = 0, nil, 0
	rec.CreatedAt, rec.ExpiresAt = rec.CreatedAt.UTC(), rec.ExpiresAt.UTC()
	if err := db.acquire(); err != nil {
		return IdempotencyRecord{}, false, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	key := idempotencyKey(rec.WorkspaceID, rec.Key)
	old, err := getRecord[IdempotencyRecord](db.pdb, key)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key: %w", err)
	case now.Before(old.ExpiresAt):
		return old, false, nil
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	if err == nil {
		if err := b.Delete(idemExpiryKey(old.ExpiresAt.Unix(), old.WorkspaceID, old.Key), nil); err != nil {
			return IdempotencyRecord{}, false, err
		}
	}
	err = putIdempotency(b, rec)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key: %w", err)
	}
	return rec, true, nil
}

// GetIdempotencyKey returns the record of a key; ErrNotFound when none is
// stored or it expired by now.
func (db *DB) GetIdempotencyKey(ws int64, key string, now time.Time) (IdempotencyRecord, error) {
	if err := checkIdempotencyKey(ws, key); err != nil {
		return IdempotencyRecord{}, fmt.Errorf("idempotency key: %w", err)
	}
	if err := db.acquire(); err != nil {
		return IdempotencyRecord{}, err
	}
	defer db.release()
	rec, err := getRecord[IdempotencyRecord](db.pdb, idempotencyKey(ws, key))
	if err == nil && !now.Before(rec.ExpiresAt) {
		err = ErrNotFound
	}
	if err != nil {
		return IdempotencyRecord{}, fmt.Errorf("idempotency key: %w", err)
	}
	return rec, nil
}

// CompleteIdempotencyKey records the answer to the request that reserved
// the key (status > 0), synced, and the device of the message it admitted.
// ErrNotFound when the key holds no record with that fingerprint.
func (db *DB) CompleteIdempotencyKey(ws int64, key, fingerprint string, device int64, status int, body []byte) error {
	if err := checkIdempotencyKey(ws, key); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if status <= 0 {
		return fmt.Errorf("complete idempotency key: %w: status %d", ErrInvalid, status)
	}
	return db.changeIdempotency(ws, key, fingerprint, func(b *pebble.Batch, rec IdempotencyRecord) error {
		rec.DeviceID, rec.Status, rec.Body = device, status, body
		return putIdempotency(b, rec)
	})
}

// ReleaseIdempotencyKey deletes the record of the key, synced, so that the
// key can be used again: the request that reserved it admitted nothing.
// ErrNotFound when the key holds no record with that fingerprint.
func (db *DB) ReleaseIdempotencyKey(ws int64, key, fingerprint string) error {
	if err := checkIdempotencyKey(ws, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return db.changeIdempotency(ws, key, fingerprint, deleteIdempotency)
}

func (db *DB) changeIdempotency(ws int64, key, fingerprint string, change func(*pebble.Batch, IdempotencyRecord) error) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	rec, err := getRecord[IdempotencyRecord](db.pdb, idempotencyKey(ws, key))
	if err == nil && rec.Fingerprint != fingerprint {
		err = ErrNotFound // taken over since, after it expired
	}
	if err != nil {
		return fmt.Errorf("idempotency key: %w", err)
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	err = change(b, rec)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("idempotency key: %w", err)
	}
	return nil
}

// DeleteExpiredIdempotencyKeys deletes up to limit records that expired by
// now, oldest expiry first, in one synced batch, and returns how many.
func (db *DB) DeleteExpiredIdempotencyKeys(now time.Time, limit int) (int, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	b := db.pdb.NewBatch()
	defer b.Close()
	n := 0
	upper := appendID(newKey(prefixIdemExpiry, idSize), now.Unix()+1)
	err := scan(db.pdb, []byte(prefixIdemExpiry), upper, false, func(k, _ []byte) (bool, error) {
		expires, ws, key, err := parseIdemExpiryKey(k)
		if err != nil {
			return false, err
		}
		rec, err := getRecord[IdempotencyRecord](db.pdb, idempotencyKey(ws, key))
		switch {
		case errors.Is(err, ErrNotFound), err == nil && rec.ExpiresAt.Unix() != expires:
			// A stale index entry: the record is gone or was replaced.
		case err != nil:
			return false, err
		case now.Before(rec.ExpiresAt):
			return true, nil // expires later within this second
		default:
			if err := b.Delete(idempotencyKey(ws, key), nil); err != nil {
				return false, err
			}
		}
		if err := b.Delete(append([]byte(nil), k...), nil); err != nil {
			return false, err
		}
		n++
		return n < limit, nil
	})
	if err == nil && n > 0 {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return 0, fmt.Errorf("expired idempotency keys: %w", err)
	}
	return n, nil
}

func putIdempotency(b *pebble.Batch, rec IdempotencyRecord) error {
	if err := setRecord(b, idempotencyKey(rec.WorkspaceID, rec.Key), rec); err != nil {
		return err
	}
	return b.Set(idemExpiryKey(rec.ExpiresAt.Unix(), rec.WorkspaceID, rec.Key), nil, nil)
}

func deleteIdempotency(b *pebble.Batch, rec IdempotencyRecord) error {
	return errors.Join(
		b.Delete(idempotencyKey(rec.WorkspaceID, rec.Key), nil),
		b.Delete(idemExpiryKey(rec.ExpiresAt.Unix(), rec.WorkspaceID, rec.Key), nil),
	)
}

// deleteDeviceIdempotency deletes, in b, the answers kept for messages of
// a device that is being deleted: they hold its messages' content.
func deleteDeviceIdempotency(r pebble.Reader, b *pebble.Batch, ws, device int64) error {
	prefix := appendID(newKey(prefixIdempotency, idSize), ws)
	return scanPrefix(r, prefix, false, func(_, v []byte) (bool, error) {
		var rec IdempotencyRecord
		if err := decodeRecord(v, &rec); err != nil {
			return false, err
		}
		if rec.DeviceID == device {
			return true, deleteIdempotency(b, rec)
		}
		return true, nil
	})
}
