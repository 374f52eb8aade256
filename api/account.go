package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// AccountSpec describes a new account: its owner and its workspace.
type AccountSpec struct {
	Name      string // the owner's name
	Email     string
	Password  string
	Workspace string // the workspace's name
}

// Account is a newly created account.
type Account struct {
	Workspace storage.Workspace
	User      storage.User
	Key       storage.APIKey // the workspace's first live key, as stored
	APIKey    string         // that key in full; it is not stored and cannot be shown again
}

// CreateAccount checks spec and stores a user, its workspace and the
// workspace's first live key in one write. It serves sign-up and the
// "workspace create" command alike. Invalid input and a taken e-mail are
// errors whose text can be shown to the person who typed it.
func CreateAccount(ctx context.Context, db *storage.DB, spec AccountSpec) (Account, error) {
	name, n := trimmedLen(spec.Name)
	if n == 0 || n > maxPersonName {
		return Account{}, validationError("name", fmt.Sprintf("name is required (1 to %d characters)", maxPersonName))
	}
	if strings.TrimSpace(spec.Email) == "" {
		return Account{}, validationError("email", "email is required")
	}
	email, err := auth.NormalizeEmail(spec.Email)
	if err != nil {
		return Account{}, validationError("email", "email must be a valid e-mail address")
	}
	if spec.Password == "" {
		return Account{}, validationError("password", "password is required")
	}
	if err := auth.ValidatePassword(spec.Password); err != nil {
		return Account{}, validationError("password", err.Error())
	}
	wsName, n := trimmedLen(spec.Workspace)
	if n == 0 || n > maxPersonName {
		return Account{}, validationError("workspace", fmt.Sprintf("workspace is required (1 to %d characters)", maxPersonName))
	}

	key, err := auth.NewWorkspaceKey(auth.KindLive)
	if err != nil {
		return Account{}, err
	}
	phc, err := auth.HashPassword(ctx, spec.Password)
	if err != nil {
		return Account{}, err
	}
	now := time.Now().UTC()
	ws, user, stored, err := db.CreateAccount(
		storage.Workspace{Name: wsName, CreatedAt: now},
		storage.User{Name: name, Email: email, PasswordHash: phc, Role: "owner", CreatedAt: now},
		storage.APIKey{Kind: storage.KeyLive, Name: "Default", Prefix: key.Prefix, Hash: key.Hash, CreatedAt: now},
	)
	if errors.Is(err, storage.ErrConflict) {
		return Account{}, errEmailTaken
	}
	if err != nil {
		return Account{}, fmt.Errorf("create account: %w", err)
	}
	return Account{Workspace: ws, User: user, Key: stored, APIKey: key.Secret}, nil
}
