package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// harness is a gateway on real pebble with the simulator.
type harness struct {
	t   *testing.T
	db  *storage.DB
	sim *sim.Engine
	gw  *Gateway
	dir string
	ws  int64
}

func simConfig(store sim.Store) sim.Config {
	return sim.Config{Store: store, ConnectDelay: 5 * time.Millisecond, AckDelay: 10 * time.Millisecond, ReadDelay: 10 * time.Millisecond}
}

// dbSimStore keeps sim pairings in the gateway's store, as the server does.
type dbSimStore struct{ db *storage.DB }

func (s dbSimStore) Get(id int64) ([]byte, error) {
	v, err := s.db.GetEngineState(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
func (s dbSimStore) Put(id int64, v []byte) error { return s.db.PutEngineState(id, v) }
func (s dbSimStore) Delete(id int64) error        { return s.db.DeleteEngineState(id) }

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	h.open()
	ws, _, _, err := h.db.CreateAccount(storage.Workspace{Name: "acme"},
		storage.User{Name: "o", Email: "o@example.com"}, storage.APIKey{Kind: storage.KeyLive, Name: "k", Hash: [32]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	h.ws = ws.ID
	return h
}

func (h *harness) open() {
	h.t.Helper()
	db, err := storage.Open(h.dir, storage.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	h.sim = sim.New(simConfig(dbSimStore{db}))
	gw, err := Start(context.Background(), Config{DB: db, Engines: map[string]engine.Engine{"sim": h.sim},
		DefaultRateLimit: pacing.Rate{Limit: 30, Window: time.Minute}})
	if err != nil {
		h.t.Fatal(err)
	}
	h.gw = gw
	h.t.Cleanup(h.close)
}

func (h *harness) close() {
	if h.gw == nil {
		return
	}
	if err := h.gw.Stop(context.Background()); err != nil {
		h.t.Error(err)
	}
	if err := h.db.Close(); err != nil {
		h.t.Error(err)
	}
	h.gw, h.db = nil, nil
}

var keySeq byte = 10

func (h *harness) device(name string) storage.Device {
	h.t.Helper()
	keySeq++
	d, _, err := h.gw.CreateDevice(context.Background(), h.ws, DeviceSpec{Name: name, Engine: "sim"},
		storage.APIKey{Name: name, Hash: [32]byte{keySeq}, Prefix: "dev_"})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
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
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitStatus(id int64, want string) storage.Device {
	h.t.Helper()
	var d storage.Device
	waitFor(h.t, 5*time.Second, func() error {
		var err error
		if d, err = h.gw.Device(context.Background(), h.ws, id); err != nil {
			return err
		}
		if d.Status != want {
			return fmt.Errorf("status %s (%s), want %s", d.Status, d.StatusReason, want)
		}
		return nil
	})
	return d
}

func (h *harness) waitMessage(id, want string) storage.Message {
	h.t.Helper()
	var m storage.Message
	waitFor(h.t, 5*time.Second, func() error {
		var err error
		if m, err = h.gw.Message(context.Background(), h.ws, id); err != nil {
			return err
		}
		if m.Status != want {
			return fmt.Errorf("message status %s, want %s", m.Status, want)
		}
		return nil
	})
	return m
}

// pair connects a device and plays the phone scanning its QR.
func (h *harness) pair(id int64) {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.gw.Connect(ctx, h.ws, id); err != nil {
		h.t.Fatal(err)
	}
	h.waitStatus(id, StatusScanQR)
	if err := h.gw.SandboxScan(ctx, h.ws, id); err != nil {
		h.t.Fatal(err)
	}
	h.waitStatus(id, StatusConnected)
}

func TestCoreFlowThroughTheFacade(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := h.device("primary")
	sub := h.gw.Subscribe(h.ws, SubscribeFilter{DeviceID: d.ID})
	defer sub.Close()

	if _, err := h.gw.QR(ctx, h.ws, d.ID); !errors.Is(err, ErrNoQR) {
		t.Fatalf("QR before connect: %v, want ErrNoQR", err)
	}
	if _, err := h.gw.Connect(ctx, h.ws, d.ID); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(d.ID, StatusScanQR)
	qr, err := h.gw.QR(ctx, h.ws, d.ID)
	if err != nil || qr.Code == "" || !qr.ExpiresAt.After(time.Now()) {
		t.Fatalf("QR = %+v, %v", qr, err)
	}
	if err := h.gw.SandboxScan(ctx, h.ws, d.ID); err != nil {
		t.Fatal(err)
	}
	dev := h.waitStatus(d.ID, StatusConnected)
	if dev.Phone == "" || !dev.Paired || dev.LastSeenAt.IsZero() {
		t.Fatalf("connected device = %+v", dev)
	}

	res, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: d.ID, To: engine.UserJID("628111222333"), Type: engine.TypeText, Text: "Halo!"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Message.Status != MessageQueued || res.Limit.Limit != 30 || res.Limit.Remaining != 29 {
		t.Fatalf("send result = %+v", res)
	}
	sent, err := h.gw.WaitSent(ctx, h.ws, res.Message.ID)
	if err != nil || messageRank(sent.Status) < messageRank(MessageSent) || sent.WAID == "" {
		t.Fatalf("WaitSent = %+v, %v", sent, err)
	}
	read := h.waitMessage(res.Message.ID, MessageRead)
	if read.SentAt.IsZero() || read.DeliveredAt.IsZero() || read.ReadAt.IsZero() {
		t.Fatalf("timestamps missing: %+v", read)
	}
	if got := h.sim.Sent(d.ID); len(got) != 1 || got[0].Text != "Halo!" || got[0].To.User != "628111222333" {
		t.Fatalf("the contact got %+v", got)
	}

	if err := h.gw.SandboxInbound(ctx, h.ws, d.ID, engine.SandboxInbound{From: "628999000111", PushName: "Budi", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	var in storage.Message
	waitFor(t, 5*time.Second, func() error {
		ms, _, err := h.gw.Messages(ctx, h.ws, storage.MessageFilter{DeviceID: d.ID, Direction: "in"})
		if err != nil || len(ms) != 1 {
			return fmt.Errorf("inbound messages: %d, %v", len(ms), err)
		}
		in = ms[0]
		return nil
	})
	if in.Text != "hi" || in.FromPhone != "628999000111" || in.PushName != "Budi" || in.Status != MessageReceived {
		t.Fatalf("inbound = %+v", in)
	}

	// The event stream saw every step, in seq order.
	want := []string{"device.status:CONNECTING", "device.status:SCAN_QR", "device.qr", "device.status:CONNECTED",
		"message.sent", "message.ack:delivered", "message.ack:read", "message.received"}
	var got []string
	var last uint64
	waitFor(t, 5*time.Second, func() error {
		for {
			select {
			case e := <-sub.C:
				if e.Seq <= last {
					t.Fatalf("seq %d after %d", e.Seq, last)
				}
				last = e.Seq
				var d struct{ Status string }
				_ = json.Unmarshal(e.Data, &d)
				name := e.Type
				if d.Status != "" && e.Type != "message.sent" {
					name += ":" + d.Status
				}
				got = append(got, name)
			default:
				if len(got) < len(want) {
					return fmt.Errorf("events so far %v", got)
				}
				return nil
			}
		}
	})
	for i, w := range want {
		if got[i] != w {
			t.Fatalf("events = %v, want %v", got, want)
		}
	}
}

func TestSendErrors(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := h.device("d")
	to := engine.UserJID("628111222333")

	if _, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: d.ID, To: to, Type: engine.TypeText, Text: "x"}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send on an unpaired device: %v, want ErrNotConnected", err)
	}
	if _, err := h.gw.Send(ctx, h.ws+1, SendRequest{DeviceID: d.ID, To: to, Type: engine.TypeText, Text: "x"}); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatalf("send from another workspace: %v, want ErrDeviceNotFound", err)
	}
	h.pair(d.ID)

	res, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: d.ID, To: engine.UserJID("9991234567"), Type: engine.TypeText, Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	m := h.waitMessage(res.Message.ID, MessageFailed)
	if m.Error == nil || m.Error.Code != "not_on_whatsapp" {
		t.Fatalf("failed message = %+v", m)
	}

	// 30/m: 29 more pass (one was used above), the 31st is refused with an exact wait.
	for i := 0; i < 29; i++ {
		if _, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: d.ID, To: to, Type: engine.TypeText, Text: "x"}); err != nil {
			t.Fatalf("send %d: %v", i+2, err)
		}
	}
	_, err = h.gw.Send(ctx, h.ws, SendRequest{DeviceID: d.ID, To: to, Type: engine.TypeText, Text: "x"})
	var rl *RateLimitedError
	if !errors.As(err, &rl) || rl.State.RetryAfter <= 0 || rl.State.Remaining != 0 {
		t.Fatalf("31st send: %v, want *RateLimitedError", err)
	}
	// A refused send stored nothing.
	ms, _, err := h.gw.Messages(ctx, h.ws, storage.MessageFilter{DeviceID: d.ID, Limit: 500})
	if err != nil || len(ms) != 30 {
		t.Fatalf("stored %d messages, want 30 (%v)", len(ms), err)
	}
}

func TestPanicRestartsOnlyThatDevice(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, b := h.device("a"), h.device("b")
	h.pair(a.ID)
	h.pair(b.ID)

	pidA, err := h.gw.spawn(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	h.gw.sys.Root.Send(pidA, crash{})

	// a comes back (its Started reloads it and reconnects the pairing) and
	// b never noticed: it stays connected and keeps sending meanwhile.
	res, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: b.ID, To: engine.UserJID("628111222333"), Type: engine.TypeText, Text: "still here"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitMessage(res.Message.ID, MessageRead)
	h.waitStatus(a.ID, StatusConnected)
	if d, _ := h.gw.Device(ctx, h.ws, b.ID); d.Status != StatusConnected || d.StatusReason != "" {
		t.Fatalf("b after a's crash: %s %s", d.Status, d.StatusReason)
	}
	res, err = h.gw.Send(ctx, h.ws, SendRequest{DeviceID: a.ID, To: engine.UserJID("628111222333"), Type: engine.TypeText, Text: "back"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitMessage(res.Message.ID, MessageRead)
}

func TestRestartReconnectsPairedDevicesAndKeepsQueue(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	paired, unpaired := h.device("paired"), h.device("unpaired")
	h.pair(paired.ID)
	if _, err := h.gw.Disconnect(ctx, h.ws, paired.ID); err != nil {
		t.Fatal(err)
	}
	// Queued while disconnected: accepted, durable, sent after the restart.
	res, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: paired.ID, To: engine.UserJID("628111222333"), Type: engine.TypeText, Text: "later"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.gw.Connect(ctx, h.ws, paired.ID); err != nil {
		t.Fatal(err)
	}
	h.waitMessage(res.Message.ID, MessageRead)
	res2, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: paired.ID, To: engine.UserJID("628111222334"), Type: engine.TypeText, Text: "after restart"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitMessage(res2.Message.ID, MessageRead)

	h.close()
	h.open()
	h.waitStatus(paired.ID, StatusConnected)
	if d, err := h.gw.Device(ctx, h.ws, unpaired.ID); err != nil || d.Status != StatusDisconnected {
		t.Fatalf("unpaired after restart: %+v %v", d, err)
	}
	if m, err := h.gw.Message(ctx, h.ws, res.Message.ID); err != nil || m.Status != MessageRead {
		t.Fatalf("message after restart: %+v %v", m, err)
	}
}

func TestFaults(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := h.device("d")
	h.pair(d.ID)

	// A network drop reconnects by itself.
	if err := h.gw.SandboxFault(ctx, h.ws, d.ID, engine.FaultDisconnect); err != nil {
		t.Fatal(err)
	}
	// The drop is seen (reconnects wait at least half a second), then healed.
	if got := h.waitStatus(d.ID, StatusDisconnected); got.StatusReason != ReasonConnectionLost {
		t.Fatalf("after a drop: %+v", got)
	}
	h.waitStatus(d.ID, StatusConnected)

	// Stream replaced: no reconnect loop.
	if err := h.gw.SandboxFault(ctx, h.ws, d.ID, engine.FaultStreamReplaced); err != nil {
		t.Fatal(err)
	}
	got := h.waitStatus(d.ID, StatusDisconnected)
	if got.StatusReason != ReasonStreamReplaced || got.WantOnline {
		t.Fatalf("after stream replaced: %+v", got)
	}

	// Logged out from the phone: no reconnect, pairing gone.
	if _, err := h.gw.Connect(ctx, h.ws, d.ID); err != nil {
		t.Fatal(err)
	}
	h.waitStatus(d.ID, StatusConnected)
	if err := h.gw.SandboxFault(ctx, h.ws, d.ID, engine.FaultLogout); err != nil {
		t.Fatal(err)
	}
	got = h.waitStatus(d.ID, StatusLoggedOut)
	if got.Paired || got.WantOnline {
		t.Fatalf("after logout: %+v", got)
	}
}

func TestDeleteDevice(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := h.device("d")
	h.pair(d.ID)
	if err := h.gw.DeleteDevice(ctx, h.ws, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.gw.Device(ctx, h.ws, d.ID); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := h.gw.Connect(ctx, h.ws, d.ID); !errors.Is(err, ErrDeviceNotFound) {
		t.Fatalf("connect after delete: %v", err)
	}
	if _, err := h.db.GetEngineState(d.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("engine state after delete: %v", err)
	}
	// The name is free again.
	h.device("d")
}

func TestSlowSubscriberIsCutOff(t *testing.T) {
	h := newHarness(t)
	slow := h.gw.Subscribe(h.ws, SubscribeFilter{})
	fast := h.gw.Subscribe(h.ws, SubscribeFilter{})
	defer fast.Close()
	evs := make([]storage.Event, subscriberBuffer+1)
	for i := range evs {
		evs[i] = storage.Event{Seq: uint64(i + 1), Type: "x", WorkspaceID: h.ws}
	}
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		for range fast.C {
			got.Add(1)
		}
		close(done)
	}()
	// Both buffers hold a full batch; the fast reader drains its own, the
	// slow one never reads, so one more event overflows only the slow one.
	h.gw.hub.publish(h.ws, evs[:subscriberBuffer])
	waitFor(t, 5*time.Second, func() error {
		if n := got.Load(); n < subscriberBuffer {
			return fmt.Errorf("fast subscriber read %d events", n)
		}
		return nil
	})
	h.gw.hub.publish(h.ws, evs[subscriberBuffer:])
	n := 0
	for range slow.C {
		n++
	}
	if n != subscriberBuffer || !errors.Is(slow.Err(), ErrSlowSubscriber) {
		t.Fatalf("slow got %d events, err %v", n, slow.Err())
	}
	if fast.Err() != nil {
		t.Fatalf("fast subscriber cut off: %v", fast.Err())
	}
	waitFor(t, 5*time.Second, func() error {
		if n := got.Load(); n != subscriberBuffer+1 {
			return fmt.Errorf("fast subscriber read %d events", n)
		}
		return nil
	})
	fast.Close()
	<-done
}
