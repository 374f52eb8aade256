package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

// Options for Open.
type Options struct {
	Logger *slog.Logger
	// CacheSize for pebble's block cache in bytes (0: DefaultCacheSize).
	CacheSize int64
}

// DefaultCacheSize is the block cache of a store opened without a size:
// enough for the hot part of a busy gateway (the send queues, the indexes
// of recent messages), where pebble's own 8 MiB made every pump of a queue
// read its blocks from disk again.
const DefaultCacheSize = 64 << 20

// DB is the gateway's store. Safe for concurrent use.
type DB struct {
	pdb *pebble.DB

	// closeMu guards closed: every method holds it for reading while it
	// uses pdb, and Close for writing, because pebble panics when used after
	// Close. Methods never take it twice (a waiting Close would deadlock
	// them), so they call each other only through unexported helpers.
	closeMu sync.RWMutex
	closed  bool

	// catalogMu serialises writes of workspaces, users, keys and devices:
	// IDs are allocated, uniqueness is checked and the batch is committed
	// under it, so that two concurrent creates cannot both pass a check.
	catalogMu sync.Mutex

	// messageMu serialises PutMessage calls for the same message (striped
	// by id), which read the stored record to find stale index entries.
	messageMu [64]sync.Mutex

	// queue keeps queued messages decoded (queue_cache.go).
	queue *queueCache
}

// Open opens (creating if needed) the database in dir, checks/migrates the format version.
func Open(dir string, opts Options) (*DB, error) {
	return open(dir, opts, formatVersion, migrations)
}

// open is Open with the format version and migration steps as parameters,
// so that tests can exercise migrations beyond the current format.
func open(dir string, opts Options, target uint64, steps []migration) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	po := &pebble.Options{Logger: pebbleLogger{log: log.With("component", "pebble")}, CacheSize: DefaultCacheSize}
	if opts.CacheSize > 0 {
		po.CacheSize = opts.CacheSize
	}
	// Bloom filters (10 bits a key, about 1 % false positives) let a point
	// read skip the tables that do not hold its key; without them every
	// read of a message or a device visits each overlapping table.
	for i := range po.Levels {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if err := checkFormat(pdb, log, target, steps); err != nil {
		return nil, errors.Join(err, pdb.Close())
	}
	return &DB{pdb: pdb, queue: newQueueCache()}, nil
}

// Close flushes and closes the database. It waits for the calls in
// progress; later calls, and a second Close, return ErrClosed.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed {
		return ErrClosed
	}
	db.closed = true
	// Flushing the memtable makes unsynced writes (TouchKeys) durable and
	// spares the next Open a WAL replay.
	var flushErr error
	if err := db.pdb.Flush(); err != nil {
		flushErr = fmt.Errorf("flush: %w", err)
	}
	if err := db.pdb.Close(); err != nil {
		return errors.Join(flushErr, fmt.Errorf("close: %w", err))
	}
	return flushErr
}

// Ping reports whether the database is open and readable (for /readyz).
func (db *DB) Ping() error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if _, err := get(db.pdb, formatKey()); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// acquire makes sure the DB stays open until release; ErrClosed after Close.
func (db *DB) acquire() error {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (db *DB) release() { db.closeMu.RUnlock() }

// nextID allocates the next value of seq (IDs start at 1) and records it in
// b. The caller holds catalogMu until b is committed or dropped, and b is an
// indexed batch, so allocations see each other.
func nextID(b *pebble.Batch, seq sequence) (int64, error) {
	var last int64
	v, err := get(b, sequenceKey(seq))
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return 0, fmt.Errorf("read %s sequence: %w", seq, err)
	default:
		if last, err = decodeID(v); err != nil {
			return 0, fmt.Errorf("read %s sequence: %w", seq, err)
		}
	}
	if err := b.Set(sequenceKey(seq), encodeID(last+1), nil); err != nil {
		return 0, err
	}
	return last + 1, nil
}

// get returns a copy of the value stored at key; ErrNotFound when absent.
func get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	out := append([]byte{}, v...)
	return out, closer.Close()
}

// has reports whether key is stored.
func has(r pebble.Reader, key []byte) (bool, error) {
	_, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

// getRecord decodes the record stored at key; ErrNotFound when absent.
func getRecord[T any](r pebble.Reader, key []byte) (T, error) {
	var rec T
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, err
	}
	defer closer.Close()
	err = decodeRecord(v, &rec)
	return rec, err
}

// setRecord encodes rec into b at key.
func setRecord(b *pebble.Batch, key []byte, rec any) error {
	v, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	return b.Set(key, v, nil)
}

// scan calls fn for each key in [lower, upper), ascending or, when reverse,
// descending, until fn returns false or an error. k and v are valid only
// during the call.
func scan(r pebble.Reader, lower, upper []byte, reverse bool, fn func(k, v []byte) (bool, error)) (err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, it.Close()) }()
	step, valid := it.Next, it.First()
	if reverse {
		step, valid = it.Prev, it.Last()
	}
	for ; valid; valid = step() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		more, err := fn(it.Key(), v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// scanPrefix is scan over every key that starts with prefix.
func scanPrefix(r pebble.Reader, prefix []byte, reverse bool, fn func(k, v []byte) (bool, error)) error {
	return scan(r, prefix, prefixEnd(prefix), reverse, fn)
}

// pebbleLogger adapts slog to pebble's Logger; pebble's routine chatter
// (flushes, compactions, WAL recycling) goes to debug.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error(fmt.Sprintf(format, args...))
}

// Fatalf is called on a broken invariant; pebble must not continue, and a
// panic (unlike os.Exit) leaves a stack trace and runs deferred cleanup.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.log.Error(msg)
	panic("pebble: " + msg)
}

var _ pebble.Logger = pebbleLogger{}
