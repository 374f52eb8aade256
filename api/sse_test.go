package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func qrFrame(f sseFrame) bool { return f.Event == "qr" }

func TestSSEDeviceFlow(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	id := itoa(d.Device.ID)

	s := ts.openStream(t, "/api/devices/"+id+"/events", admin)
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := s.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q", cc)
	}
	if xa := s.resp.Header.Get("X-Accel-Buffering"); xa != "no" {
		t.Errorf("X-Accel-Buffering = %q", xa)
	}

	// The snapshot: current status, no id line.
	first := s.next(t, 5*time.Second)
	if first.Event != "status" || first.ID != "" {
		t.Fatalf("first frame = %+v", first)
	}
	env := first.envelope(t)
	if env.Type != "device.status" || env.DeviceID != d.Device.ID || env.WorkspaceID != acc.Workspace.ID || env.Seq != 0 || !strings.HasPrefix(env.ID, "evt_") {
		t.Errorf("snapshot envelope = %+v", env)
	}
	var status struct{ Status string }
	if err := json.Unmarshal(env.Data, &status); err != nil || status.Status != "DISCONNECTED" {
		t.Errorf("snapshot data = %s", env.Data)
	}

	ts.do("POST", "/api/devices/"+id+"/connect", nil, admin).ok(t, http.StatusAccepted, nil)
	qr, _ := s.until(t, 5*time.Second, qrFrame)
	if qr.ID == "" {
		t.Error("live qr frame has no id")
	}
	var qrData wireQR
	if err := json.Unmarshal(qr.envelope(t).Data, &qrData); err != nil {
		t.Fatal(err)
	}
	if qrData.Code == "" || !strings.HasPrefix(qrData.Image, "data:image/png;base64,") || qrData.ExpiresAt == nil {
		t.Errorf("qr data = %+v", qrData)
	}

	// A second subscriber joining now gets the QR in its snapshot.
	late := ts.openStream(t, "/api/devices/"+id+"/events", admin)
	snap := late.next(t, 5*time.Second)
	if !statusFrame(t, "SCAN_QR")(snap) || snap.ID != "" {
		t.Errorf("late snapshot status = %+v", snap)
	}
	snapQR := late.next(t, 5*time.Second)
	if snapQR.Event != "qr" || snapQR.ID != "" || !strings.Contains(snapQR.Data, `"image":"data:image/png;base64,`) {
		t.Errorf("late snapshot qr = %+v", snapQR)
	}

	ts.do("POST", "/api/devices/"+id+"/sandbox/scan", nil, admin).ok(t, http.StatusOK, nil)
	connected, _ := s.until(t, 5*time.Second, statusFrame(t, "CONNECTED"))
	var data struct {
		Status string `json:"status"`
		Phone  string `json:"phone"`
	}
	if err := json.Unmarshal(connected.envelope(t).Data, &data); err != nil || data.Phone == "" {
		t.Errorf("connected data = %s", connected.envelope(t).Data)
	}
	late.until(t, 5*time.Second, statusFrame(t, "CONNECTED"))

	// Message events carry their type as the event name.
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": d.Device.ID, "to": "628111222333", "text": "hi"}, admin).ok(t, http.StatusAccepted, nil)
	s.until(t, 10*time.Second, func(f sseFrame) bool { return f.Event == "message.sent" })
}

