package fakewa

import (
	"context"
	"fmt"
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// The faults WhatsApp can throw at a companion device, for tests.

// connOf returns a device's live connection.
func (s *Server) connOf(deviceJID string) (*device, *conn, error) {
	d, err := s.device(deviceJID)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	c := d.conn
	s.mu.Unlock()
	if c == nil {
		return d, nil, fmt.Errorf("%s: %w", deviceJID, ErrOffline)
	}
	return d, c, nil
}

// Replace ends a device's stream as when another client logs in with the
// same keys ("conflict: replaced").
func (s *Server) Replace(deviceJID string) error {
	_, c, err := s.connOf(deviceJID)
	if err != nil {
		return err
	}
	c.streamError(replacedError())
	return nil
}

// Restart ends a device's stream with code 515, which asks the client to
// reconnect at once.
func (s *Server) Restart(deviceJID string) error {
	_, c, err := s.connOf(deviceJID)
	if err != nil {
		return err
	}
	c.streamError(restartError())
	return nil
}

// Drop cuts a device's connection without a word, as a network failure
// does.
func (s *Server) Drop(deviceJID string) error {
	_, c, err := s.connOf(deviceJID)
	if err != nil {
		return err
	}
	c.drop()
	return nil
}

// Ban refuses a device's logins for d with a temporary ban of the given
// WhatsApp reason code (101: too many messages to unknown people, …), and
// ends its current connection with that refusal.
func (s *Server) Ban(deviceJID string, code int, d time.Duration) error {
	dev, err := s.device(deviceJID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	dev.bannedUntil, dev.banCode = time.Now().Add(d), code
	c := dev.conn
	s.mu.Unlock()
	if c != nil {
		c.fail(waBinary.Attrs{"reason": "402", "code": strconv.Itoa(code), "expire": strconv.Itoa(int(d.Seconds()))})
	}
	return nil
}

// Online reports whether a device is logged in and active.
func (s *Server) Online(deviceJID string) bool {
	d, err := s.device(deviceJID)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return d.conn != nil && d.ready
}

// WaitOnline waits until a device is logged in and active (or ctx ends).
func (s *Server) WaitOnline(ctx context.Context, deviceJID string) error {
	return s.waitFor(ctx, func() bool { return s.Online(deviceJID) })
}

// WaitOffline waits until a device has no connection (or ctx ends).
func (s *Server) WaitOffline(ctx context.Context, deviceJID string) error {
	return s.waitFor(ctx, func() bool {
		d, err := s.device(deviceJID)
		if err != nil {
			return true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return d.conn == nil
	})
}

// waitFor polls cond: connection state changes come from many goroutines
// and are not worth a notification channel each.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ErrTimeout
		}
	}
	return nil
}

// Connections is how many client connections the server has open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
