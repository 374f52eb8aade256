package sim

import (
	"encoding/json"
	"fmt"
	"sync"
)

// Store keeps each device's pairing, the simulator's equivalent of a real
// client's key store. The gateway backs it with its database. A Store must
// be safe for concurrent use: sessions of different devices call it from
// their own goroutines. Values are small opaque blobs; the Store must not
// keep or modify the slices it is given or returns after the call.
type Store interface {
	// Get returns what is stored for the device, or nil and no error when
	// nothing is.
	Get(deviceID int64) ([]byte, error)
	// Put stores v for the device, replacing what was there. The pairing
	// must survive a restart, so a database Put should be durable.
	Put(deviceID int64, v []byte) error
	// Delete removes what is stored for the device. Deleting nothing is not
	// an error.
	Delete(deviceID int64) error
}

// MemoryStore is a Store in memory, for tests and for running without a
// database: pairings last as long as the process. Safe for concurrent use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[int64][]byte
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: make(map[int64][]byte)}
}

// Get implements Store.
func (s *MemoryStore) Get(deviceID int64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[deviceID]
	if !ok {
		return nil, nil
	}
	return append([]byte(nil), v...), nil
}

// Put implements Store.
func (s *MemoryStore) Put(deviceID int64, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[deviceID] = append([]byte(nil), v...)
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(deviceID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, deviceID)
	return nil
}

// pairingVersion is written in every stored pairing so that a later format
// can tell old blobs apart.
const pairingVersion = 1

// pairing is what a session stores: who the device is logged in as and,
// for Engine.SentIDs, the ids of the messages its contacts received.
type pairing struct {
	Version  int    `json:"v"`
	Paired   bool   `json:"paired"`
	Phone    string `json:"phone"`
	LID      string `json:"lid,omitempty"`
	PushName string `json:"pushName"`
	// Sent holds the WhatsApp ids of the messages sent, each once, oldest
	// first, at most Config.KeepSentIDs.
	Sent []string `json:"sent,omitempty"`
}

// loadPairing reads a device's pairing; the zero pairing when none is stored.
func loadPairing(s Store, deviceID int64) (pairing, error) {
	b, err := s.Get(deviceID)
	if err != nil {
		return pairing{}, fmt.Errorf("load pairing of device %d: %w", deviceID, err)
	}
	if len(b) == 0 {
		return pairing{}, nil
	}
	var p pairing
	if err := json.Unmarshal(b, &p); err != nil {
		return pairing{}, fmt.Errorf("device %d: %w: %v", deviceID, ErrBadState, err)
	}
	if p.Version != pairingVersion || (p.Paired && p.Phone == "") {
		return pairing{}, fmt.Errorf("device %d: %w: version %d, paired %v", deviceID, ErrBadState, p.Version, p.Paired)
	}
	return p, nil
}

func savePairing(s Store, deviceID int64, p pairing) error {
	p.Version = pairingVersion
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode pairing of device %d: %w", deviceID, err)
	}
	if err := s.Put(deviceID, b); err != nil {
		return fmt.Errorf("save pairing of device %d: %w", deviceID, err)
	}
	return nil
}
