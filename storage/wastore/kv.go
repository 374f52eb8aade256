package wastore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wa-gateway/wa-gateway/storage"
)

// kv is what the stores read and write through: the namespace itself, or
// the batch of the transaction the context carries.
type kv interface {
	Get(key []byte) ([]byte, error)
	Set(key, value []byte) error
	Delete(key []byte) error
	DeletePrefix(prefix []byte) error
	Scan(prefix []byte, reverse bool, fn func(key, value []byte) (bool, error)) error
}

// txnKey is the context key of a running transaction.
type txnKey struct{}

// txn is a transaction: an indexed batch of one Container, carried in the
// context so that every store call made with that context (whatsmeow passes
// it down through libsignal) reads and writes the same batch.
type txn struct {
	c *Container
	b *storage.Batch
}

// rw returns where a call with ctx reads and writes.
func (c *Container) rw(ctx context.Context) kv {
	if t, ok := ctx.Value(txnKey{}).(*txn); ok && t.c == c {
		return t.b
	}
	return c.ns
}

// inTxn runs fn in a transaction: the one ctx already carries, or a new one
// committed (synced, atomically) when fn succeeds and dropped when it fails.
func (c *Container) inTxn(ctx context.Context, fn func(ctx context.Context) error) error {
	if t, ok := ctx.Value(txnKey{}).(*txn); ok && t.c == c {
		return fn(ctx)
	}
	t := &txn{c: c, b: c.ns.NewBatch()}
	defer t.b.Close()
	if err := fn(context.WithValue(ctx, txnKey{}, t)); err != nil {
		return err
	}
	if err := t.b.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// get returns the value at key, or nil when there is none (whatsmeow's
// stores answer "not found" with nil, nil).
func (c *Container) get(ctx context.Context, key []byte) ([]byte, error) {
	v, err := c.rw(ctx).Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// recordVersion is the first byte of every JSON record stored here. A
// change old code cannot read bumps it; decodeRecord then learns to read
// the older version.
const recordVersion byte = 1

func encodeRecord(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return append([]byte{recordVersion}, data...), nil
}

func decodeRecord(data []byte, v any) error {
	if len(data) == 0 || data[0] != recordVersion {
		return fmt.Errorf("%w: %T record without schema version %d", ErrCorrupt, v, recordVersion)
	}
	if err := json.Unmarshal(data[1:], v); err != nil {
		return fmt.Errorf("%w: %T record: %v", ErrCorrupt, v, err)
	}
	return nil
}

// getRecord decodes the record at key into v; found is false when absent.
func (c *Container) getRecord(ctx context.Context, key []byte, v any) (found bool, err error) {
	data, err := c.get(ctx, key)
	if err != nil || data == nil {
		return false, err
	}
	return true, decodeRecord(data, v)
}

func (c *Container) putRecord(ctx context.Context, key []byte, v any) error {
	data, err := encodeRecord(v)
	if err != nil {
		return err
	}
	return c.rw(ctx).Set(key, data)
}
