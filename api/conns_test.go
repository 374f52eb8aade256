package api

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShutdownDoesNotWaitForUnusedConnections: a connection that never sent
// a request must not hold a graceful shutdown for the read timeout (30 s
// here), while a request in flight on another connection still completes.
func TestShutdownDoesNotWaitForUnusedConnections(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.ReadTimeout = 30 * time.Second }))
	addr := strings.TrimPrefix(ts.base, "http://")

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// A used keep-alive connection, idle between requests.
	resp, err := http.Get(ts.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// Give the server time to accept the unused connection.
	waitFor(t, 5*time.Second, func() error {
		ts.srv.conns.mu.Lock()
		defer ts.srv.conns.mu.Unlock()
		if len(ts.srv.conns.conns) < 2 {
			return errors.New("the unused connection is not accepted yet")
		}
		return nil
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an unused connection open: %v", err)
	}
	// The unused connection was closed by the server.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("unused connection still open after shutdown: n=%d err=%v", n, err)
	}
}
