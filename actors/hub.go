package actors

import (
	"errors"
	"slices"
	"sync"

	"github.com/wa-gateway/wa-gateway/storage"
)

// subscriberBuffer is how many events a subscriber may fall behind before it
// is cut off. A cut-off subscriber resumes from the event log by seq.
const subscriberBuffer = 1024

// Reasons a subscription ends.
var (
	ErrSlowSubscriber = errors.New("subscriber fell behind")
	ErrClosed         = errors.New("subscription closed")
)

// hub fans events out to live subscribers. Publish never blocks: a
// subscriber whose buffer is full is cut off instead of slowing the others.
type hub struct {
	mu   sync.RWMutex
	subs map[int64]map[*Subscription]struct{} // by workspace
	done bool
}

func newHub() *hub { return &hub{subs: make(map[int64]map[*Subscription]struct{})} }

// Subscription receives live events. C is closed when the subscription ends:
// Close was called, the subscriber fell behind, or the gateway stopped; Err
// then says which.
type Subscription struct {
	C <-chan storage.Event

	c      chan storage.Event
	ws     int64
	filter SubscribeFilter
	hub    *hub

	mu  sync.Mutex
	err error
}

// SubscribeFilter selects events for a subscription.
type SubscribeFilter struct {
	DeviceID int64    // 0: all devices
	Types    []string // empty: all types
}

func (f SubscribeFilter) match(e storage.Event) bool {
	if f.DeviceID != 0 && e.DeviceID != f.DeviceID {
		return false
	}
	return len(f.Types) == 0 || slices.Contains(f.Types, e.Type)
}

// Err tells why C was closed (nil while open).
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription. Safe to call more than once.
func (s *Subscription) Close() { s.hub.remove(s, ErrClosed) }

func (h *hub) subscribe(ws int64, f SubscribeFilter) *Subscription {
	c := make(chan storage.Event, subscriberBuffer)
	s := &Subscription{C: c, c: c, ws: ws, filter: f, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		s.err = ErrStopped
		close(c)
		return s
	}
	set := h.subs[ws]
	if set == nil {
		set = make(map[*Subscription]struct{})
		h.subs[ws] = set
	}
	set[s] = struct{}{}
	return s
}

func (h *hub) publish(ws int64, evs []storage.Event) {
	var slow []*Subscription
	h.mu.RLock()
	for s := range h.subs[ws] {
		if !s.offer(evs) {
			slow = append(slow, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range slow {
		h.remove(s, ErrSlowSubscriber)
	}
}

// offer queues the matching events without blocking; false when the buffer
// is full. Called with the hub's read lock held, so c cannot be closed meanwhile.
func (s *Subscription) offer(evs []storage.Event) bool {
	for _, e := range evs {
		if !s.filter.match(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			return false
		}
	}
	return true
}

func (h *hub) remove(s *Subscription, why error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set, ok := h.subs[s.ws]
	if !ok {
		return
	}
	if _, ok := set[s]; !ok {
		return
	}
	delete(set, s)
	if len(set) == 0 {
		delete(h.subs, s.ws)
	}
	s.mu.Lock()
	s.err = why
	s.mu.Unlock()
	close(s.c)
}

// close ends every subscription (the gateway is stopping).
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.done = true
	for ws, set := range h.subs {
		for s := range set {
			s.mu.Lock()
			s.err = ErrStopped
			s.mu.Unlock()
			close(s.c)
		}
		delete(h.subs, ws)
	}
}
