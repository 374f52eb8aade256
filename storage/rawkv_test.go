package storage

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func testNamespace(t *testing.T, db *DB) *Namespace {
	t.Helper()
	ns, err := db.Namespace(prefixReservedWAStore)
	if err != nil {
		t.Fatalf("Namespace: %v", err)
	}
	return ns
}

func TestNamespaceRejectsUnreservedPrefixes(t *testing.T) {
	db, _ := openTestDB(t)
	for _, p := range []string{"", "w", "wa", "dv/", "es/", "wa/x", "zz/"} {
		if _, err := db.Namespace(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("Namespace(%q) = %v, want ErrInvalid", p, err)
		}
	}
}

func TestNamespaceRoundTripAndConfinement(t *testing.T) {
	db, dir := openTestDB(t)
	ns := testNamespace(t, db)
	ws, _, _ := testAccount(t, db, "ns@example.com")
	d, _ := testDevice(t, db, ws.ID, "neighbour")

	if _, err := ns.Get([]byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of absent key = %v, want ErrNotFound", err)
	}
	if err := ns.Set([]byte("k"), []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := ns.Set([]byte("k"), []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if v, err := ns.Get([]byte("k")); err != nil || string(v) != "v2" {
		t.Fatalf("Get = %q, %v; want v2", v, err)
	}
	// The key lives under the prefix, nowhere else.
	if v, err := get(db.pdb, []byte("wa/k")); err != nil || string(v) != "v2" {
		t.Fatalf("absolute key wa/k = %q, %v", v, err)
	}
	if _, err := get(db.pdb, []byte("k")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("relative key stored unprefixed: %v", err)
	}
	// Deleting the whole namespace leaves the rest of the database alone.
	if err := ns.DeletePrefix(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Get([]byte("k")); !errors.Is(err, ErrNotFound) {
		t.Errorf("after DeletePrefix(nil): %v", err)
	}
	if _, err := db.GetDevice(d.ID); err != nil {
		t.Errorf("device outside the namespace: %v", err)
	}

	// Synced writes survive a reopen.
	if err := ns.Set([]byte("kept"), []byte("yes")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDir(t, dir)
	if v, err := testNamespace(t, db).Get([]byte("kept")); err != nil || string(v) != "yes" {
		t.Errorf("after reopen: %q, %v", v, err)
	}
}

func TestNamespaceScanAndDeletePrefix(t *testing.T) {
	db, _ := openTestDB(t)
	ns := testNamespace(t, db)
	for _, k := range []string{"a/1", "a/2", "a/3", "ab/1", "b/1"} {
		if err := ns.Set([]byte(k), []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(prefix string, reverse bool, limit int) []string {
		t.Helper()
		var got []string
		err := ns.Scan([]byte(prefix), reverse, func(k, v []byte) (bool, error) {
			if string(v) != "v"+string(k) {
				t.Errorf("value of %q = %q", k, v)
			}
			got = append(got, string(k))
			return len(got) < limit, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		prefix  string
		reverse bool
		limit   int
		want    string
	}{
		{"a/", false, 10, "[a/1 a/2 a/3]"},
		{"a/", true, 10, "[a/3 a/2 a/1]"},
		{"a/", true, 1, "[a/3]"},
		{"a", false, 10, "[a/1 a/2 a/3 ab/1]"},
		{"", false, 10, "[a/1 a/2 a/3 ab/1 b/1]"},
		{"c", false, 10, "[]"},
	} {
		if got := fmt.Sprint(collect(tc.prefix, tc.reverse, tc.limit)); got != tc.want {
			t.Errorf("Scan(%q, reverse=%v, limit %d) = %s, want %s", tc.prefix, tc.reverse, tc.limit, got, tc.want)
		}
	}
	stop := errors.New("stop")
	if err := ns.Scan(nil, false, func(k, v []byte) (bool, error) { return true, stop }); !errors.Is(err, stop) {
		t.Errorf("Scan error from fn = %v", err)
	}

	if err := ns.DeletePrefix([]byte("a/")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(collect("", false, 10)); got != "[ab/1 b/1]" {
		t.Errorf("after DeletePrefix(a/): %s", got)
	}
	if err := ns.Delete([]byte("b/1")); err != nil {
		t.Fatal(err)
	}
	if err := ns.Delete([]byte("absent")); err != nil {
		t.Errorf("Delete of absent key: %v", err)
	}
	if got := fmt.Sprint(collect("", false, 10)); got != "[ab/1]" {
		t.Errorf("after Delete(b/1): %s", got)
	}
}

func TestNamespaceBatch(t *testing.T) {
	db, _ := openTestDB(t)
	ns := testNamespace(t, db)
	if err := ns.Set([]byte("old/1"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := ns.Set([]byte("old/2"), []byte("x")); err != nil {
		t.Fatal(err)
	}

	b := ns.NewBatch()
	if err := b.Set([]byte("new"), []byte("n")); err != nil {
		t.Fatal(err)
	}
	if err := b.DeletePrefix([]byte("old/")); err != nil {
		t.Fatal(err)
	}
	if err := b.Set([]byte("old/3"), []byte("y")); err != nil {
		t.Fatal(err)
	}
	// The batch reads its own writes over the committed data...
	if v, err := b.Get([]byte("new")); err != nil || string(v) != "n" {
		t.Errorf("batch Get(new) = %q, %v", v, err)
	}
	if _, err := b.Get([]byte("old/1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("batch Get(old/1) after its DeletePrefix = %v", err)
	}
	var seen [][]byte
	if err := b.Scan([]byte("old/"), false, func(k, _ []byte) (bool, error) {
		seen = append(seen, bytes.Clone(k))
		return true, nil
	}); err != nil || len(seen) != 1 || string(seen[0]) != "old/3" {
		t.Errorf("batch Scan = %q, %v", seen, err)
	}
	// ...and the database sees none of them before Commit.
	if _, err := ns.Get([]byte("new")); !errors.Is(err, ErrNotFound) {
		t.Errorf("uncommitted write visible: %v", err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, err := ns.Get([]byte("new")); err != nil || string(v) != "n" {
		t.Errorf("after Commit: %q, %v", v, err)
	}
	if _, err := ns.Get([]byte("old/1")); !errors.Is(err, ErrNotFound) {
		t.Errorf("range deletion not committed: %v", err)
	}
	if err := b.Set([]byte("late"), nil); !errors.Is(err, errBatchDone) {
		t.Errorf("Set after Commit = %v", err)
	}
	if err := b.Commit(); !errors.Is(err, errBatchDone) {
		t.Errorf("second Commit = %v", err)
	}
	b.Close() // after Commit: nothing to do

	// A closed batch is dropped.
	b = ns.NewBatch()
	if err := b.Set([]byte("dropped"), []byte("d")); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := ns.Get([]byte("dropped")); !errors.Is(err, ErrNotFound) {
		t.Errorf("closed batch was written: %v", err)
	}
	// An empty batch commits.
	if err := ns.NewBatch().Commit(); err != nil {
		t.Errorf("empty Commit: %v", err)
	}
}

func TestNamespaceAfterClose(t *testing.T) {
	db, _ := openTestDB(t)
	ns := testNamespace(t, db)
	b := ns.NewBatch()
	if err := b.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{
		"Get":          func() error { _, err := ns.Get([]byte("k")); return err }(),
		"Set":          ns.Set([]byte("k"), nil),
		"Delete":       ns.Delete([]byte("k")),
		"DeletePrefix": ns.DeletePrefix(nil),
		"Scan":         ns.Scan(nil, false, func(k, v []byte) (bool, error) { return true, nil }),
		"Batch.Get":    func() error { _, err := b.Get([]byte("k")); return err }(),
		"Batch.Scan":   b.Scan(nil, false, func(k, v []byte) (bool, error) { return true, nil }),
		"Batch.Commit": b.Commit(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	b.Close()
}
