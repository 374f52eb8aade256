package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wa-gateway/wa-gateway/storage"
)

// wsClient reads a WebSocket stream in the background.
type wsClient struct {
	conn   *websocket.Conn
	frames chan []byte
	done   chan error
}

// dialWS opens /api/ws (or another path) with a credential; it fails the
// test unless the handshake succeeds.
func (ts *testServer) dialWS(t *testing.T, path string, h cred, opts ...func(*websocket.DialOptions)) *wsClient {
	t.Helper()
	conn, resp, err := ts.tryWS(path, h, opts...)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %d %v", path, status, err)
	}
	c := &wsClient{conn: conn, frames: make(chan []byte, 4096), done: make(chan error, 1)}
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (ts *testServer) tryWS(path string, h cred, opts ...func(*websocket.DialOptions)) (*websocket.Conn, *http.Response, error) {
	header := http.Header{}
	for k, v := range h {
		header.Set(k, v)
	}
	o := &websocket.DialOptions{HTTPHeader: header}
	for _, f := range opts {
		f(o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(ts.base, "http://")+path, o)
	if conn != nil {
		conn.SetReadLimit(1 << 20)
	}
	return conn, resp, err
}

// read starts reading frames in the background.
func (c *wsClient) read() *wsClient {
	go func() {
		for {
			_, data, err := c.conn.Read(context.Background())
			if err != nil {
				c.done <- err
				return
			}
			c.frames <- data
		}
	}()
	return c
}

func (c *wsClient) next(t *testing.T, d time.Duration) storage.Event {
	t.Helper()
	select {
	case data := <-c.frames:
		var e storage.Event
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatalf("frame is not an envelope: %v: %s", err, data)
		}
		return e
	case err := <-c.done:
		t.Fatalf("websocket ended: %v", err)
	case <-time.After(d):
		t.Fatalf("no frame within %s", d)
	}
	return storage.Event{}
}

// inbound has a contact send the device a message (one message.received).
func (ts *testServer) inbound(t *testing.T, h cred, device int64, text string) {
	t.Helper()
	ts.do("POST", fmt.Sprintf("/api/devices/%d/sandbox/inbound", device), map[string]any{"from": "628999000111", "text": text}, h).
		ok(t, http.StatusAccepted, nil)
}

// logSeqs waits until the workspace's log has at least n events and
// returns them.
func (ts *testServer) logged(t *testing.T, ws int64, n int) []storage.Event {
	t.Helper()
	var evs []storage.Event
	waitFor(t, 10*time.Second, func() error {
		var err error
		if evs, err = ts.db.ReadEvents(ws, 0, 100_000); err != nil {
			return err
		}
		if len(evs) < n {
			return fmt.Errorf("%d events logged, want %d", len(evs), n)
		}
		return nil
	})
	return evs
}

// connectedSeq waits until the log ends with a device.status CONNECTED
// (after pairing) and returns its seq.
func (ts *testServer) connectedSeq(t *testing.T, ws int64) uint64 {
	t.Helper()
	var seq uint64
	waitFor(t, 10*time.Second, func() error {
		evs, err := ts.db.ReadEvents(ws, 0, 100_000)
		if err != nil || len(evs) == 0 {
			return fmt.Errorf("%d events, %v", len(evs), err)
		}
		last := evs[len(evs)-1]
		if last.Type != "device.status" || !strings.Contains(string(last.Data), `"CONNECTED"`) {
			return fmt.Errorf("last event %s %s", last.Type, last.Data)
		}
		seq = last.Seq
		return nil
	})
	return seq
}

