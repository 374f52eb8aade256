package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// testConfig is a configuration with the default delays and a seeded
// random source.
func testConfig(store Store) Config {
	return Config{Store: store, Rand: rand.NewChaCha8([32]byte{1, 2, 3})}
}

// recorder collects a session's events and fails the test on an emit
// after Close returned or on two emits at once.
type recorder struct {
	t      *testing.T
	mu     sync.Mutex
	events []engine.Event
	inside atomic.Int32
	closed atomic.Bool
}

func (r *recorder) emit(ev engine.Event) {
	if r.inside.Add(1) != 1 {
		r.t.Errorf("concurrent emit of %#v", ev)
	}
	defer r.inside.Add(-1)
	if r.closed.Load() {
		r.t.Errorf("emit after Close: %#v", ev)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

// take returns the events recorded since the last take.
func (r *recorder) take() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// device is an open session under test with its recorder.
type device struct {
	t   *testing.T
	id  int64
	s   *Session
	rec *recorder
}

func openDevice(t *testing.T, eng *Engine, id int64) *device {
	t.Helper()
	rec := &recorder{t: t}
	s, err := eng.Open(t.Context(), id, rec.emit)
	if err != nil {
		t.Fatalf("Open(%d): %v", id, err)
	}
	d := &device{t: t, id: id, s: s.(*Session), rec: rec}
	t.Cleanup(d.close)
	return d
}

func (d *device) close() {
	d.s.Close()
	d.rec.closed.Store(true)
}

// advance lets the fake clock run for dur and waits until the session has
// done everything due by then.
func advance(dur time.Duration) {
	time.Sleep(dur)
	synctest.Wait()
}

// expect checks the events recorded since the last call.
func (d *device) expect(want ...engine.Event) {
	d.t.Helper()
	got := d.rec.take()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		d.t.Fatalf("events:\n got  %s\n want %s", fmtEvents(got), fmtEvents(want))
	}
}

// expectTypes checks the types of the events recorded since the last call
// and returns them.
func (d *device) expectTypes(want ...engine.Event) []engine.Event {
	d.t.Helper()
	got := d.rec.take()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = reflect.TypeOf(got[i]) == reflect.TypeOf(want[i])
	}
	if !ok {
		d.t.Fatalf("event types:\n got  %s\n want %s", fmtEvents(got), fmtEvents(want))
	}
	return got
}

func fmtEvents(evs []engine.Event) string {
	s := "["
	for i, ev := range evs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%T%+v", ev, ev)
	}
	return s + "]"
}

// connectPaired connects a device and pairs it by scanning its first QR.
func (d *device) connectPaired() engine.Connected {
	d.t.Helper()
	d.connectToQR()
	if err := d.s.Scan(d.t.Context()); err != nil {
		d.t.Fatalf("Scan: %v", err)
	}
	return d.expectTypes(engine.Connected{})[0].(engine.Connected)
}

// connectToQR connects an unpaired device and waits for its first QR.
func (d *device) connectToQR() engine.QR {
	d.t.Helper()
	if err := d.s.Connect(d.t.Context()); err != nil {
		d.t.Fatalf("Connect: %v", err)
	}
	advance(DefaultConnectDelay)
	return d.expectTypes(engine.QR{})[0].(engine.QR)
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// failingStore is a Store whose calls fail on demand.
type failingStore struct {
	*MemoryStore
	failGet, failPut, failDelete atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *failingStore) Get(id int64) ([]byte, error) {
	if s.failGet.Load() {
		return nil, errStoreDown
	}
	return s.MemoryStore.Get(id)
}

func (s *failingStore) Put(id int64, v []byte) error {
	if s.failPut.Load() {
		return errStoreDown
	}
	return s.MemoryStore.Put(id, v)
}

func (s *failingStore) Delete(id int64) error {
	if s.failDelete.Load() {
		return errStoreDown
	}
	return s.MemoryStore.Delete(id)
}
