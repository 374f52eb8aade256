package api

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
)

func TestHealth(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		r := ts.do("GET", path, nil, nil)
		if r.Status != http.StatusOK || strings.TrimSpace(string(r.Body)) != `{"status":"ok"}` {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
}

func TestErrorEnvelopes(t *testing.T) {
	ts := newTestServer(t,
		withConfig(func(c *Config) { c.BodyLimit = 1024 }),
		withServer(func(s *Server) {
			s.app.Get("/test/boom", func(*fiber.Ctx) error { return errors.New("disk on fire") })
			s.app.Get("/test/panic", func(*fiber.Ctx) error { panic("unexpected") })
			s.app.Get("/test/stopped", func(*fiber.Ctx) error { return actors.ErrStopped })
		}))
	acc := ts.register(t)

	ts.do("GET", "/nowhere", nil, nil).fails(t, http.StatusNotFound, "not_found")
	ts.do("GET", "/api/nowhere", nil, apiKey(acc.APIKey)).fails(t, http.StatusNotFound, "not_found")
	ts.do("PUT", "/api/devices", map[string]any{}, apiKey(acc.APIKey)).fails(t, http.StatusMethodNotAllowed, "method_not_allowed")
	ts.do("GET", "/test/stopped", nil, nil).fails(t, http.StatusServiceUnavailable, "shutting_down")

	big := `{"name":"` + strings.Repeat("x", 4096) + `"}`
	ts.do("POST", "/api/devices", big, apiKey(acc.APIKey)).fails(t, http.StatusRequestEntityTooLarge, "payload_too_large")
	var list wireList[wireDevice]
	ts.do("GET", "/api/devices", nil, apiKey(acc.APIKey)).ok(t, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("an oversized request stored %d devices", len(list.Items))
	}

	for _, path := range []string{"/test/boom", "/test/panic"} {
		r := ts.do("GET", path, nil, nil)
		r.fails(t, http.StatusInternalServerError, "internal_error", "Internal server error")
		id := r.Env.Error.ID
		if !strings.HasPrefix(id, "err_") {
			t.Fatalf("%s: error id %q", path, id)
		}
		if strings.Contains(string(r.Body), "fire") || strings.Contains(string(r.Body), "unexpected") {
			t.Errorf("%s: the answer leaks the cause: %s", path, r.Body)
		}
		waitFor(t, 2*time.Second, func() error {
			if !strings.Contains(ts.logs.String(), id) {
				return errors.New("error id not in the log")
			}
			return nil
		})
		if rid := r.Header.Get(headerRequestID); !strings.HasPrefix(rid, "req_") {
			t.Errorf("%s: X-Request-ID = %q", path, rid)
		}
	}
	// The server still serves after a panic.
	ts.do("GET", "/api/auth/me", nil, apiKey(acc.APIKey)).ok(t, http.StatusOK, nil)
}

func TestNewRejectsBadConfig(t *testing.T) {
	ts := newTestServer(t)
	for name, cfg := range map[string]Config{
		"no gateway":     {DB: ts.db},
		"no db":          {Gateway: ts.gw},
		"bad signup":     {Gateway: ts.gw, DB: ts.db, Signup: "maybe"},
		"bad public url": {Gateway: ts.gw, DB: ts.db, PublicURL: "wa.example.com"},
		"negative limit": {Gateway: ts.gw, DB: ts.db, BodyLimit: -1},
	} {
		if s, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
			s.usage.close()
		}
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1001 * time.Millisecond, "2"},
		{59500 * time.Millisecond, "60"},
	} {
		if got := retryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("retryAfterSeconds(%v) = %s, want %s", tt.d, got, tt.want)
		}
	}
	reset := time.Unix(1700000000, 1)
	if got := unixCeil(reset); got != 1700000001 {
		t.Errorf("unixCeil = %d", got)
	}
}

// TestClientHangUpIsNoServerError: fiber reports a network error while
// reading a request (the client reset the connection) as 502; that is the
// client's failure, answered 400 and not logged as the server's.
func TestClientHangUpIsNoServerError(t *testing.T) {
	got := fiberError(fiber.ErrBadGateway)
	if got == errInternal || got.status != http.StatusBadRequest || got.code != "bad_request" {
		t.Errorf("fiberError(502) = %+v; want a 400 bad_request", got)
	}
}
