package storage

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/cockroachdb/pebble/v2"
)

// formatVersion is the on-disk format this build reads and writes. It is
// stored under keyFormat when a database is created; a change that needs
// existing data rewritten bumps it and appends a step to migrations.
const formatVersion uint64 = 1

// migration upgrades a database from format to-1 to format to.
type migration struct {
	to   uint64
	name string
	// apply reads the old format from r and writes the changes into b,
	// which is committed (synced) together with the new format version.
	apply func(r pebble.Reader, b *pebble.Batch) error
}

// migrations are the upgrade steps in order: migrations[i].to == i+2.
var migrations []migration

// checkFormat writes the format version of a new database, refuses one
// written by a newer build and migrates an older one to target.
func checkFormat(pdb *pebble.DB, log *slog.Logger, target uint64, steps []migration) error {
	v, err := get(pdb, formatKey())
	if errors.Is(err, ErrNotFound) {
		return initFormat(pdb, target)
	}
	if err != nil {
		return fmt.Errorf("read format version: %w", err)
	}
	current, err := decodeUint64(v)
	if err != nil {
		return fmt.Errorf("read format version: %w", err)
	}
	switch {
	case current > target:
		return fmt.Errorf("%w: database has format %d, this build knows up to %d", ErrFormatTooNew, current, target)
	case current < target:
		return migrate(pdb, log, current, target, steps)
	}
	return nil
}

// initFormat stamps an empty database with the format version. A database
// with data but no version was not written by this package.
func initFormat(pdb *pebble.DB, version uint64) error {
	empty := true
	err := scan(pdb, nil, nil, false, func(_, _ []byte) (bool, error) {
		empty = false
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("check new database: %w", err)
	}
	if !empty {
		return fmt.Errorf("%w: database has data but no format version", ErrCorrupt)
	}
	if err := pdb.Set(formatKey(), encodeUint64(version), pebble.Sync); err != nil {
		return fmt.Errorf("write format version: %w", err)
	}
	return nil
}

// migrate applies steps from format from+1 up to to, each in its own
// synced batch with its new version, so an interrupted upgrade resumes at
// the first step that did not commit.
func migrate(pdb *pebble.DB, log *slog.Logger, from, to uint64, steps []migration) error {
	for v := from + 1; v <= to; v++ {
		step, ok := findMigration(steps, v)
		if !ok {
			return fmt.Errorf("no migration from format %d to %d", v-1, v)
		}
		if err := applyMigration(pdb, step); err != nil {
			return fmt.Errorf("migrate to format %d (%s): %w", v, step.name, err)
		}
		log.Info("storage migrated", "format", v, "step", step.name)
	}
	return nil
}

func findMigration(steps []migration, to uint64) (migration, bool) {
	for _, m := range steps {
		if m.to == to {
			return m, true
		}
	}
	return migration{}, false
}

func applyMigration(pdb *pebble.DB, step migration) error {
	b := pdb.NewBatch()
	defer b.Close()
	if err := step.apply(pdb, b); err != nil {
		return err
	}
	if err := b.Set(formatKey(), encodeUint64(step.to), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}
