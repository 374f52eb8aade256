package wastore

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/store"
)

// bufferRetention is how long a buffered event's hash is kept: WhatsApp's
// servers redeliver unacknowledged events for 14 days.
const bufferRetention = 14 * 24 * time.Hour

type bufferedEventRecord struct {
	Plaintext    []byte `json:"plaintext,omitempty"`
	HasPlaintext bool   `json:"has_plaintext"`
	ServerTime   int64  `json:"server_time"`    // unix seconds
	InsertTimeMS int64  `json:"insert_time_ms"` // unix milliseconds
}

// GetBufferedEvent implements store.EventBuffer: nil when the ciphertext
// was never decrypted; a nil Plaintext when it was and its event was
// handled (ClearBufferedEventPlaintext).
func (s *Store) GetBufferedEvent(ctx context.Context, hash [32]byte) (*store.BufferedEvent, error) {
	var rec bufferedEventRecord
	found, err := s.c.getRecord(ctx, eventBufferKey(s.id, hash), &rec)
	if err != nil || !found {
		return nil, wrapErr("get buffered event", err)
	}
	ev := &store.BufferedEvent{ServerTime: time.Unix(rec.ServerTime, 0), InsertTime: time.UnixMilli(rec.InsertTimeMS)}
	if rec.HasPlaintext {
		ev.Plaintext = rec.Plaintext
		if ev.Plaintext == nil {
			ev.Plaintext = []byte{}
		}
	}
	return ev, nil
}

// PutBufferedEvent implements store.EventBuffer.
func (s *Store) PutBufferedEvent(ctx context.Context, hash [32]byte, plaintext []byte, serverTime time.Time) error {
	rec := bufferedEventRecord{
		Plaintext: plaintext, HasPlaintext: plaintext != nil,
		ServerTime: serverTime.Unix(), InsertTimeMS: time.Now().UnixMilli(),
	}
	return wrapErr("put buffered event", s.c.putRecord(ctx, eventBufferKey(s.id, hash), &rec))
}

// DoDecryptionTxn implements store.EventBuffer: the Signal state that fn
// changes (session, consumed prekey, identity) and the buffered plaintext
// are committed together, synced, or not at all. Every store call fn makes
// with the context it is given joins the transaction.
func (s *Store) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	return s.c.inTxn(ctx, fn)
}

// ClearBufferedEventPlaintext implements store.EventBuffer: the hash stays,
// so a redelivery is recognised as already handled.
func (s *Store) ClearBufferedEventPlaintext(ctx context.Context, hash [32]byte) error {
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		var rec bufferedEventRecord
		found, err := s.c.getRecord(ctx, eventBufferKey(s.id, hash), &rec)
		if err != nil || !found {
			return err
		}
		rec.Plaintext, rec.HasPlaintext = nil, false
		return s.c.putRecord(ctx, eventBufferKey(s.id, hash), &rec)
	})
	return wrapErr("clear buffered event", err)
}

// DeleteOldBufferedHashes implements store.EventBuffer: entries older than
// WhatsApp's redelivery window go, atomically.
func (s *Store) DeleteOldBufferedHashes(ctx context.Context) error {
	cutoff := time.Now().Add(-bufferRetention).UnixMilli()
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		var old [][32]byte
		prefix := eventBufferPrefix(s.id)
		err := s.c.rw(ctx).Scan(prefix, false, func(k, v []byte) (bool, error) {
			var rec bufferedEventRecord
			if err := decodeRecord(v, &rec); err != nil {
				return false, err
			}
			if len(k)-len(prefix) != 32 {
				return false, fmt.Errorf("%w: buffered event key of %d bytes", ErrCorrupt, len(k))
			}
			if rec.InsertTimeMS < cutoff {
				old = append(old, [32]byte(k[len(prefix):]))
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, h := range old {
			if err := s.c.rw(ctx).Delete(eventBufferKey(s.id, h)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("delete old buffered events", err)
}
