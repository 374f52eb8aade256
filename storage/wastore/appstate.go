package wastore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"go.mau.fi/whatsmeow/store"
)

// ---- AppStateSyncKeyStore

type appStateKeyRecord struct {
	Data        []byte `json:"data"`
	Timestamp   int64  `json:"timestamp"`
	Fingerprint []byte `json:"fingerprint"`
}

// PutAppStateSyncKey implements store.AppStateSyncKeyStore: a key already
// stored is replaced only by a newer one (by timestamp), as in the SQL store.
func (s *Store) PutAppStateSyncKey(ctx context.Context, id []byte, key store.AppStateSyncKey) error {
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		var old appStateKeyRecord
		found, err := s.c.getRecord(ctx, appStateKeyKey(s.id, id), &old)
		if err != nil || (found && old.Timestamp >= key.Timestamp) {
			return err
		}
		return s.c.putRecord(ctx, appStateKeyKey(s.id, id), appStateKeyRecord{
			Data: key.Data, Timestamp: key.Timestamp, Fingerprint: key.Fingerprint,
		})
	})
	return wrapErr("put app state sync key", err)
}

// GetAppStateSyncKey implements store.AppStateSyncKeyStore.
func (s *Store) GetAppStateSyncKey(ctx context.Context, id []byte) (*store.AppStateSyncKey, error) {
	var rec appStateKeyRecord
	found, err := s.c.getRecord(ctx, appStateKeyKey(s.id, id), &rec)
	if err != nil || !found {
		return nil, wrapErr("get app state sync key", err)
	}
	return &store.AppStateSyncKey{Data: rec.Data, Timestamp: rec.Timestamp, Fingerprint: rec.Fingerprint}, nil
}

// GetLatestAppStateSyncKeyID implements store.AppStateSyncKeyStore: the id
// of the key with the latest timestamp; nil when there is none.
func (s *Store) GetLatestAppStateSyncKeyID(ctx context.Context) ([]byte, error) {
	var (
		best   []byte
		bestTS int64
	)
	prefix := appStateKeysPrefix(s.id)
	err := s.c.rw(ctx).Scan(prefix, false, func(k, v []byte) (bool, error) {
		var rec appStateKeyRecord
		if err := decodeRecord(v, &rec); err != nil {
			return false, err
		}
		if best == nil || rec.Timestamp > bestTS {
			best, bestTS = bytes.Clone(k[len(prefix):]), rec.Timestamp
		}
		return true, nil
	})
	return best, wrapErr("get latest app state sync key", err)
}

// ---- AppStateStore: a version is its number (8 bytes) and hash (128);
// a mutation MAC is keyed by collection, index MAC and version.

// PutAppStateVersion implements store.AppStateStore.
func (s *Store) PutAppStateVersion(ctx context.Context, name string, version uint64, hash [128]byte) error {
	v := append(binary.BigEndian.AppendUint64(make([]byte, 0, 136), version), hash[:]...)
	return wrapErr("put app state version", s.c.rw(ctx).Set(appStateVersionKey(s.id, name), v))
}

// GetAppStateVersion implements store.AppStateStore: version 0 and a zero
// hash for a collection never synced.
func (s *Store) GetAppStateVersion(ctx context.Context, name string) (version uint64, hash [128]byte, err error) {
	v, err := s.c.get(ctx, appStateVersionKey(s.id, name))
	switch {
	case err != nil:
		return 0, hash, fmt.Errorf("get app state version: %w", err)
	case v == nil:
		return 0, hash, nil
	case len(v) != 136:
		return 0, hash, fmt.Errorf("%w: app state version of %d bytes", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), [128]byte(v[8:]), nil
}

// DeleteAppStateVersion implements store.AppStateStore; the collection's
// mutation MACs go with it (the SQL schema cascades).
func (s *Store) DeleteAppStateVersion(ctx context.Context, name string) error {
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		if err := s.c.rw(ctx).Delete(appStateVersionKey(s.id, name)); err != nil {
			return err
		}
		return s.c.rw(ctx).DeletePrefix(appStateMACsPrefix(s.id, name))
	})
	return wrapErr("delete app state version", err)
}

// PutAppStateMutationMACs implements store.AppStateStore, atomically.
func (s *Store) PutAppStateMutationMACs(ctx context.Context, name string, version uint64, mutations []store.AppStateMutationMAC) error {
	if len(mutations) == 0 {
		return nil
	}
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		for _, m := range mutations {
			if err := s.c.rw(ctx).Set(appStateMACKey(s.id, name, m.IndexMAC, version), m.ValueMAC); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("put app state mutation MACs", err)
}

// DeleteAppStateMutationMACs implements store.AppStateStore: every version
// of each index MAC, atomically.
func (s *Store) DeleteAppStateMutationMACs(ctx context.Context, name string, indexMACs [][]byte) error {
	if len(indexMACs) == 0 {
		return nil
	}
	err := s.c.inTxn(ctx, func(ctx context.Context) error {
		for _, im := range indexMACs {
			if err := s.c.rw(ctx).DeletePrefix(appStateMACIndexPrefix(s.id, name, im)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("delete app state mutation MACs", err)
}

// GetAppStateMutationMAC implements store.AppStateStore: the value MAC of
// the highest version of the index MAC; nil when there is none.
func (s *Store) GetAppStateMutationMAC(ctx context.Context, name string, indexMAC []byte) (valueMAC []byte, err error) {
	prefix := appStateMACIndexPrefix(s.id, name, indexMAC)
	err = s.c.rw(ctx).Scan(prefix, true, func(_, v []byte) (bool, error) {
		valueMAC = bytes.Clone(v)
		return false, nil
	})
	return valueMAC, wrapErr("get app state mutation MAC", err)
}