func TestSSEResume(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	other := ts.createDevice(t, admin, "other", engineSim)
	id := itoa(d.Device.ID)

	s := ts.openStream(t, "/api/devices/"+id+"/events", admin)
	s.next(t, 5*time.Second) // snapshot
	ts.pair(t, admin, d.Device.ID)
	ts.pair(t, admin, other.Device.ID)
	connected, live := s.until(t, 5*time.Second, statusFrame(t, "CONNECTED"))
	var seqs []uint64
	for _, f := range append(live, connected) {
		seq, err := strconv.ParseUint(f.ID, 10, 64)
		if err != nil {
			t.Fatalf("live frame without seq: %+v", f)
		}
		seqs = append(seqs, seq)
	}
	if len(seqs) < 2 {
		t.Fatalf("expected several events before CONNECTED, got %+v", live)
	}

	// Resume after the first event: the rest is replayed, in order, once,
	// only this device's, then the snapshot.
	for _, how := range []struct {
		name string
		path string
		h    cred
	}{
		{"Last-Event-ID", "/api/devices/" + id + "/events", admin.with(headers("Last-Event-ID", strconv.FormatUint(seqs[0], 10)))},
		{"since", "/api/devices/" + id + "/events?since=" + strconv.FormatUint(seqs[0], 10), admin},
	} {
		t.Run(how.name, func(t *testing.T) {
			r := ts.openStream(t, how.path, how.h)
			var replayed []uint64
			last := uint64(seqs[0])
			for {
				f := r.next(t, 5*time.Second)
				if f.ID == "" {
					if !statusFrame(t, "CONNECTED")(f) {
						t.Errorf("snapshot after replay = %+v", f)
					}
					break
				}
				seq, _ := strconv.ParseUint(f.ID, 10, 64)
				if seq <= last {
					t.Fatalf("seq %d after %d: replay out of order or duplicated", seq, last)
				}
				last = seq
				if env := f.envelope(t); env.DeviceID != d.Device.ID {
					t.Errorf("replayed an event of device %d", env.DeviceID)
				}
				replayed = append(replayed, seq)
			}
			if fmt.Sprint(replayed) != fmt.Sprint(seqs[1:]) {
				t.Errorf("replayed %v, want %v", replayed, seqs[1:])
			}
		})
	}

	r := ts.do("GET", "/api/devices/"+id+"/events", nil, admin.with(headers("Last-Event-ID", "yesterday")))
	r.fails(t, http.StatusBadRequest, "validation_failed")
}

func TestSSEOutlivesWriteTimeout(t *testing.T) {
	const writeTimeout = 200 * time.Millisecond
	ts := newTestServer(t,
		withConfig(func(c *Config) { c.WriteTimeout = writeTimeout }),
		withServer(func(s *Server) { s.heartbeat = 10 * time.Millisecond }))
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)

	s := ts.openStream(t, "/api/devices/"+itoa(d.Device.ID)+"/events", admin)
	s.next(t, 5*time.Second)
	// Enough heartbeats that the stream has been open for several write
	// timeouts.
	pings := 0
	deadline := time.After(10 * time.Second)
	for opened := time.Now(); pings < 20 || time.Since(opened) < 3*writeTimeout; {
		select {
		case <-s.pings:
			pings++
		case err := <-s.done:
			t.Fatalf("stream ended after %d pings: %v", pings, err)
		case <-deadline:
			t.Fatalf("only %d pings", pings)
		}
	}
	ts.do("POST", "/api/devices/"+itoa(d.Device.ID)+"/connect", nil, admin).ok(t, http.StatusAccepted, nil)
	s.until(t, 5*time.Second, qrFrame)
}

func TestShutdownEndsStreams(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	streams := []*sseClient{
		ts.openStream(t, "/api/devices/"+itoa(d.Device.ID)+"/events", admin),
		ts.openStream(t, "/api/devices/"+itoa(d.Device.ID)+"/events", apiKey(d.DeviceAPIKey)),
	}
	for _, s := range streams {
		s.next(t, 5*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for i, s := range streams {
		select {
		case err := <-s.done:
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream %d ended with %v, want a clean end", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("stream %d still open after shutdown", i)
		}
	}
}

func TestSSEEndsWhenGatewayStops(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	s := ts.openStream(t, "/api/devices/"+itoa(d.Device.ID)+"/events", admin)
	s.next(t, 5*time.Second)
	if err := ts.gw.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after its subscription ended")
	}
	ts.do("GET", "/readyz", nil, nil).fails(t, http.StatusServiceUnavailable, "not_ready")
}

func TestSSEClientGoneEndsStream(t *testing.T) {
	ts := newTestServer(t, withServer(func(s *Server) { s.heartbeat = 10 * time.Millisecond }))
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	s := ts.openStream(t, "/api/devices/"+itoa(d.Device.ID)+"/events", admin)
	s.next(t, 5*time.Second)
	if n := ts.srv.streams.open(); n != 1 {
		t.Fatalf("%d streams open, want 1", n)
	}
	s.close()
	// The next heartbeat fails to flush; the stream ends and its
	// subscription is closed.
	waitFor(t, 5*time.Second, func() error {
		if n := ts.srv.streams.open(); n != 0 {
			return fmt.Errorf("%d streams still open", n)
		}
		return nil
	})
}