// TestWorkspaceStreamsResume: the workspace SSE and WebSocket streams
// carry every logged event, in seq order, as the same envelope bytes;
// after a disconnect, Last-Event-ID (SSE) and ?since= (WebSocket) resume
// with exactly the events missed, then live ones.
func TestWorkspaceStreamsResume(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.createDevice(t, admin, "a", engineSim)
	b := ts.createDevice(t, admin, "b", engineSim)

	sse := ts.openStream(t, "/api/events", admin)
	ws := ts.dialWS(t, "/api/ws", admin).read()
	ts.pair(t, admin, a.Device.ID)
	ts.pair(t, admin, b.Device.ID)
	ts.inbound(t, admin, a.Device.ID, "one")
	logged := ts.logged(t, acc.Workspace.ID, 9)

	for i, want := range logged {
		f := sse.next(t, 5*time.Second)
		if f.ID != strconv.FormatUint(want.Seq, 10) || f.Event != want.Type {
			t.Fatalf("SSE frame %d: id %q event %q, want %d %s", i, f.ID, f.Event, want.Seq, want.Type)
		}
		var raw []byte
		select {
		case raw = <-ws.frames:
		case err := <-ws.done:
			t.Fatalf("websocket ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatalf("no websocket frame for seq %d", want.Seq)
		}
		if string(raw) != f.Data {
			t.Fatalf("seq %d: WebSocket frame %s\nSSE data %s", want.Seq, raw, f.Data)
		}
		var e storage.Event
		if err := json.Unmarshal(raw, &e); err != nil || e.Seq != want.Seq || e.ID != want.ID {
			t.Fatalf("frame %d = %+v, %v; want seq %d id %s", i, e, err, want.Seq, want.ID)
		}
	}
	last := logged[len(logged)-1].Seq

	// Both disconnect; events happen meanwhile.
	sse.close()
	ws.conn.CloseNow()
	ts.inbound(t, admin, a.Device.ID, "two")
	ts.inbound(t, admin, b.Device.ID, "three")
	missed := ts.logged(t, acc.Workspace.ID, len(logged)+2)[len(logged):]

	sse2 := ts.openStream(t, "/api/events", admin.with(headers("Last-Event-ID", strconv.FormatUint(last, 10))))
	ws2 := ts.dialWS(t, "/api/ws?since="+strconv.FormatUint(last, 10), admin).read()
	for _, want := range missed {
		if f := sse2.next(t, 5*time.Second); f.ID != strconv.FormatUint(want.Seq, 10) {
			t.Fatalf("SSE resumed with %q, want seq %d", f.ID, want.Seq)
		}
		if e := ws2.next(t, 5*time.Second); e.Seq != want.Seq {
			t.Fatalf("WebSocket resumed with seq %d, want %d", e.Seq, want.Seq)
		}
	}
	// Then live, with nothing repeated.
	ts.inbound(t, admin, a.Device.ID, "four")
	after := ts.logged(t, acc.Workspace.ID, len(logged)+3)
	live := after[len(after)-1]
	if f := sse2.next(t, 5*time.Second); f.ID != strconv.FormatUint(live.Seq, 10) {
		t.Fatalf("SSE live frame %q, want seq %d", f.ID, live.Seq)
	}
	if e := ws2.next(t, 5*time.Second); e.Seq != live.Seq {
		t.Fatalf("WebSocket live frame seq %d, want %d", e.Seq, live.Seq)
	}
}

// TestStreamFilters: ?deviceId= and ?types= narrow a stream; a device key
// sees only its device and a test key only sandbox devices; bad
// parameters are refused before any stream opens.
func TestStreamFilters(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	sandbox := ts.createDevice(t, admin, "sandbox", engineSim)
	live := ts.createDevice(t, admin, "live", engineWhatsmeow)
	testKey := apiKey(ts.createKey(t, admin, "test", modeTest).APIKey)
	devKey := apiKey(sandbox.DeviceAPIKey)

	onlyLive := ts.openStream(t, "/api/events?deviceId="+itoa(live.Device.ID), admin)
	onlyQR := ts.dialWS(t, "/api/ws?types=device.qr", admin).read()
	asTest := ts.openStream(t, "/api/events", testKey)
	asDevice := ts.dialWS(t, "/api/ws", devKey).read()

	for _, d := range []int64{live.Device.ID, sandbox.Device.ID} {
		ts.do("POST", fmt.Sprintf("/api/devices/%d/connect", d), nil, admin).ok(t, http.StatusAccepted, nil)
		ts.waitStatus(t, admin, d, "SCAN_QR")
	}
	// A marker that ends each check: the sandbox device's inbound message,
	// after the live device's events.
	ts.pair(t, admin, sandbox.Device.ID)
	ts.inbound(t, admin, sandbox.Device.ID, "marker")

	f, before := onlyLive.until(t, 5*time.Second, func(f sseFrame) bool { return f.Event == "device.qr" })
	if e := f.envelope(t); e.DeviceID != live.Device.ID {
		t.Errorf("deviceId filter let device %d through", e.DeviceID)
	}
	for _, f := range append(before, drain(onlyLive)...) {
		if e := f.envelope(t); e.DeviceID != live.Device.ID {
			t.Errorf("deviceId filter let device %d through", e.DeviceID)
		}
	}
	for range 2 {
		if e := onlyQR.next(t, 5*time.Second); e.Type != "device.qr" {
			t.Errorf("types filter let %s through", e.Type)
		}
	}
	seen := map[int64]bool{}
	for {
		f := asTest.next(t, 5*time.Second)
		e := f.envelope(t)
		seen[e.DeviceID] = true
		if f.Event == "message.received" {
			break
		}
	}
	if seen[live.Device.ID] || !seen[sandbox.Device.ID] {
		t.Errorf("test key saw devices %v", seen)
	}
	for {
		e := asDevice.next(t, 5*time.Second)
		if e.DeviceID != sandbox.Device.ID {
			t.Fatalf("device key saw device %d", e.DeviceID)
		}
		if e.Type == "message.received" {
			break
		}
	}

	for _, tc := range []struct {
		path   string
		h      cred
		status int
		code   string
	}{
		{"/api/events?types=message.teleported", admin, http.StatusBadRequest, "unknown_event_type"},
		{"/api/events?deviceId=abc", admin, http.StatusBadRequest, "validation_failed"},
		{"/api/events?deviceId=" + itoa(live.Device.ID), devKey, http.StatusNotFound, "device_not_found"},
		{"/api/events?deviceId=" + itoa(live.Device.ID), testKey, http.StatusNotFound, "device_not_found"},
		{"/api/events?since=yesterday", admin, http.StatusBadRequest, "validation_failed"},
		{"/api/events", nil, http.StatusUnauthorized, "missing_credentials"},
		{"/api/ws", admin, http.StatusUpgradeRequired, "upgrade_required"},
	} {
		ts.do("GET", tc.path, nil, tc.h).fails(t, tc.status, tc.code)
	}
	// The WebSocket handshake is refused the same way, before any upgrade.
	for _, tc := range []struct {
		path   string
		h      cred
		status int
	}{
		{"/api/ws", nil, http.StatusUnauthorized},
		{"/api/ws", apiKey("gw_live_notakey"), http.StatusUnauthorized},
		{"/api/ws?types=nope", admin, http.StatusBadRequest},
	} {
		conn, resp, err := ts.tryWS(tc.path, tc.h)
		if err == nil {
			conn.CloseNow()
			t.Fatalf("%s: handshake succeeded", tc.path)
		}
		if resp == nil || resp.StatusCode != tc.status {
			t.Errorf("%s: %v %v, want %d", tc.path, resp, err, tc.status)
		}
	}
}

// drain returns the frames already received.
func drain(c *sseClient) []sseFrame {
	var out []sseFrame
	for {
		select {
		case f := <-c.frames:
			out = append(out, f)
		default:
			return out
		}
	}
}

// TestStalledClientsDoNotSlowOthers: a WebSocket client that never reads
// and a webhook endpoint that never answers next to 50 healthy
// subscribers (SSE and WebSocket) and a healthy webhook: the healthy ones
// get every event, and the stalled client is cut off.
func TestStalledClientsDoNotSlowOthers(t *testing.T) {
	ts := newTestServer(t,
		withConfig(func(c *Config) { c.AllowPrivateURLs = true; c.WriteTimeout = 5 * time.Second }),
		withServer(func(s *Server) { s.heartbeat = 500 * time.Millisecond }))
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.pair(t, admin, d.Device.ID)
	since := ts.connectedSeq(t, acc.Workspace.ID)

	hang := make(chan struct{})
	dead := newHookReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	defer close(hang)
	healthy := newHookReceiver(t, nil)
	ts.createWebhook(t, admin, dead.url)
	ts.createWebhook(t, admin, healthy.url)

	// The stalled client: a tiny receive buffer, and it never reads.
	stalled := ts.dialWS(t, "/api/ws", admin, func(o *websocket.DialOptions) {
		o.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				_ = c.(*net.TCPConn).SetReadBuffer(4096)
			}
			return c, err
		}}}
	})
	_ = stalled

	const subscribers, events = 50, 40
	var sses []*sseClient
	var sockets []*wsClient
	for i := range subscribers {
		if i%2 == 0 {
			sses = append(sses, ts.openStream(t, "/api/events", admin))
		} else {
			sockets = append(sockets, ts.dialWS(t, "/api/ws", admin).read())
		}
	}
	streams := ts.srv.streams.open()

	// Large events, so that the stalled client's buffers fill.
	text := strings.Repeat("x", 16_000)
	for i := range events {
		ts.inbound(t, admin, d.Device.ID, fmt.Sprintf("%d %s", i, text))
	}
	all := ts.logged(t, acc.Workspace.ID, int(since)+events)
	want := all[since:]

	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	for _, s := range sses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range want {
				select {
				case f := <-s.frames:
					if f.ID != strconv.FormatUint(e.Seq, 10) {
						errs <- fmt.Errorf("SSE got %s, want %d", f.ID, e.Seq)
						return
					}
				case err := <-s.done:
					errs <- fmt.Errorf("SSE ended: %w", err)
					return
				case <-time.After(20 * time.Second):
					errs <- fmt.Errorf("SSE: no frame for seq %d", e.Seq)
					return
				}
			}
		}()
	}
	for _, c := range sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, e := range want {
				select {
				case data := <-c.frames:
					var got storage.Event
					if err := json.Unmarshal(data, &got); err != nil || got.Seq != e.Seq {
						errs <- fmt.Errorf("WebSocket got seq %d (%v), want %d", got.Seq, err, e.Seq)
						return
					}
				case err := <-c.done:
					errs <- fmt.Errorf("WebSocket ended: %w", err)
					return
				case <-time.After(20 * time.Second):
					errs <- fmt.Errorf("WebSocket: no frame for seq %d", e.Seq)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, 20*time.Second, func() error {
		got := healthy.seqs()
		for _, e := range want {
			if !slices.Contains(got, e.Seq) {
				return fmt.Errorf("healthy webhook lacks seq %d (has %d events)", e.Seq, len(got))
			}
		}
		return nil
	})
	// The server noticed the stalled client and ended its stream.
	waitFor(t, 20*time.Second, func() error {
		if n := ts.srv.streams.open(); n != streams-1 {
			return fmt.Errorf("%d streams open, want %d", n, streams-1)
		}
		return nil
	})
}

