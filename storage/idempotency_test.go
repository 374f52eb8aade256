package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func idemRecord(ws int64, key, fingerprint string, now time.Time) IdempotencyRecord {
	return IdempotencyRecord{WorkspaceID: ws, Key: key, Fingerprint: fingerprint, MessageID: NewMessageID(),
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}
}

// TestIdempotencyKeyLifecycle: reserved once, answered, found again until
// it expires, then free to reserve anew; a released key is free at once.
func TestIdempotencyKeyLifecycle(t *testing.T) {
	db, dir := openTestDB(t)
	ws, _, _ := testAccount(t, db, "idem@example.com")
	now := testTime(0)

	first := idemRecord(ws.ID, "order-1", "fp", now)
	got, reserved, err := db.ReserveIdempotencyKey(first, now)
	if err != nil || !reserved || !got.Pending() || got.MessageID != first.MessageID {
		t.Fatalf("first reserve = %+v, %v, %v", got, reserved, err)
	}
	again, reserved, err := db.ReserveIdempotencyKey(idemRecord(ws.ID, "order-1", "other", now), now.Add(time.Minute))
	if err != nil || reserved || again.MessageID != first.MessageID || again.Fingerprint != "fp" {
		t.Fatalf("second reserve = %+v, %v, %v; want the first record", again, reserved, err)
	}
	if err := db.CompleteIdempotencyKey(ws.ID, "order-1", "wrong", 3, 202, []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Errorf("complete with another fingerprint: %v, want ErrNotFound", err)
	}
	if err := db.CompleteIdempotencyKey(ws.ID, "order-1", "fp", 3, 202, []byte(`{"success":true}`)); err != nil {
		t.Fatal(err)
	}

	// Durable: a reopened store answers the same.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDir(t, dir)
	rec, err := db.GetIdempotencyKey(ws.ID, "order-1", now.Add(23*time.Hour))
	if err != nil || rec.Pending() || rec.Status != 202 || string(rec.Body) != `{"success":true}` || rec.DeviceID != 3 {
		t.Fatalf("answer = %+v, %v", rec, err)
	}
	// Another workspace's key of the same name is another key.
	other, _, _ := testAccount(t, db, "other@example.com")
	if _, reserved, err := db.ReserveIdempotencyKey(idemRecord(other.ID, "order-1", "fp", now), now); err != nil || !reserved {
		t.Errorf("other workspace: %v, %v", reserved, err)
	}

	// Expired: gone for readers, free for a new request.
	later := now.Add(24 * time.Hour)
	if _, err := db.GetIdempotencyKey(ws.ID, "order-1", later); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired get: %v, want ErrNotFound", err)
	}
	fresh := idemRecord(ws.ID, "order-1", "new", later)
	if got, reserved, err := db.ReserveIdempotencyKey(fresh, later); err != nil || !reserved || got.MessageID != fresh.MessageID {
		t.Errorf("reserve after expiry = %+v, %v, %v", got, reserved, err)
	}
	// Released: free at once.
	if err := db.ReleaseIdempotencyKey(ws.ID, "order-1", "new"); err != nil {
		t.Fatal(err)
	}
	if _, reserved, err := db.ReserveIdempotencyKey(idemRecord(ws.ID, "order-1", "newer", later), later); err != nil || !reserved {
		t.Errorf("reserve after release: %v, %v", reserved, err)
	}
}

func TestReserveIdempotencyKeyRefusesInvalid(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "bad@example.com")
	now := testTime(0)
	for name, rec := range map[string]IdempotencyRecord{
		"no workspace":   idemRecord(0, "k", "fp", now),
		"empty key":      idemRecord(ws.ID, "", "fp", now),
		"key too long":   idemRecord(ws.ID, strings.Repeat("k", MaxIdempotencyKeyLen+1), "fp", now),
		"no fingerprint": idemRecord(ws.ID, "k", "", now),
		"expired":        {WorkspaceID: ws.ID, Key: "k", Fingerprint: "fp", ExpiresAt: now},
	} {
		if _, _, err := db.ReserveIdempotencyKey(rec, now); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := db.CompleteIdempotencyKey(ws.ID, "k", "fp", 1, 0, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("complete with status 0: %v, want ErrInvalid", err)
	}
	if _, reserved, err := db.ReserveIdempotencyKey(idemRecord(ws.ID, strings.Repeat("k", MaxIdempotencyKeyLen), "fp", now), now); err != nil || !reserved {
		t.Errorf("key of the longest length: %v, %v", reserved, err)
	}
}

// TestReserveIdempotencyKeyOnce: of many concurrent reservations of one
// key, exactly one wins.
func TestReserveIdempotencyKeyOnce(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "race@example.com")
	now := testTime(0)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins []string
	)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := idemRecord(ws.ID, "same", fmt.Sprint("fp", i), now)
			got, reserved, err := db.ReserveIdempotencyKey(rec, now)
			if err != nil {
				t.Error(err)
				return
			}
			if reserved {
				mu.Lock()
				wins = append(wins, got.Fingerprint)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(wins) != 1 {
		t.Fatalf("%d reservations won, want 1: %v", len(wins), wins)
	}
	rec, err := db.GetIdempotencyKey(ws.ID, "same", now)
	if err != nil || rec.Fingerprint != wins[0] {
		t.Errorf("stored %+v, %v; want the winner %s", rec, err, wins[0])
	}
}

// TestDeleteExpiredIdempotencyKeys: the sweep deletes what expired, in
// batches, and nothing else.
func TestDeleteExpiredIdempotencyKeys(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "sweep@example.com")
	base := testTime(0)
	for i := range 5 {
		at := base.Add(time.Duration(i) * time.Hour)
		if _, _, err := db.ReserveIdempotencyKey(idemRecord(ws.ID, fmt.Sprint("k", i), "fp", at), at); err != nil {
			t.Fatal(err)
		}
	}
	// At base+26h30m, k0, k1 and k2 (created at +0h, +1h, +2h) have expired.
	now := base.Add(26*time.Hour + 30*time.Minute)
	n, err := db.DeleteExpiredIdempotencyKeys(now, 2)
	if err != nil || n != 2 {
		t.Fatalf("first sweep = %d, %v; want 2", n, err)
	}
	n, err = db.DeleteExpiredIdempotencyKeys(now, 2)
	if err != nil || n != 1 {
		t.Fatalf("second sweep = %d, %v; want 1", n, err)
	}
	if n, err := db.DeleteExpiredIdempotencyKeys(now, 2); err != nil || n != 0 {
		t.Fatalf("third sweep = %d, %v; want 0", n, err)
	}
	for i := range 5 {
		_, err := db.GetIdempotencyKey(ws.ID, fmt.Sprint("k", i), base)
		if gone := errors.Is(err, ErrNotFound); gone != (i < 3) {
			t.Errorf("k%d: %v, want gone=%v", i, err, i < 3)
		}
	}
}
