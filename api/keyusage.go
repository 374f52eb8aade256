package api

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

// keyUsageFlushInterval bounds how stale a stored lastUsedAt may be. A write
// per request would double the store's work on the hottest path for a
// number people read in minutes.
const keyUsageFlushInterval = 60 * time.Second

// keyUsage coalesces API keys' last-used times in memory and writes them to
// the store at most once per interval, and once more on shutdown. Safe for
// concurrent use.
type keyUsage struct {
	db  *storage.DB
	log *slog.Logger

	mu      sync.Mutex
	pending map[int64]time.Time

	stop chan struct{}
	done chan struct{}
}

func newKeyUsage(db *storage.DB, log *slog.Logger) *keyUsage {
	return &keyUsage{
		db:      db,
		log:     log,
		pending: make(map[int64]time.Time),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// touch records a use of key id at t.
func (u *keyUsage) touch(id int64, t time.Time) {
	u.mu.Lock()
	if t.After(u.pending[id]) {
		u.pending[id] = t
	}
	u.mu.Unlock()
}

// forget drops a deleted or replaced key, so that no write resurrects it.
func (u *keyUsage) forget(id int64) {
	u.mu.Lock()
	delete(u.pending, id)
	u.mu.Unlock()
}

// lastUsed is the later of stored and a pending use of key id.
func (u *keyUsage) lastUsed(id int64, stored time.Time) time.Time {
	u.mu.Lock()
	t := u.pending[id]
	u.mu.Unlock()
	if t.After(stored) {
		return t
	}
	return stored
}

// flush writes the pending times. On failure they are kept for the next
// attempt unless newer uses replaced them.
func (u *keyUsage) flush() error {
	u.mu.Lock()
	batch := u.pending
	u.pending = make(map[int64]time.Time, len(batch))
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := u.db.TouchKeys(batch); err != nil {
		u.mu.Lock()
		for id, t := range batch {
			if t.After(u.pending[id]) {
				u.pending[id] = t
			}
		}
		u.mu.Unlock()
		return fmt.Errorf("record key use: %w", err)
	}
	return nil
}

// run flushes every interval until close is called.
func (u *keyUsage) run(interval time.Duration) {
	defer close(u.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := u.flush(); err != nil {
				u.log.Warn("key usage flush failed", "err", err)
			}
		case <-u.stop:
			return
		}
	}
}

// close stops run and writes what is pending.
func (u *keyUsage) close() error {
	close(u.stop)
	<-u.done
	return u.flush()
}