// TestShutdownEndsWebSockets: Shutdown closes WebSocket streams with
// 1001 going away, and takes no new ones.
func TestShutdownEndsWebSockets(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	c := ts.dialWS(t, "/api/ws", admin).read()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("closed with %v, want 1001 going away", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("websocket still open after shutdown")
	}
	if n := ts.srv.streams.open(); n != 0 {
		t.Errorf("%d streams still registered", n)
	}
	if _, _, err := ts.tryWS("/api/ws", admin); err == nil {
		t.Error("a websocket opened after shutdown")
	}
}

// TestWebSocketCutOffSaysWhereToResume: a subscription the hub cut off
// ends the socket with 1013 and the seq to resume from.
func TestWebSocketCutOffSaysWhereToResume(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	c := ts.dialWS(t, "/api/ws", admin).read()
	waitFor(t, 5*time.Second, func() error {
		if ts.srv.streams.open() != 1 {
			return errors.New("stream not registered yet")
		}
		return nil
	})
	// Stopping the gateway ends every subscription.
	if err := ts.gw.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-c.done:
		if websocket.CloseStatus(err) != websocket.StatusTryAgainLater || !strings.Contains(err.Error(), "since=") {
			t.Errorf("closed with %v, want 1013 and where to resume", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("websocket still open after its subscription ended")
	}
}
