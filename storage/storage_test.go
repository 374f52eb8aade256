package storage

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// openTestDB opens a database in a fresh directory and closes it when the
// test ends.
func openTestDB(t *testing.T) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db := openTestDir(t, dir)
	return db, dir
}

// openTestDir opens the database in dir and closes it (if still open) when
// the test ends.
func openTestDir(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(dir, Options{Logger: testLogger(t), CacheSize: 1 << 20})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testHash(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// testAccount creates a workspace with an owner and a live key.
func testAccount(t *testing.T, db *DB, email string) (Workspace, User, APIKey) {
	t.Helper()
	ws, u, k, err := db.CreateAccount(
		Workspace{Name: "ws " + email, CreatedAt: testTime(0)},
		User{Name: "owner", Email: email, PasswordHash: "$argon2id$x", Role: "owner", CreatedAt: testTime(0)},
		APIKey{Kind: KeyLive, Name: "default", Prefix: "gw_live_" + email, Hash: testHash("key " + email), CreatedAt: testTime(0)},
	)
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", email, err)
	}
	return ws, u, k
}

// testKeys numbers the device keys of testDevice, so that their hashes differ.
var testKeys atomic.Int64

// testDevice creates a device with its key in workspace ws.
func testDevice(t *testing.T, db *DB, ws int64, name string) (Device, APIKey) {
	t.Helper()
	d, k, err := db.CreateDevice(
		Device{WorkspaceID: ws, Name: name, Engine: "sim", Status: "DISCONNECTED", RateLimit: RateLimit{Limit: 10, WindowSeconds: 60}, CreatedAt: testTime(0)},
		APIKey{Prefix: "gw_dev_" + name, Hash: testHash(fmt.Sprint("device key ", testKeys.Add(1))), CreatedAt: testTime(0)},
	)
	if err != nil {
		t.Fatalf("CreateDevice(%d, %s): %v", ws, name, err)
	}
	return d, k
}

// testTime is a fixed instant plus n seconds, in UTC like stored times.
func testTime(n int) time.Time {
	return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
}

func TestOpenCreatesFormatAndPing(t *testing.T) {
	db, _ := openTestDB(t)
	if err := db.Ping(); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	v, err := get(db.pdb, formatKey())
	if err != nil {
		t.Fatalf("format key: %v", err)
	}
	if got, _ := decodeUint64(v); got != formatVersion {
		t.Fatalf("format version = %d, want %d", got, formatVersion)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	db := openTestDir(t, dir)
	ws, u, key := testAccount(t, db, "keep@example.com")
	d, dkey := testDevice(t, db, ws.ID, "phone")
	m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Direction: "out", Chat: "1@s.whatsapp.net", Type: "text", Text: "hi", Status: "queued", CreatedAt: testTime(1)}
	if err := db.PutMessage(m); err != nil {
		t.Fatal(err)
	}
	ev := Event{ID: NewEventID(), Seq: 1, Type: "message.queued", CreatedAt: testTime(1), WorkspaceID: ws.ID, DeviceID: d.ID, Data: []byte(`{"id":"x"}`)}
	if err := db.AppendEvents([]Event{ev}); err != nil {
		t.Fatal(err)
	}
	sess := Session{Hash: testHash("token"), UserID: u.ID, WorkspaceID: ws.ID, CreatedAt: testTime(0), ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := db.PutSession(sess); err != nil {
		t.Fatal(err)
	}
	if err := db.PutEngineState(d.ID, []byte("paired")); err != nil {
		t.Fatal(err)
	}
	// Not synced, but Close flushes.
	if err := db.TouchKeys(map[int64]time.Time{key.ID: testTime(5)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openTestDir(t, dir)
	check := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("after reopen, %s: %v", what, err)
		}
	}
	gotWS, err := db.GetWorkspace(ws.ID)
	check("workspace", err)
	gotUser, err := db.GetUserByEmail("keep@example.com")
	check("user", err)
	gotKey, err := db.GetKeyByHash(key.Hash)
	check("key", err)
	gotDevice, err := db.GetDeviceByName(ws.ID, "phone")
	check("device", err)
	gotDeviceKey, err := db.GetKey(ws.ID, dkey.ID)
	check("device key", err)
	gotMsg, err := db.GetMessage(ws.ID, m.ID)
	check("message", err)
	queued, err := db.QueuedMessages(d.ID, 0)
	check("queue", err)
	evs, err := db.ReadEvents(ws.ID, 0, 10)
	check("events", err)
	gotSess, err := db.GetSession(sess.Hash)
	check("session", err)
	state, err := db.GetEngineState(d.ID)
	check("engine state", err)

	key.LastUsedAt = testTime(5)
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"workspace", gotWS, ws},
		{"user", gotUser, u},
		{"key", gotKey, key},
		{"device", gotDevice, d},
		{"device key", gotDeviceKey, dkey},
		{"message", gotMsg, m},
		{"queue", queued, []Message{m}},
		{"events", evs, []Event{ev}},
		{"session", gotSess, sess},
		{"engine state", state, []byte("paired")},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("after reopen, %s = %+v, want %+v", c.what, c.got, c.want)
		}
	}

	// Sequences continue where they were.
	d2, _ := testDevice(t, db, ws.ID, "second")
	if d2.ID <= d.ID || d2.KeyID <= dkey.ID {
		t.Errorf("after reopen, device %d key %d, want above %d and %d", d2.ID, d2.KeyID, d.ID, dkey.ID)
	}
}

