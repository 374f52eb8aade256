package sim

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// waitFor polls cond until it returns nil, and fails the test when the
// deadline passes first. Only for the test's own goroutine.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	if err := poll(timeout, cond); err != nil {
		t.Fatal(err)
	}
}

// poll calls cond until it returns nil or the deadline passes, and then
// returns cond's last error.
func poll(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *recorder) snapshot() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.events...)
}

// TestSimConcurrentDevices runs several devices at once on one engine, in
// real time, each driven from several goroutines, and checks that every
// device sees its own events in order, one emit at a time, and that no
// goroutine outlives Close.
func TestSimConcurrentDevices(t *testing.T) {
	before := runtime.NumGoroutine()
	eng := New(Config{
		Store:        NewMemoryStore(),
		ConnectDelay: time.Millisecond,
		AckDelay:     time.Millisecond,
		ReadDelay:    time.Millisecond,
	})
	const devices, senders, perSender = 8, 3, 10

	var wg sync.WaitGroup
	for id := int64(1); id <= devices; id++ {
		wg.Go(func() { runDevice(t, eng, id, senders, perSender) })
	}
	wg.Wait()

	for id := int64(1); id <= devices; id++ {
		seen := make(map[string]int)
		for _, m := range eng.Sent(id) {
			seen[m.WAID]++
			if want := fmt.Sprintf("device %d", id); m.Text != want {
				t.Errorf("device %d sent %q, want %q", id, m.Text, want)
			}
		}
		if len(seen) != senders*perSender {
			t.Errorf("device %d: %d distinct messages arrived, want %d", id, len(seen), senders*perSender)
		}
		for waid, n := range seen {
			if n != 1 {
				t.Errorf("device %d: message %s arrived %d times", id, waid, n)
			}
		}
	}
	waitFor(t, 5*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			return fmt.Errorf("%d goroutines, %d before the test", n, before)
		}
		return nil
	})
}

func runDevice(t *testing.T, eng *Engine, id int64, senders, perSender int) {
	rec := &recorder{t: t}
	sess, err := eng.Open(t.Context(), id, rec.emit)
	if err != nil {
		t.Errorf("Open(%d): %v", id, err)
		return
	}
	defer func() {
		sess.Close()
		rec.closed.Store(true)
	}()
	sb := sess.(engine.Sandbox)
	if err := sess.Connect(t.Context()); err != nil {
		t.Errorf("device %d: Connect: %v", id, err)
		return
	}
	if err := poll(5*time.Second, func() error { return sb.Scan(t.Context()) }); err != nil {
		t.Errorf("device %d: Scan: %v", id, err)
		return
	}

	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range perSender {
				msg := engine.OutMessage{WAID: sess.NewMessageID(), To: engine.UserJID("4915112345678"), Type: engine.TypeText, Text: fmt.Sprintf("device %d", id)}
				if _, err := sess.Send(t.Context(), msg); err != nil {
					t.Errorf("device %d: Send: %v", id, err)
				}
			}
		})
	}
	wg.Go(func() {
		for range perSender {
			if err := sb.Inbound(t.Context(), engine.SandboxInbound{From: "4915112345678", Text: "hi"}); err != nil {
				t.Errorf("device %d: Inbound: %v", id, err)
			}
		}
	})
	wg.Wait()

	want := senders * perSender
	err = poll(5*time.Second, func() error {
		if n := countReceipts(rec.snapshot(), engine.ReceiptRead); n != want {
			return fmt.Errorf("%d read receipts, want %d", n, want)
		}
		return nil
	})
	if err != nil {
		t.Errorf("device %d: %v", id, err)
		return
	}

	// Per message: delivered strictly before read; per device: Connected
	// first with the device's own number.
	events := rec.snapshot()
	var connected *engine.Connected
	delivered := make(map[string]bool)
	inbound := 0
	for _, ev := range events {
		switch ev := ev.(type) {
		case engine.Connected:
			connected = &ev
		case engine.Message:
			inbound++
		case engine.Receipt:
			if connected == nil {
				t.Errorf("device %d: receipt before Connected", id)
			}
			waid := ev.WAIDs[0]
			switch ev.Status {
			case engine.ReceiptDelivered:
				if delivered[waid] {
					t.Errorf("device %d: %s delivered twice", id, waid)
				}
				delivered[waid] = true
			case engine.ReceiptRead:
				if !delivered[waid] {
					t.Errorf("device %d: %s read before delivered", id, waid)
				}
			}
		}
	}
	if connected == nil || connected.Phone != sandboxPairing(id).Phone {
		t.Errorf("device %d: Connected %+v, want phone %s", id, connected, sandboxPairing(id).Phone)
	}
	if inbound != perSender {
		t.Errorf("device %d: %d inbound messages, want %d", id, inbound, perSender)
	}
}

func countReceipts(events []engine.Event, status engine.ReceiptStatus) int {
	n := 0
	for _, ev := range events {
		if r, ok := ev.(engine.Receipt); ok && r.Status == status {
			n++
		}
	}
	return n
}
