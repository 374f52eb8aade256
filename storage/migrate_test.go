package storage

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2"
)

func TestMigrationsTable(t *testing.T) {
	for i, m := range migrations {
		if want := uint64(i + 2); m.to != want {
			t.Errorf("migrations[%d].to = %d, want %d", i, m.to, want)
		}
		if m.name == "" || m.apply == nil {
			t.Errorf("migrations[%d] needs a name and an apply func", i)
		}
	}
	last := uint64(1)
	if n := len(migrations); n > 0 {
		last = migrations[n-1].to
	}
	if last != formatVersion {
		t.Errorf("migrations end at format %d, formatVersion is %d", last, formatVersion)
	}
}

// testMigrations returns steps up to format 3 that record their order in
// *ran and leave a marker key; failAt makes that step fail.
func testMigrations(ran *[]uint64, failAt uint64) []migration {
	step := func(to uint64) migration {
		return migration{to: to, name: fmt.Sprintf("step %d", to), apply: func(r pebble.Reader, b *pebble.Batch) error {
			*ran = append(*ran, to)
			if to == failAt {
				return errors.New("step failed")
			}
			// A step sees the data of the format it starts from.
			if _, err := get(r, formatKey()); err != nil {
				return err
			}
			return b.Set(fmt.Appendf(nil, "test/%d", to), nil, nil)
		}}
	}
	return []migration{step(2), step(3)}
}

func formatOf(t *testing.T, db *DB) uint64 {
	t.Helper()
	v, err := get(db.pdb, formatKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := decodeUint64(v)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateRunsStepsInOrder(t *testing.T) {
	dir := t.TempDir()
	db := openTestDir(t, dir)
	ws, _, _ := testAccount(t, db, "migrate@example.com")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var ran []uint64
	db, err := open(dir, Options{Logger: testLogger(t)}, 3, testMigrations(&ran, 0))
	if err != nil {
		t.Fatalf("open with migrations: %v", err)
	}
	if want := []uint64{2, 3}; !reflect.DeepEqual(ran, want) {
		t.Errorf("steps ran %v, want %v", ran, want)
	}
	if got := formatOf(t, db); got != 3 {
		t.Errorf("format after migration = %d, want 3", got)
	}
	for _, k := range []string{"test/2", "test/3"} {
		if ok, err := has(db.pdb, []byte(k)); err != nil || !ok {
			t.Errorf("marker %s written: %v, %v", k, ok, err)
		}
	}
	if _, err := db.GetWorkspace(ws.ID); err != nil {
		t.Errorf("data lost in migration: %v", err)
	}
	// Opening again runs nothing.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	ran = nil
	db, err = open(dir, Options{}, 3, testMigrations(&ran, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 0 {
		t.Errorf("second open ran steps %v", ran)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// This build's Open knows only formatVersion.
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrFormatTooNew) {
		t.Errorf("Open after migrating to 3: err = %v, want ErrFormatTooNew", err)
	}
}

func TestMigrateResumesAfterFailedStep(t *testing.T) {
	dir := t.TempDir()
	db := openTestDir(t, dir)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	var ran []uint64
	if _, err := open(dir, Options{}, 3, testMigrations(&ran, 3)); err == nil {
		t.Fatal("open with a failing step succeeded")
	}
	ran = nil
	db, err := open(dir, Options{}, 3, testMigrations(&ran, 0))
	if err != nil {
		t.Fatalf("open after fixing the step: %v", err)
	}
	defer db.Close()
	if want := []uint64{3}; !reflect.DeepEqual(ran, want) {
		t.Errorf("resumed steps %v, want %v (step 2 had committed)", ran, want)
	}
	if got := formatOf(t, db); got != 3 {
		t.Errorf("format = %d, want 3", got)
	}
}

func TestMigrateMissingStep(t *testing.T) {
	dir := t.TempDir()
	db := openTestDir(t, dir)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var ran []uint64
	steps := testMigrations(&ran, 0)[1:] // no step to 2
	if _, err := open(dir, Options{}, 3, steps); err == nil {
		t.Fatal("open without a step to format 2 succeeded")
	}
	db = openTestDir(t, dir)
	if got := formatOf(t, db); got != formatVersion {
		t.Errorf("format after refused migration = %d, want %d", got, formatVersion)
	}
}
