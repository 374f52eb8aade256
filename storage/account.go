package storage

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Workspace is a tenant: it owns users, keys, devices, messages and events.
type Workspace struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
}

// User is a person who signs in to the dashboard of a workspace.
type User struct {
	ID           int64     `json:"id"`
	WorkspaceID  int64     `json:"workspaceId"`
	Name         string    `json:"name"`
	Email        string    `json:"email"` // stored lower-cased
	PasswordHash string    `json:"passwordHash"`
	Role         string    `json:"role"` // "owner"
	CreatedAt    time.Time `json:"createdAt"`
}

// normalizeEmail is the form e-mails are stored, indexed and looked up in.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// CreateAccount stores a new workspace, its owner and its first key in one
// synced batch, assigning their IDs (ws.ID, u.ID, u.WorkspaceID,
// key.ID, key.WorkspaceID are overwritten). ErrConflict when the e-mail is taken.
func (db *DB) CreateAccount(ws Workspace, u User, key APIKey) (Workspace, User, APIKey, error) {
	u.Email = normalizeEmail(u.Email)
	if u.Email == "" {
		return Workspace{}, User{}, APIKey{}, fmt.Errorf("create account: %w: empty e-mail", ErrInvalid)
	}
	if err := checkWorkspaceKey(key); err != nil {
		return Workspace{}, User{}, APIKey{}, fmt.Errorf("create account: %w", err)
	}
	if err := db.acquire(); err != nil {
		return Workspace{}, User{}, APIKey{}, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()

	b := db.pdb.NewIndexedBatch()
	defer b.Close()
	err := db.createAccount(b, &ws, &u, &key)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return Workspace{}, User{}, APIKey{}, fmt.Errorf("create account: %w", err)
	}
	return ws, u, key, nil
}

func (db *DB) createAccount(b *pebble.Batch, ws *Workspace, u *User, key *APIKey) error {
	taken, err := has(b, userEmailKey(u.Email))
	if err != nil {
		return err
	}
	if taken {
		return fmt.Errorf("%w: e-mail already registered", ErrConflict)
	}
	if err := checkKeyHashFree(b, key.Hash); err != nil {
		return err
	}
	if ws.ID, err = nextID(b, seqWorkspace); err != nil {
		return err
	}
	if u.ID, err = nextID(b, seqUser); err != nil {
		return err
	}
	if key.ID, err = nextID(b, seqAPIKey); err != nil {
		return err
	}
	u.WorkspaceID = ws.ID
	key.WorkspaceID = ws.ID
	if err := setRecord(b, workspaceKey(ws.ID), ws); err != nil {
		return err
	}
	if err := setRecord(b, userKey(u.ID), u); err != nil {
		return err
	}
	if err := b.Set(userEmailKey(u.Email), encodeID(u.ID), nil); err != nil {
		return err
	}
	return putKey(b, *key)
}

// GetWorkspace returns a workspace; ErrNotFound when there is none.
func (db *DB) GetWorkspace(id int64) (Workspace, error) {
	if err := db.acquire(); err != nil {
		return Workspace{}, err
	}
	defer db.release()
	ws, err := getRecord[Workspace](db.pdb, workspaceKey(id))
	if err != nil {
		return Workspace{}, fmt.Errorf("workspace %d: %w", id, err)
	}
	return ws, nil
}

// GetUser returns a user; ErrNotFound when there is none.
func (db *DB) GetUser(id int64) (User, error) {
	if err := db.acquire(); err != nil {
		return User{}, err
	}
	defer db.release()
	u, err := getRecord[User](db.pdb, userKey(id))
	if err != nil {
		return User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// GetUserByEmail returns the user with that e-mail (case-insensitive,
// surrounding spaces ignored); ErrNotFound when there is none.
func (db *DB) GetUserByEmail(email string) (User, error) {
	email = normalizeEmail(email)
	if email == "" {
		return User{}, fmt.Errorf("user by e-mail: %w", ErrNotFound)
	}
	if err := db.acquire(); err != nil {
		return User{}, err
	}
	defer db.release()
	u, err := db.userByEmail(email)
	if err != nil {
		return User{}, fmt.Errorf("user by e-mail: %w", err)
	}
	return u, nil
}

func (db *DB) userByEmail(email string) (User, error) {
	v, err := get(db.pdb, userEmailKey(email))
	if err != nil {
		return User{}, err
	}
	id, err := decodeID(v)
	if err != nil {
		return User{}, err
	}
	u, err := getRecord[User](db.pdb, userKey(id))
	if errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("%w: e-mail index points to missing user %d", ErrCorrupt, id)
	}
	return u, err
}

// workspaceExists is ErrNotFound (wrapped) for an unknown workspace.
func workspaceExists(r pebble.Reader, ws int64) error {
	ok, err := has(r, workspaceKey(ws))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("workspace %d: %w", ws, ErrNotFound)
	}
	return nil
}