func TestOpenRefusesNewerFormat(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	setRawFormat(t, dir, encodeUint64(formatVersion+1))

	if db, err := Open(dir, Options{}); !errors.Is(err, ErrFormatTooNew) {
		if err == nil {
			db.Close()
		}
		t.Fatalf("Open of format %d: err = %v, want ErrFormatTooNew", formatVersion+1, err)
	}
	// The refused database was closed again: it opens once the version fits.
	setRawFormat(t, dir, encodeUint64(formatVersion))
	openTestDir(t, dir)
}

func TestOpenRefusesUnversionedOrCorruptFormat(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(p *pebble.DB) error
	}{
		{"data without format key", func(p *pebble.DB) error { return p.Set([]byte("zz"), []byte("x"), pebble.Sync) }},
		{"short format value", func(p *pebble.DB) error { return p.Set(formatKey(), []byte{1}, pebble.Sync) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{log: testLogger(t)}})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(p); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			db, err := Open(dir, Options{})
			if !errors.Is(err, ErrCorrupt) {
				if err == nil {
					db.Close()
				}
				t.Fatalf("Open: err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// setRawFormat overwrites the format key of the closed database in dir.
func setRawFormat(t *testing.T, dir string, v []byte) {
	t.Helper()
	p, err := pebble.Open(dir, &pebble.Options{Logger: pebbleLogger{log: testLogger(t)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set(formatKey(), v, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestErrClosedAfterClose(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, key := testAccount(t, db, "closed@example.com")
	d, _ := testDevice(t, db, ws.ID, "phone")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	msg := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: d.ID, Status: "queued"}
	ignore2 := func(_ any, err error) error { return err }
	ignore3 := func(_, _ any, err error) error { return err }
	ignore4 := func(_, _, _ any, err error) error { return err }
	for name, call := range map[string]func() error{
		"Close": db.Close,
		"Ping":  db.Ping,
		"CreateAccount": func() error {
			return ignore4(db.CreateAccount(Workspace{}, User{Email: "x@example.com"}, APIKey{Kind: KeyLive, Hash: testHash("x")}))
		},
		"GetWorkspace":          func() error { return ignore2(db.GetWorkspace(ws.ID)) },
		"GetUser":               func() error { return ignore2(db.GetUser(1)) },
		"GetUserByEmail":        func() error { return ignore2(db.GetUserByEmail("closed@example.com")) },
		"PutSession":            func() error { return db.PutSession(Session{Hash: testHash("s")}) },
		"GetSession":            func() error { return ignore2(db.GetSession(testHash("s"))) },
		"DeleteSession":         func() error { return db.DeleteSession(testHash("s")) },
		"DeleteExpiredSessions": func() error { return ignore2(db.DeleteExpiredSessions(time.Now())) },
		"CreateKey": func() error {
			return ignore2(db.CreateKey(APIKey{WorkspaceID: ws.ID, Kind: KeyTest, Hash: testHash("y")}))
		},
		"GetKey":       func() error { return ignore2(db.GetKey(ws.ID, key.ID)) },
		"GetKeyByHash": func() error { return ignore2(db.GetKeyByHash(key.Hash)) },
		"ListKeys":     func() error { return ignore2(db.ListKeys(ws.ID)) },
		"DeleteKey":    func() error { return db.DeleteKey(ws.ID, key.ID) },
		"ReplaceKey":   func() error { return ignore2(db.ReplaceKey(ws.ID, key.ID, APIKey{Hash: testHash("z")})) },
		"TouchKeys":    func() error { return db.TouchKeys(map[int64]time.Time{key.ID: time.Now()}) },
		"CreateDevice": func() error {
			return ignore3(db.CreateDevice(Device{WorkspaceID: ws.ID, Name: "n"}, APIKey{Hash: testHash("d")}))
		},
		"GetDevice":         func() error { return ignore2(db.GetDevice(d.ID)) },
		"GetDeviceByName":   func() error { return ignore2(db.GetDeviceByName(ws.ID, "phone")) },
		"ListDevices":       func() error { return ignore2(db.ListDevices(ws.ID)) },
		"ListAllDevices":    func() error { return ignore2(db.ListAllDevices()) },
		"PutDevice":         func() error { return db.PutDevice(d) },
		"DeleteDevice":      func() error { return db.DeleteDevice(d.ID) },
		"PutMessage":        func() error { return db.PutMessage(msg) },
		"GetMessage":        func() error { return ignore2(db.GetMessage(ws.ID, msg.ID)) },
		"GetMessageByWAID":  func() error { return ignore2(db.GetMessageByWAID(d.ID, "W")) },
		"ListMessages":      func() error { return ignore3(db.ListMessages(ws.ID, MessageFilter{})) },
		"QueuedMessages":    func() error { return ignore2(db.QueuedMessages(d.ID, 10)) },
		"AppendEvents":      func() error { return db.AppendEvents([]Event{{WorkspaceID: ws.ID, Seq: 1}}) },
		"LastEventSeq":      func() error { return ignore2(db.LastEventSeq(ws.ID)) },
		"ReadEvents":        func() error { return ignore2(db.ReadEvents(ws.ID, 0, 10)) },
		"GetEngineState":    func() error { return ignore2(db.GetEngineState(d.ID)) },
		"PutEngineState":    func() error { return db.PutEngineState(d.ID, []byte("x")) },
		"DeleteEngineState": func() error { return db.DeleteEngineState(d.ID) },
	} {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}

// Close must wait for readers that are inside the DB and turn the later
// ones away, instead of letting pebble panic.
func TestCloseWhileReading(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "race@example.com")
	const readers = 8
	var started, done sync.WaitGroup
	errs := make(chan error, readers)
	started.Add(readers)
	done.Add(readers)
	for i := range readers {
		go func() {
			defer done.Done()
			first := true
			for {
				var err error
				if i%2 == 0 {
					err = db.Ping()
				} else {
					_, _, err = db.ListMessages(ws.ID, MessageFilter{})
				}
				if first {
					started.Done()
					first = false
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	started.Wait()
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("readers did not stop after Close")
	}
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("reader stopped with %v, want ErrClosed", err)
		}
	}
}

func TestPebbleLogger(t *testing.T) {
	var mu sync.Mutex
	var got []slog.Level
	l := pebbleLogger{log: slog.New(recordLevels(func(lv slog.Level) {
		mu.Lock()
		got = append(got, lv)
		mu.Unlock()
	}))}
	l.Infof("flushed %d", 1)
	l.Errorf("background error: %v", "x")
	if want := []slog.Level{slog.LevelDebug, slog.LevelError}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("levels = %v, want %v", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("Fatalf returned, want a panic")
		}
	}()
	l.Fatalf("invariant broken")
}

// recordLevels is a slog.Handler that reports each record's level.
type recordLevels func(slog.Level)

func (recordLevels) Enabled(context.Context, slog.Level) bool { return true }

func (h recordLevels) Handle(_ context.Context, r slog.Record) error {
	h(r.Level)
	return nil
}

func (h recordLevels) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordLevels) WithGroup(string) slog.Handler      { return h }
