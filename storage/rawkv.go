package storage

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// A Namespace is raw key-value access to one part of the keyspace that this
// package reserves for another package's own records (the "wa/" prefix for
// storage/wastore). Its owner builds, versions and documents the keys and
// values under it; this package only guarantees that they stay under the
// prefix, that writes are synced, and that nothing touches the database
// after Close.

// namespacePrefixes are the prefixes Namespace hands out.
var namespacePrefixes = []string{prefixReservedWAStore}

// Namespace is raw, synced key-value access under one reserved prefix.
// Keys given to and returned by its methods are relative to the prefix.
// Safe for concurrent use.
type Namespace struct {
	db     *DB
	prefix []byte
}

// Namespace returns raw access to the part of the keyspace under prefix,
// which must be one of the prefixes reserved for it ("wa/"); any other
// prefix wraps ErrInvalid.
func (db *DB) Namespace(prefix string) (*Namespace, error) {
	if !slices.Contains(namespacePrefixes, prefix) {
		return nil, fmt.Errorf("%w: %q is not a reserved namespace", ErrInvalid, prefix)
	}
	return &Namespace{db: db, prefix: []byte(prefix)}, nil
}

// full is the absolute key of a relative one.
func (n *Namespace) full(key []byte) []byte {
	return append(append(make([]byte, 0, len(n.prefix)+len(key)), n.prefix...), key...)
}

// bounds are the absolute bounds of a scan over the relative prefix (the
// whole namespace when prefix is empty).
func (n *Namespace) bounds(prefix []byte) (lower, upper []byte) {
	lower = n.full(prefix)
	return lower, prefixEnd(lower)
}

// Get returns a copy of the value stored at key; ErrNotFound when absent.
func (n *Namespace) Get(key []byte) ([]byte, error) {
	if err := n.db.acquire(); err != nil {
		return nil, err
	}
	defer n.db.release()
	return get(n.db.pdb, n.full(key))
}

// Set stores value at key, synced.
func (n *Namespace) Set(key, value []byte) error {
	if err := n.db.acquire(); err != nil {
		return err
	}
	defer n.db.release()
	return n.db.pdb.Set(n.full(key), value, pebble.Sync)
}

// Delete deletes key, synced; deleting an absent key is not an error.
func (n *Namespace) Delete(key []byte) error {
	if err := n.db.acquire(); err != nil {
		return err
	}
	defer n.db.release()
	return n.db.pdb.Delete(n.full(key), pebble.Sync)
}

// DeletePrefix deletes every key that starts with prefix (the whole
// namespace when prefix is empty), synced.
func (n *Namespace) DeletePrefix(prefix []byte) error {
	if err := n.db.acquire(); err != nil {
		return err
	}
	defer n.db.release()
	lower, upper := n.bounds(prefix)
	return n.db.pdb.DeleteRange(lower, upper, pebble.Sync)
}

// Scan calls fn for each key starting with prefix, in ascending order or,
// when reverse, descending, until fn returns false or an error. The key
// (relative) and value passed to fn are valid only during the call. The
// database cannot close during a scan, so fn must not wait for Close.
func (n *Namespace) Scan(prefix []byte, reverse bool, fn func(key, value []byte) (bool, error)) error {
	if err := n.db.acquire(); err != nil {
		return err
	}
	defer n.db.release()
	return n.scan(n.db.pdb, prefix, reverse, fn)
}

func (n *Namespace) scan(r pebble.Reader, prefix []byte, reverse bool, fn func(key, value []byte) (bool, error)) error {
	lower, upper := n.bounds(prefix)
	return scan(r, lower, upper, reverse, func(k, v []byte) (bool, error) {
		return fn(k[len(n.prefix):], v)
	})
}

// NewBatch starts an atomic group of writes under the namespace. Its reads
// see its own writes over what is committed. Commit or Close it.
func (n *Namespace) NewBatch() *Batch {
	return &Batch{ns: n, b: n.db.pdb.NewIndexedBatch()}
}

// Batch is an atomic group of writes in a Namespace, committed synced, all
// or nothing. Reads see the batch's writes over the committed data. A Batch
// is not safe for concurrent use.
type Batch struct {
	ns   *Namespace
	b    *pebble.Batch
	done bool
}

// errBatchDone is returned by a Batch used after Commit or Close.
var errBatchDone = errors.New("batch already committed or closed")

// Get returns a copy of the value at key as the batch sees it; ErrNotFound
// when absent.
func (b *Batch) Get(key []byte) ([]byte, error) {
	if b.done {
		return nil, errBatchDone
	}
	if err := b.ns.db.acquire(); err != nil {
		return nil, err
	}
	defer b.ns.db.release()
	return get(b.b, b.ns.full(key))
}

// Set stores value at key in the batch.
func (b *Batch) Set(key, value []byte) error {
	if b.done {
		return errBatchDone
	}
	return b.b.Set(b.ns.full(key), value, nil)
}

// Delete deletes key in the batch.
func (b *Batch) Delete(key []byte) error {
	if b.done {
		return errBatchDone
	}
	return b.b.Delete(b.ns.full(key), nil)
}

// DeletePrefix deletes every key starting with prefix in the batch.
func (b *Batch) DeletePrefix(prefix []byte) error {
	if b.done {
		return errBatchDone
	}
	lower, upper := b.ns.bounds(prefix)
	return b.b.DeleteRange(lower, upper, nil)
}

// Scan is Namespace.Scan as the batch sees the data.
func (b *Batch) Scan(prefix []byte, reverse bool, fn func(key, value []byte) (bool, error)) error {
	if b.done {
		return errBatchDone
	}
	if err := b.ns.db.acquire(); err != nil {
		return err
	}
	defer b.ns.db.release()
	return b.ns.scan(b.b, prefix, reverse, fn)
}

// Commit writes the batch, synced, and releases it. An empty batch
// commits nothing.
func (b *Batch) Commit() error {
	if b.done {
		return errBatchDone
	}
	if err := b.ns.db.acquire(); err != nil {
		return err
	}
	defer b.ns.db.release()
	b.done = true
	defer b.b.Close()
	if b.b.Empty() {
		return nil
	}
	return b.b.Commit(pebble.Sync)
}

// Close drops the batch's writes (if not committed) and releases it.
// Closing twice, or after Commit, does nothing.
func (b *Batch) Close() {
	if b.done {
		return
	}
	b.done = true
	_ = b.b.Close()
}
