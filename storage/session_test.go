package storage

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestSessionRoundTrip(t *testing.T) {
	db, _ := openTestDB(t)
	s := Session{Hash: testHash("token"), UserID: 1, WorkspaceID: 1, CreatedAt: testTime(0), ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := db.PutSession(s); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetSession(s.Hash)
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("GetSession = %+v, %v; want %+v", got, err, s)
	}
	if err := db.DeleteSession(s.Hash); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetSession(s.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetSession after delete: %v, want ErrNotFound", err)
	}
	if err := db.DeleteSession(s.Hash); err != nil {
		t.Errorf("deleting a missing session: %v", err)
	}
	if err := db.PutSession(Session{UserID: 1}); !errors.Is(err, ErrInvalid) {
		t.Errorf("PutSession without hash: %v, want ErrInvalid", err)
	}
}

func TestSessionExpired(t *testing.T) {
	db, _ := openTestDB(t)
	s := Session{Hash: testHash("old"), UserID: 1, WorkspaceID: 1, CreatedAt: testTime(0), ExpiresAt: time.Now().Add(-time.Second)}
	if err := db.PutSession(s); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetSession(s.Hash); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetSession of an expired session: %v, want ErrNotFound", err)
	}
	// ...and it was deleted on the way.
	if ok, err := has(db.pdb, sessionKey(s.Hash)); err != nil || ok {
		t.Errorf("expired session still stored: %v, %v", ok, err)
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	db, _ := openTestDB(t)
	now := testTime(100)
	for _, s := range []Session{
		{Hash: testHash("a"), ExpiresAt: now.Add(-time.Minute)},
		{Hash: testHash("b"), ExpiresAt: now},
		{Hash: testHash("c"), ExpiresAt: now.Add(time.Minute)},
	} {
		if err := db.PutSession(s); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.DeleteExpiredSessions(now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 2", n, err)
	}
	for name, want := range map[string]bool{"a": false, "b": false, "c": true} {
		if ok, err := has(db.pdb, sessionKey(testHash(name))); err != nil || ok != want {
			t.Errorf("session %s stored = %v, %v; want %v", name, ok, err, want)
		}
	}
}
