package api

import (
	"net"
	"sync"
	"sync/atomic"
)

// connTracker remembers the connections a listener accepted, so that
// Shutdown can close those that never sent a byte. fasthttp counts a fresh
// connection as active before its first request arrives, so an unused one
// (HTTP clients dial spares, and keep them when a request is cancelled
// mid-dial) would otherwise hold a graceful shutdown for the whole read
// timeout.
type connTracker struct {
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnTracker() *connTracker {
	return &connTracker{conns: make(map[*trackedConn]struct{})}
}

// listener wraps ln so that every accepted connection is tracked.
func (t *connTracker) listener(ln net.Listener) net.Listener {
	return &trackedListener{Listener: ln, t: t}
}

// closeUnused closes every tracked connection that has not read a byte.
func (t *connTracker) closeUnused() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		if !c.used.Load() {
			_ = c.Conn.Close()
		}
	}
}

type trackedListener struct {
	net.Listener
	t *connTracker
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: l.t}
	l.t.mu.Lock()
	l.t.conns[tc] = struct{}{}
	l.t.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	t      *connTracker
	used   atomic.Bool
	closed sync.Once
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.used.Store(true)
	}
	return n, err
}

func (c *trackedConn) Close() error {
	c.closed.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}
