package storage

import (
	"slices"
	"sync"
)

// queueCache keeps the queued messages decoded, by id. A device actor reads
// its queue before every send (up to 64 messages, QueuedMessages) and
// reads a message again each time it stores it (putMessage, to drop stale
// index entries); decoding the same records over and over was most of a
// loaded gateway's CPU. The store stays the truth: the queue index says
// what is queued, the cache only spares the decoding.
//
// It holds queued messages only: putMessage writes a message through after
// its batch committed, or drops it once it is no longer queued, under the
// message's lock, so the cache follows the commits. QueuedMessages fills
// it on a miss only if no message of the device was stored since it began
// reading (the device's epoch), so a read from an older snapshot never
// lands over a newer write. Entries are copies, and handed out as copies,
// so no caller shares a nested field with another.
type queueCache struct {
	mu     sync.Mutex
	byID   map[string]Message
	epochs map[int64]uint64 // per device, bumped on every write of one of its messages
}

// maxQueueCache bounds the cache (about a kilobyte a message): beyond it,
// messages are decoded as they are read.
const maxQueueCache = 50_000

func newQueueCache() *queueCache {
	return &queueCache{byID: make(map[string]Message), epochs: make(map[int64]uint64)}
}

// get returns a copy of a cached message.
func (c *queueCache) get(id string) (Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.byID[id]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// epoch is the device's write count, to pass to fill.
func (c *queueCache) epoch(device int64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epochs[device]
}

// fill caches a queued message read from the store, unless a message of
// its device was stored since epoch was taken, or it is cached already.
func (c *queueCache) fill(m Message, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epochs[m.DeviceID] != epoch || len(c.byID) >= maxQueueCache {
		return
	}
	if _, ok := c.byID[m.ID]; !ok {
		c.byID[m.ID] = m.clone()
	}
}

// stored follows a committed write of m (which replaced old, when old is
// not nil): a queued message is cached, any other dropped.
func (c *queueCache) stored(m Message, old *Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epochs[m.DeviceID]++
	if old != nil && old.DeviceID != m.DeviceID {
		c.epochs[old.DeviceID]++
	}
	if m.Status != statusQueued {
		delete(c.byID, m.ID)
		return
	}
	if _, ok := c.byID[m.ID]; ok || len(c.byID) < maxQueueCache {
		c.byID[m.ID] = m.clone()
	}
}

// dropDevice forgets a deleted device's messages.
func (c *queueCache) dropDevice(device int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epochs[device]++
	for id, m := range c.byID {
		if m.DeviceID == device {
			delete(c.byID, id)
		}
	}
}

// clone is a copy of m that shares nothing with it.
func (m Message) clone() Message {
	if m.Media != nil {
		media := *m.Media
		media.Waveform = slices.Clone(media.Waveform)
		m.Media = &media
	}
	if m.Error != nil {
		e := *m.Error
		m.Error = &e
	}
	m.Mentions = slices.Clone(m.Mentions)
	if m.Location != nil {
		l := *m.Location
		m.Location = &l
	}
	if m.Contact != nil {
		c := *m.Contact
		m.Contact = &c
	}
	if m.Poll != nil {
		p := *m.Poll
		p.Options = slices.Clone(p.Options)
		m.Poll = &p
	}
	return m
}
