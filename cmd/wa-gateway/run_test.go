package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateway is the real server, run in-process through run() on 127.0.0.1:0.
type gateway struct {
	t      *testing.T
	base   string
	cancel context.CancelFunc
	done   chan int
	logs   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startGateway(t *testing.T, dataDir string, extraArgs ...string) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{t: t, cancel: cancel, done: make(chan int, 1), logs: &syncBuffer{}}
	addr := make(chan net.Addr, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--allow-private-urls"}, extraArgs...)
	go func() {
		g.done <- run(ctx, env{
			args:   args,
			getenv: func(string) string { return "" },
			stdout: io.Discard, stderr: g.logs,
			ready: func(a net.Addr) { addr <- a },
		})
	}()
	select {
	case a := <-addr:
		g.base = "http://" + a.String()
	case code := <-g.done:
		t.Fatalf("gateway exited with %d before listening:\n%s", code, g.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("gateway did not start:\n%s", g.logs)
	}
	t.Cleanup(func() { g.stop() })
	return g
}

// stop shuts the gateway down gracefully and checks it exited cleanly.
func (g *gateway) stop() {
	if g.cancel == nil {
		return
	}
	g.cancel()
	g.cancel = nil
	select {
	case code := <-g.done:
		if code != 0 {
			g.t.Errorf("gateway exited with %d:\n%s", code, g.logs)
		}
	case <-time.After(20 * time.Second):
		g.t.Errorf("gateway did not stop:\n%s", g.logs)
	}
}

type apiResult struct {
	status int
	header http.Header
	body   map[string]any
}

func (r apiResult) data() map[string]any {
	d, _ := r.body["data"].(map[string]any)
	return d
}

func (r apiResult) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (g *gateway) call(method, path, key string, body any) apiResult {
	g.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.base+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResult{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 && json.Unmarshal(raw, &r.body) != nil {
		g.t.Fatalf("%s %s: not JSON (%d): %s", method, path, resp.StatusCode, raw)
	}
	return r
}

func (g *gateway) must(want int, method, path, key string, body any) map[string]any {
	g.t.Helper()
	r := g.call(method, path, key, body)
	if r.status != want {
		g.t.Fatalf("%s %s: %d %v, want %d", method, path, r.status, r.body, want)
	}
	return r.data()
}

func waitFor(t *testing.T, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %v", d, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *gateway) waitStatus(key string, dev any, want string) map[string]any {
	g.t.Helper()
	var d map[string]any
	waitFor(g.t, 10*time.Second, func() error {
		d = g.must(200, "GET", fmt.Sprintf("/api/devices/%v", dev), key, nil)
		if d["status"] != want {
			return fmt.Errorf("status %v, want %s", d["status"], want)
		}
		return nil
	})
	return d
}

func (g *gateway) waitMessage(key, id, want string) map[string]any {
	g.t.Helper()
	var m map[string]any
	waitFor(g.t, 10*time.Second, func() error {
		m = g.must(200, "GET", "/api/messages/"+id, key, nil)
		if m["status"] != want {
			return fmt.Errorf("message status %v, want %s", m["status"], want)
		}
		return nil
	})
	return m
}

type sseEvent struct {
	id, event string
	data      map[string]any
}

// sse opens an SSE stream and delivers its events on a channel until ctx ends.
func (g *gateway) sse(ctx context.Context, path, key string) <-chan sseEvent {
	g.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.base+path, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		g.t.Fatalf("SSE %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &ev.data)
			}
		}
	}()
	return ch
}

func next(t *testing.T, ch <-chan sseEvent, match func(sseEvent) bool) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("SSE stream ended")
			}
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatal("no matching SSE event within 10s")
		}
	}
}

func register(t *testing.T, g *gateway, email string) string {
	t.Helper()
	d := g.must(201, "POST", "/auth/register", "", map[string]any{
		"name": "Owner", "email": email, "password": "correct horse battery", "workspace": "Acme"})
	key, _ := d["apiKey"].(string)
	if !strings.HasPrefix(key, "gw_live_") {
		t.Fatalf("register returned apiKey %q", key)
	}
	return key
}

