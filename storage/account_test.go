package storage

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func TestCreateAccountRoundTrip(t *testing.T) {
	db, _ := openTestDB(t)
	ws, u, key, err := db.CreateAccount(
		Workspace{ID: 99, Name: "Acme", CreatedAt: testTime(0)},
		User{ID: 99, WorkspaceID: 99, Name: "Ann", Email: "  Ann@Example.COM ", PasswordHash: "h", Role: "owner", CreatedAt: testTime(0)},
		APIKey{ID: 99, WorkspaceID: 99, Kind: KeyLive, Name: "default", Prefix: "gw_live_abc", Hash: testHash("k"), CreatedAt: testTime(0)},
	)
	if err != nil {
		t.Fatal(err)
	}
	if ws.ID != 1 || u.ID != 1 || key.ID != 1 {
		t.Errorf("IDs = workspace %d, user %d, key %d; want 1, 1, 1", ws.ID, u.ID, key.ID)
	}
	if u.WorkspaceID != ws.ID || key.WorkspaceID != ws.ID {
		t.Errorf("user and key in workspace %d, %d; want %d", u.WorkspaceID, key.WorkspaceID, ws.ID)
	}
	if u.Email != "ann@example.com" {
		t.Errorf("stored e-mail %q, want it trimmed and lower-cased", u.Email)
	}

	gotWS, err := db.GetWorkspace(ws.ID)
	if err != nil || !reflect.DeepEqual(gotWS, ws) {
		t.Errorf("GetWorkspace = %+v, %v; want %+v", gotWS, err, ws)
	}
	gotUser, err := db.GetUser(u.ID)
	if err != nil || !reflect.DeepEqual(gotUser, u) {
		t.Errorf("GetUser = %+v, %v; want %+v", gotUser, err, u)
	}
	for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", " Ann@example.com"} {
		got, err := db.GetUserByEmail(email)
		if err != nil || !reflect.DeepEqual(got, u) {
			t.Errorf("GetUserByEmail(%q) = %+v, %v; want %+v", email, got, err, u)
		}
	}
	gotKey, err := db.GetKeyByHash(key.Hash)
	if err != nil || !reflect.DeepEqual(gotKey, key) {
		t.Errorf("GetKeyByHash = %+v, %v; want %+v", gotKey, err, key)
	}

	ws2, u2, key2 := testAccount(t, db, "bob@example.com")
	if ws2.ID != 2 || u2.ID != 2 || key2.ID != 2 {
		t.Errorf("second account IDs = %d, %d, %d; want 2, 2, 2", ws2.ID, u2.ID, key2.ID)
	}
}

func TestAccountNotFound(t *testing.T) {
	db, _ := openTestDB(t)
	testAccount(t, db, "a@example.com")
	for name, err := range map[string]error{
		"workspace": second(db.GetWorkspace(2)),
		"user":      second(db.GetUser(2)),
		"e-mail":    second(db.GetUserByEmail("b@example.com")),
		"no e-mail": second(db.GetUserByEmail("  ")),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestCreateAccountRejects(t *testing.T) {
	db, _ := openTestDB(t)
	_, _, taken := testAccount(t, db, "taken@example.com")
	for _, tc := range []struct {
		name  string
		email string
		key   APIKey
		want  error
	}{
		{"e-mail taken, other case", " TAKEN@example.com", APIKey{Kind: KeyLive, Hash: testHash("1")}, ErrConflict},
		{"key hash taken", "new@example.com", APIKey{Kind: KeyLive, Hash: taken.Hash}, ErrConflict},
		{"empty e-mail", " ", APIKey{Kind: KeyLive, Hash: testHash("2")}, ErrInvalid},
		{"device key", "new@example.com", APIKey{Kind: KeyDevice, Hash: testHash("3")}, ErrInvalid},
		{"no hash", "new@example.com", APIKey{Kind: KeyTest}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := db.CreateAccount(Workspace{Name: "x"}, User{Email: tc.email}, tc.key)
			if !errors.Is(err, tc.want) {
				t.Errorf("CreateAccount: %v, want %v", err, tc.want)
			}
		})
	}
	// Nothing of the refused accounts was stored, IDs included.
	ws, _, _ := testAccount(t, db, "new@example.com")
	if ws.ID != 2 {
		t.Errorf("next workspace ID = %d, want 2", ws.ID)
	}
}

func TestCreateAccountConcurrentSameEmail(t *testing.T) {
	db, _ := openTestDB(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, _, errs[i] = db.CreateAccount(Workspace{Name: "w"}, User{Email: "race@example.com"},
				APIKey{Kind: KeyLive, Hash: testHash(fmt.Sprint("race ", i))})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrConflict):
			t.Errorf("CreateAccount: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent creates succeeded, want 1", ok, n)
	}
}
