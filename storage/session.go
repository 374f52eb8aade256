package storage

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Session is a dashboard sign-in. Its record is stored under the hash, so
// the token itself is never stored.
type Session struct {
	Hash        [32]byte  `json:"-"` // SHA-256 of the token
	UserID      int64     `json:"userId"`
	WorkspaceID int64     `json:"workspaceId"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// PutSession stores (or replaces) a session, synced.
func (db *DB) PutSession(s Session) error {
	if s.Hash == ([32]byte{}) {
		return fmt.Errorf("put session: %w: empty hash", ErrInvalid)
	}
	v, err := encodeRecord(s)
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if err := db.pdb.Set(sessionKey(s.Hash), v, pebble.Sync); err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	return nil
}

// GetSession returns the session with that hash; ErrNotFound when it is
// missing or expired. An expired session is deleted on the way.
func (db *DB) GetSession(hash [32]byte) (Session, error) {
	if err := db.acquire(); err != nil {
		return Session{}, err
	}
	defer db.release()
	key := sessionKey(hash)
	s, err := getRecord[Session](db.pdb, key)
	if err != nil {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	s.Hash = hash
	if !time.Now().Before(s.ExpiresAt) {
		// Losing this delete in a crash only means doing it again.
		if err := db.pdb.Delete(key, pebble.NoSync); err != nil {
			return Session{}, fmt.Errorf("delete expired session: %w", err)
		}
		return Session{}, fmt.Errorf("session: expired: %w", ErrNotFound)
	}
	return s, nil
}

// DeleteSession deletes a session (signing out), synced. Deleting a session
// that does not exist is not an error.
func (db *DB) DeleteSession(hash [32]byte) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if err := db.pdb.Delete(sessionKey(hash), pebble.Sync); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions deletes the sessions that expired at or before now
// (sessions nobody presents again are otherwise never read, so never
// deleted) and returns how many it deleted.
func (db *DB) DeleteExpiredSessions(now time.Time) (int, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	b := db.pdb.NewBatch()
	defer b.Close()
	n := 0
	err := scanPrefix(db.pdb, []byte(prefixSession), false, func(k, v []byte) (bool, error) {
		var s Session
		if err := decodeRecord(v, &s); err != nil {
			return false, err
		}
		if now.Before(s.ExpiresAt) {
			return true, nil
		}
		n++
		return true, b.Delete(k, nil)
	})
	if err == nil && n > 0 {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return n, nil
}