// TestCoreFlow is the seed's core flow against the real server: register,
// key, sandbox device, connect, qr on SSE, scan, CONNECTED, send-text sent
// then read, an inbound message listed.
func TestCoreFlow(t *testing.T) {
	g := startGateway(t, t.TempDir())
	key := register(t, g, "owner@example.com")
	me := g.must(200, "GET", "/api/auth/me", key, nil)
	if k, _ := me["key"].(map[string]any); k["type"] != "workspace" || k["mode"] != "live" {
		t.Fatalf("me = %v", me)
	}

	created := g.must(201, "POST", "/api/devices", key, map[string]any{"name": "primary", "engine": "sim"})
	dev := created["device"].(map[string]any)
	id := dev["id"]
	devKey, _ := created["deviceApiKey"].(string)
	if !strings.HasPrefix(devKey, "dev_") {
		t.Fatalf("device key %q", created["deviceApiKey"])
	}
	// A device key may use its device but not raise its own limits or delete it.
	for _, c := range []struct{ method, path string }{
		{"PATCH", fmt.Sprintf("/api/devices/%v", id)},
		{"DELETE", fmt.Sprintf("/api/devices/%v", id)},
		{"POST", fmt.Sprintf("/api/devices/%v/regenerate-key", id)},
	} {
		if r := g.call(c.method, c.path, devKey, map[string]any{"rateLimit": map[string]any{"limit": 1000, "windowSeconds": 1}}); r.status != 403 || r.errCode() != "forbidden" {
			t.Fatalf("%s %s with the device key: %d %v", c.method, c.path, r.status, r.body)
		}
	}
	if d := g.must(200, "GET", fmt.Sprintf("/api/devices/%v", id), devKey, nil); d["rateLimit"].(map[string]any)["limit"] != float64(30) {
		t.Fatalf("device key changed its rate limit: %v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := g.sse(ctx, fmt.Sprintf("/api/devices/%v/events", id), key)
	first := next(t, events, func(sseEvent) bool { return true })
	if first.event != "status" || first.data["data"].(map[string]any)["status"] != "DISCONNECTED" {
		t.Fatalf("first SSE event = %+v, want the current status", first)
	}

	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/connect", id), key, nil)
	qr := next(t, events, func(e sseEvent) bool { return e.event == "qr" })
	qrData := qr.data["data"].(map[string]any)
	if code, _ := qrData["code"].(string); code == "" || !strings.HasPrefix(qrData["image"].(string), "data:image/png;base64,") {
		t.Fatalf("qr event = %+v", qr)
	}
	if qr.id == "" || qr.data["seq"] == nil || qr.data["type"] != "device.qr" {
		t.Fatalf("qr event envelope = %+v", qr)
	}

	g.must(200, "POST", fmt.Sprintf("/api/devices/%v/sandbox/scan", id), key, nil)
	next(t, events, func(e sseEvent) bool {
		return e.event == "status" && e.data["data"].(map[string]any)["status"] == "CONNECTED"
	})
	g.waitStatus(key, id, "CONNECTED")

	r := g.call("POST", "/api/messages/send-text", key, map[string]any{"deviceId": id, "to": "+62 811-1222-333", "text": "Halo!"})
	if r.status != 202 || r.data()["status"] != "queued" {
		t.Fatalf("send-text: %d %v", r.status, r.body)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Errorf("send-text answer lacks %s", h)
		}
	}
	if r.header.Get("X-RateLimit-Limit") != "30" || r.header.Get("X-RateLimit-Remaining") != "29" {
		t.Errorf("rate limit headers %v", r.header)
	}
	msgID := r.data()["id"].(string)
	g.waitMessage(key, msgID, "read")

	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/sandbox/inbound", id), key, map[string]any{"from": "628999000111", "text": "hi there", "pushName": "Budi"})
	waitFor(t, 10*time.Second, func() error {
		list := g.must(200, "GET", fmt.Sprintf("/api/messages?deviceId=%v&direction=in", id), key, nil)
		items, _ := list["items"].([]any)
		if len(items) != 1 {
			return fmt.Errorf("%d inbound messages", len(items))
		}
		m := items[0].(map[string]any)
		if m["text"] != "hi there" || m["fromPhone"] != "628999000111" {
			return fmt.Errorf("inbound = %v", m)
		}
		return nil
	})

	// ?wait=true answers once the message is sent.
	w := g.must(200, "POST", "/api/messages/send-text?wait=true", key, map[string]any{"deviceId": id, "to": "628111222333", "text": "wait for me"})
	if w["status"] != "sent" && w["status"] != "delivered" && w["status"] != "read" {
		t.Fatalf("send-text?wait=true = %v", w)
	}
}

// TestDataSurvivesRestart: devices, keys and messages are kept, and a paired
// sandbox device reconnects by itself.
func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	g := startGateway(t, dir)
	key := register(t, g, "owner@example.com")
	created := g.must(201, "POST", "/api/devices", key, map[string]any{"name": "primary", "engine": "sim"})
	id := created["device"].(map[string]any)["id"]
	devKey := created["deviceApiKey"].(string)
	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/connect", id), key, nil)
	g.waitStatus(key, id, "SCAN_QR")
	g.must(200, "POST", fmt.Sprintf("/api/devices/%v/sandbox/scan", id), key, nil)
	g.waitStatus(key, id, "CONNECTED")
	sent := g.must(202, "POST", "/api/messages/send-text", devKey, map[string]any{"to": "628111222333", "text": "before restart"})
	g.waitMessage(key, sent["id"].(string), "read")
	g.stop()

	g = startGateway(t, dir)
	d := g.waitStatus(key, id, "CONNECTED")
	if d["name"] != "primary" {
		t.Fatalf("device after restart = %v", d)
	}
	m := g.must(200, "GET", "/api/messages/"+sent["id"].(string), devKey, nil)
	if m["status"] != "read" || m["text"] != "before restart" {
		t.Fatalf("message after restart = %v", m)
	}
	// The device key still works and can send again.
	again := g.must(202, "POST", "/api/messages/send-text", devKey, map[string]any{"to": "628111222333", "text": "after restart"})
	g.waitMessage(key, again["id"].(string), "read")
}

func TestCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	noenv := func(string) string { return "" }
	if code := run(context.Background(), env{args: []string{"version"}, getenv: noenv, stdout: &out, stderr: &errOut}); code != 0 || !strings.HasPrefix(out.String(), "wa-gateway ") {
		t.Fatalf("version: %d %q %q", code, out.String(), errOut.String())
	}

	// Bad configuration is refused with a reason, from flags and from the environment.
	out.Reset()
	errOut.Reset()
	badEnv := func(k string) string {
		if k == "WA_GATEWAY_LOG_FORMAT" {
			return "xml"
		}
		return ""
	}
	if code := run(context.Background(), env{args: []string{"serve", "--rate-limit", "lots", "--trusted-proxies", "10.0.0.0/8, proxy.local"}, getenv: badEnv, stdout: &out, stderr: &errOut}); code != 1 ||
		!strings.Contains(errOut.String(), "rate-limit") || !strings.Contains(errOut.String(), "log-format") ||
		!strings.Contains(errOut.String(), `trusted-proxies: "proxy.local"`) || strings.Contains(errOut.String(), "10.0.0.0/8") {
		t.Fatalf("bad config: %d %q", code, errOut.String())
	}

	// config prints what is in force.
	out.Reset()
	env2 := func(k string) string {
		if k == "WA_GATEWAY_SIGNUP" {
			return "closed"
		}
		return ""
	}
	if code := run(context.Background(), env{args: []string{"config", "--addr", ":9999"}, getenv: env2, stdout: &out, stderr: &errOut}); code != 0 ||
		!strings.Contains(out.String(), ":9999") || !strings.Contains(out.String(), "closed") {
		t.Fatalf("config: %d %q", code, out.String())
	}

	// workspace create prints a live key that works against the server.
	dir := t.TempDir()
	out.Reset()
	if code := run(context.Background(), env{args: []string{"workspace", "create", "--data-dir", dir, "--name", "Ops", "--email", "ops@example.com", "--password", "long enough pw"},
		getenv: noenv, stdout: &out, stderr: &errOut}); code != 0 {
		t.Fatalf("workspace create: %d %q", code, errOut.String())
	}
	var key string
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "gw_live_") {
			key = f
		}
	}
	if key == "" {
		t.Fatalf("no key printed: %q", out.String())
	}
	g := startGateway(t, dir, "--signup", "closed")
	me := g.must(200, "GET", "/api/auth/me", key, nil)
	if ws, _ := me["workspace"].(map[string]any); ws["name"] != "Ops" {
		t.Fatalf("me = %v", me)
	}
	if r := g.call("POST", "/auth/register", "", map[string]any{"name": "x", "email": "x@example.com", "password": "long enough pw", "workspace": "x"}); r.status != 403 || r.errCode() != "signup_closed" {
		t.Fatalf("register with signup closed: %d %v", r.status, r.body)
	}

	// healthcheck against the running server.
	out.Reset()
	addr := strings.TrimPrefix(g.base, "http://")
	if code := run(context.Background(), env{args: []string{"healthcheck", "--addr", addr}, getenv: noenv, stdout: &out, stderr: &errOut}); code != 0 {
		t.Fatalf("healthcheck: %d %q", code, errOut.String())
	}
	g.stop()
	if code := run(context.Background(), env{args: []string{"healthcheck", "--addr", addr}, getenv: noenv, stdout: &out, stderr: &errOut}); code == 0 {
		t.Fatal("healthcheck passed with the server stopped")
	}
}
