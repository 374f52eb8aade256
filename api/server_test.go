package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// testServer is the API served on 127.0.0.1:0 over real pebble and a real
// actor system. The simulator plays WhatsApp; a second simulator registered
// under the name "whatsmeow" stands in for live devices, so that isolation
// between sandbox and live devices can be checked without the network.
type testServer struct {
	t    *testing.T
	srv  *Server
	db   *storage.DB
	gw   *actors.Gateway
	base string
	logs *syncBuffer
	// sim is the simulator behind sandbox ("sim") devices: what it
	// records is what the contacts received.
	sim *sim.Engine
}

// serverOption adjusts the server before it serves.
type serverOption func(*Config, *Server)

func withConfig(f func(*Config)) serverOption {
	return func(c *Config, s *Server) {
		if s == nil {
			f(c)
		}
	}
}

func withServer(f func(*Server)) serverOption {
	return func(_ *Config, s *Server) {
		if s != nil {
			f(s)
		}
	}
}

func newTestServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db, err := storage.Open(t.TempDir(), storage.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	simCfg := sim.Config{ConnectDelay: 5 * time.Millisecond, AckDelay: 10 * time.Millisecond, ReadDelay: 10 * time.Millisecond}
	simEngine := sim.New(simCfg)
	// The gateway reaches webhook URLs under the server's private-URL policy.
	var policy Config
	for _, o := range opts {
		o(&policy, nil)
	}
	gw, err := actors.Start(context.Background(), actors.Config{
		Logger: log,
		DB:     db,
		Engines: map[string]engine.Engine{
			engineSim:       simEngine,
			engineWhatsmeow: sim.New(simCfg),
		},
		DefaultRateLimit: pacing.Rate{Limit: 30, Window: time.Minute},
		AllowPrivateURLs: policy.AllowPrivateURLs,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Logger: log, Gateway: gw, DB: db, Version: "test"}
	for _, o := range opts {
		o(&cfg, nil)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(nil, srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ts := &testServer{t: t, srv: srv, db: db, gw: gw, base: "http://" + ln.Addr().String(), logs: logs, sim: simEngine}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := gw.Stop(ctx); err != nil {
			t.Errorf("stop gateway: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("close db: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts
}

// syncBuffer is a log sink that tests can read.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cred is how a request authenticates.
type cred map[string]string

func apiKey(k string) cred   { return cred{"X-API-Key": k} }
func bearer(t string) cred   { return cred{"Authorization": "Bearer " + t} }
func cookie(tok string) cred { return cred{"Cookie": sessionCookie + "=" + tok} }
func headers(kv ...string) cred {
	h := cred{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

// with merges header sets.
func (c cred) with(more cred) cred {
	out := cred{}
	for k, v := range c {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

// response is an API answer, its envelope decoded.
type response struct {
	Status int
	Header http.Header
	Body   []byte
	Env    struct {
		Success bool            `json:"success"`
		Data    json.RawMessage `json:"data"`
		Error   *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
			ID      string `json:"id"`
		} `json:"error"`
	}
}

// do sends a request. body is sent as is when it is a string, as JSON otherwise.
func (ts *testServer) do(method, path string, body any, h cred) *response {
	ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ts.base+path, r)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out := &response{Status: resp.StatusCode, Header: resp.Header}
	if out.Body, err = io.ReadAll(resp.Body); err != nil {
		ts.t.Fatal(err)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(out.Body, &out.Env); err != nil {
			ts.t.Fatalf("%s %s: answer is not JSON: %v: %s", method, path, err, out.Body)
		}
	}
	return out
}

// ok checks the status and decodes data into v (when not nil).
func (r *response) ok(t *testing.T, status int, v any) {
	t.Helper()
	if r.Status != status || !r.Env.Success {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		if err := json.Unmarshal(r.Env.Data, v); err != nil {
			t.Fatalf("decode data: %v: %s", err, r.Env.Data)
		}
	}
}

// fails checks an error answer: status and code, and the message when given.
func (r *response) fails(t *testing.T, status int, code string, message ...string) {
	t.Helper()
	if r.Status != status || r.Env.Success || r.Env.Error == nil || r.Env.Error.Code != code {
		t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, status, code)
	}
	if len(message) > 0 && r.Env.Error.Message != message[0] {
		t.Fatalf("message %q, want %q", r.Env.Error.Message, message[0])
	}
}

// Wire shapes as clients read them.
type (
	wireWorkspace struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	wireUser struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	wireAccount struct {
		User         wireUser      `json:"user"`
		Workspace    wireWorkspace `json:"workspace"`
		APIKey       string        `json:"apiKey"`
		APIKeyPrefix string        `json:"apiKeyPrefix"`
		Token        string        `json:"token"`
		ExpiresAt    *time.Time    `json:"expiresAt"`
	}
	wireRateLimit struct {
		Limit         int `json:"limit"`
		WindowSeconds int `json:"windowSeconds"`
	}
	wireDevice struct {
		ID                 int64         `json:"id"`
		Name               string        `json:"name"`
		Engine             string        `json:"engine"`
		Status             string        `json:"status"`
		StatusReason       string        `json:"statusReason"`
		Phone              *string       `json:"phone"`
		PushName           *string       `json:"pushName"`
		CreatedAt          *time.Time    `json:"createdAt"`
		LastSeenAt         *time.Time    `json:"lastSeenAt"`
		RateLimit          wireRateLimit `json:"rateLimit"`
		Pacing             string        `json:"pacing"`
		DeviceAPIKeyPrefix string        `json:"deviceApiKeyPrefix"`
	}
	wireCreatedDevice struct {
		Device             wireDevice `json:"device"`
		DeviceAPIKey       string     `json:"deviceApiKey"`
		DeviceAPIKeyPrefix string     `json:"deviceApiKeyPrefix"`
	}
	wireKey struct {
		ID         int64      `json:"id"`
		Name       string     `json:"name"`
		Kind       string     `json:"kind"`
		Mode       string     `json:"mode"`
		Prefix     string     `json:"prefix"`
		DeviceID   *int64     `json:"deviceId"`
		CreatedAt  *time.Time `json:"createdAt"`
		LastUsedAt *time.Time `json:"lastUsedAt"`
		APIKey     string     `json:"apiKey"`
	}
	wireMessage struct {
		ID          string     `json:"id"`
		DeviceID    int64      `json:"deviceId"`
		Direction   string     `json:"direction"`
		Chat        string     `json:"chat"`
		From        string     `json:"from"`
		To          string     `json:"to"`
		Type        string     `json:"type"`
		Text        string     `json:"text"`
		Status      string     `json:"status"`
		CreatedAt   *time.Time `json:"createdAt"`
		SentAt      *time.Time `json:"sentAt"`
		DeliveredAt *time.Time `json:"deliveredAt"`
		Media       *struct {
			MimeType string `json:"mimetype"`
			Size     int64  `json:"size"`
		} `json:"media"`
	}
	wireList[T any] struct {
		Items      []T     `json:"items"`
		NextCursor *string `json:"nextCursor"`
	}
	wireQR struct {
		Code      string     `json:"code"`
		Image     string     `json:"image"`
		ExpiresAt *time.Time `json:"expiresAt"`
	}
)

var accountSeq struct {
	sync.Mutex
	n int
}

// register signs up a new account and returns what register answered.
func (ts *testServer) register(t *testing.T) wireAccount {
	t.Helper()
	accountSeq.Lock()
	accountSeq.n++
	n := accountSeq.n
	accountSeq.Unlock()
	var acc wireAccount
	ts.do("POST", "/auth/register", map[string]string{
		"name":      fmt.Sprintf("Owner %d", n),
		"email":     fmt.Sprintf("owner%d@example.com", n),
		"password":  "correct horse battery",
		"workspace": fmt.Sprintf("Workspace %d", n),
	}, nil).ok(t, http.StatusCreated, &acc)
	return acc
}

// createDevice creates a device with the given credential.
func (ts *testServer) createDevice(t *testing.T, h cred, name, eng string) wireCreatedDevice {
	t.Helper()
	body := map[string]any{"name": name}
	if eng != "" {
		body["engine"] = eng
	}
	var d wireCreatedDevice
	ts.do("POST", "/api/devices", body, h).ok(t, http.StatusCreated, &d)
	return d
}

// createKey creates a workspace key of mode and returns its secret.
func (ts *testServer) createKey(t *testing.T, h cred, name, mode string) wireKey {
	t.Helper()
	var k wireKey
	ts.do("POST", "/api/keys", map[string]string{"name": name, "mode": mode}, h).ok(t, http.StatusCreated, &k)
	return k
}

// pair connects a sandbox device and scans its QR code.
func (ts *testServer) pair(t *testing.T, h cred, id int64) {
	t.Helper()
	ts.do("POST", fmt.Sprintf("/api/devices/%d/connect", id), nil, h).ok(t, http.StatusAccepted, nil)
	ts.waitStatus(t, h, id, actors.StatusScanQR)
	ts.do("POST", fmt.Sprintf("/api/devices/%d/sandbox/scan", id), nil, h).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, h, id, actors.StatusConnected)
}

func (ts *testServer) waitStatus(t *testing.T, h cred, id int64, want string) {
	t.Helper()
	waitFor(t, 5*time.Second, func() error {
		var d wireDevice
		r := ts.do("GET", fmt.Sprintf("/api/devices/%d", id), nil, h)
		if r.Status != http.StatusOK {
			return fmt.Errorf("status %d: %s", r.Status, r.Body)
		}
		r.ok(t, http.StatusOK, &d)
		if d.Status != want {
			return fmt.Errorf("device status %s, want %s", d.Status, want)
		}
		return nil
	})
}

// waitFor polls cond until it returns nil or the deadline passes.
func waitFor(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// sseFrame is one event read from a stream.
type sseFrame struct {
	ID    string // empty for snapshot frames
	Event string
	Data  string
}

// envelope decodes the frame's data.
func (f sseFrame) envelope(t *testing.T) (e struct {
	ID          string          `json:"id"`
	Seq         uint64          `json:"seq"`
	Type        string          `json:"type"`
	WorkspaceID int64           `json:"workspaceId"`
	DeviceID    int64           `json:"deviceId"`
	Data        json.RawMessage `json:"data"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(f.Data), &e); err != nil {
		t.Fatalf("frame data is not an envelope: %v: %s", err, f.Data)
	}
	return e
}

// sseClient reads a stream in the background.
type sseClient struct {
	resp   *http.Response
	frames chan sseFrame
	pings  chan struct{}
	done   chan error // the read error that ended the stream
}

func (ts *testServer) openStream(t *testing.T, path string, h cred) *sseClient {
	t.Helper()
	req, err := http.NewRequest("GET", ts.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream %s: %d %s", path, resp.StatusCode, body)
	}
	c := &sseClient{resp: resp, frames: make(chan sseFrame, 1024), pings: make(chan struct{}, 1024), done: make(chan error, 1)}
	go c.read()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) read() {
	br := bufio.NewReader(c.resp.Body)
	var f sseFrame
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.done <- err
			return
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			if f.Event != "" || f.Data != "" {
				c.frames <- f
			}
			f = sseFrame{}
		case strings.HasPrefix(line, ":"):
			select {
			case c.pings <- struct{}{}:
			default:
			}
		case strings.HasPrefix(line, "id: "):
			f.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			f.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			f.Data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func (c *sseClient) close() { c.resp.Body.Close() }

// next returns the next frame, failing after d.
func (c *sseClient) next(t *testing.T, d time.Duration) sseFrame {
	t.Helper()
	select {
	case f := <-c.frames:
		return f
	case err := <-c.done:
		t.Fatalf("stream ended: %v", err)
	case <-time.After(d):
		t.Fatalf("no frame within %s", d)
	}
	return sseFrame{}
}

// until returns the first frame for which match is true, and the frames before it.
func (c *sseClient) until(t *testing.T, d time.Duration, match func(sseFrame) bool) (sseFrame, []sseFrame) {
	t.Helper()
	deadline := time.Now().Add(d)
	var seen []sseFrame
	for {
		f := c.next(t, time.Until(deadline))
		if match(f) {
			return f, seen
		}
		seen = append(seen, f)
	}
}

// statusFrame matches a status frame with the given device status.
func statusFrame(t *testing.T, status string) func(sseFrame) bool {
	return func(f sseFrame) bool {
		if f.Event != "status" {
			return false
		}
		var d struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(f.envelope(t).Data, &d); err != nil {
			t.Fatal(err)
		}
		return d.Status == status
	}
}

// itoa formats an id for a path.
func itoa(id int64) string { return strconv.FormatInt(id, 10) }
