package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/fakewa"
	"github.com/wa-gateway/wa-gateway/storage"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// waitLimit bounds every wait of these tests; waits poll or block on
// channels, never sleep.
const waitLimit = 20 * time.Second

func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("WA_GATEWAY_TEST_DEBUG") != "" {
		level = wastore.LevelTrace
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

// harness is a fake WhatsApp and a gateway store, with engines opened on
// them as a restarted gateway would.
type harness struct {
	t   *testing.T
	srv *fakewa.Server
	dir string
	db  *storage.DB
	eng *Engine
	cfg Config
}

func newHarness(t *testing.T, fake fakewa.Config, cfg Config) *harness {
	t.Helper()
	fake.Logger = testLogger(t)
	srv, err := fakewa.New(fake)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	h := &harness{t: t, srv: srv, dir: t.TempDir(), cfg: cfg}
	h.start()
	return h
}

// start opens the store and the engine (again, after stop).
func (h *harness) start() {
	h.t.Helper()
	db, err := storage.Open(h.dir, storage.Options{Logger: testLogger(h.t), CacheSize: 1 << 20})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = db.Close() })
	c, err := wastore.New(db, testLogger(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	cfg := h.cfg
	cfg.Logger, cfg.Store = testLogger(h.t), c
	cfg.HTTPClient, cfg.MediaHTTPClient = h.srv.HTTPClient(), h.srv.HTTPClient()
	eng, err := New(context.Background(), cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.db, h.eng = db, eng
}

// stop closes the store, as a gateway shutting down.
func (h *harness) stop() {
	h.t.Helper()
	if err := h.db.Close(); err != nil {
		h.t.Fatal(err)
	}
}

// open opens a device's session with an event recorder.
func (h *harness) open(id int64) (engine.Session, *recorder) {
	h.t.Helper()
	rec := newRecorder()
	sess, err := h.eng.Open(context.Background(), id, rec.emit)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(sess.Close)
	return sess, rec
}

// pair connects an unpaired session and pairs it with phone by QR code;
// it returns the device's JID.
func (h *harness) pair(sess engine.Session, rec *recorder, phone *fakewa.Phone) string {
	h.t.Helper()
	ctx := testContext(h.t)
	if err := sess.Connect(ctx); err != nil {
		h.t.Fatal(err)
	}
	qr := waitEvent[engine.QR](h.t, rec)
	if err := phone.ScanQR(ctx, qr.Code); err != nil {
		h.t.Fatal(err)
	}
	c := waitEvent[engine.Connected](h.t, rec)
	if c.Phone != phone.Number() || c.LID != phone.LID() {
		h.t.Fatalf("Connected = %+v, want phone %s and LID %s", c, phone.Number(), phone.LID())
	}
	devs := phone.Devices()
	if len(devs) == 0 {
		h.t.Fatal("phone lists no device after pairing")
	}
	jid := devs[len(devs)-1]
	if err := h.srv.WaitOnline(ctx, jid); err != nil {
		h.t.Fatalf("device %s never active: %v", jid, err)
	}
	return jid
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// recorder keeps a session's events in order.
type recorder struct {
	mu      sync.Mutex
	events  []engine.Event
	next    int // first event not yet taken by a wait
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) emit(ev engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

// all returns every event so far.
func (r *recorder) all() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.events...)
}

// take waits for the next event (after those already taken) that match
// accepts, skipping the others, and returns it.
func (r *recorder) take(ctx context.Context, match func(engine.Event) bool) (engine.Event, error) {
	for {
		r.mu.Lock()
		for i := r.next; i < len(r.events); i++ {
			if match(r.events[i]) {
				r.next = i + 1
				ev := r.events[i]
				r.mu.Unlock()
				return ev, nil
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, errors.New("timed out")
		}
	}
}

// waitEvent waits for the next event of type T.
func waitEvent[T engine.Event](t *testing.T, r *recorder) T {
	t.Helper()
	return waitMatch(t, r, func(T) bool { return true })
}

// waitMatch waits for the next event of type T that match accepts.
func waitMatch[T engine.Event](t *testing.T, r *recorder, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ev, err := r.take(ctx, func(ev engine.Event) bool {
		e, ok := ev.(T)
		return ok && match(e)
	})
	if err != nil {
		var zero T
		t.Fatalf("no %T event: %v; events so far: %s", zero, err, describeEvents(r.all()))
	}
	return ev.(T)
}

func describeEvents(evs []engine.Event) string {
	s := ""
	for _, ev := range evs {
		s += fmt.Sprintf("\n\t%T %+v", ev, ev)
	}
	return s
}
