package wastore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"testing"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wa-gateway/wa-gateway/storage"
)

// openDB opens a gateway database in dir and closes it when the test ends
// (if the test did not).
func openDB(t *testing.T, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{Logger: slog.New(slog.DiscardHandler), CacheSize: 1 << 20})
	if err != nil {
		t.Fatalf("open storage: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.Errorf("close storage: %v", err)
		}
	})
	return db
}

func newContainer(t *testing.T, db *storage.DB) *Container {
	t.Helper()
	c, err := New(db, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// pairedDevice returns gateway device id's whatsmeow device, saved as
// whatsmeow saves it at pairing.
func pairedDevice(t *testing.T, c *Container, id int64, phone string) *store.Device {
	t.Helper()
	ctx := context.Background()
	d, err := c.Device(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	jid := types.NewADJID(phone, 0, 3)
	d.ID = &jid
	d.LID = types.NewADJID("9"+phone, 0, 3)
	d.LID.Server = types.HiddenUserServer
	d.Account = &waAdv.ADVSignedDeviceIdentity{
		Details: []byte("details"), AccountSignature: bytes.Repeat([]byte{1}, 64),
		AccountSignatureKey: bytes.Repeat([]byte{2}, 32), DeviceSignature: bytes.Repeat([]byte{3}, 64),
	}
	d.Platform, d.PushName, d.BusinessName = "android", "Alice", "Alice Ltd"
	if err := d.Save(ctx); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return d
}

// namespaceKeys lists the keys stored under the whole "wa/" namespace.
func namespaceKeys(t *testing.T, c *Container, prefix []byte) []string {
	t.Helper()
	var out []string
	err := c.ns.Scan(prefix, false, func(k, _ []byte) (bool, error) {
		out = append(out, string(k))
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeviceLifecycle(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, dir)
	c := newContainer(t, db)

	fresh, err := c.Device(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.ID != nil || fresh.Initialized || fresh.Container == nil || fresh.NoiseKey == nil || fresh.SignedPreKey == nil {
		t.Fatalf("fresh device = %+v; want unpaired keys with a container", fresh)
	}
	if err := fresh.Save(ctx); !errors.Is(err, ErrNoJID) {
		t.Errorf("Save before pairing = %v, want ErrNoJID", err)
	}
	if ids, err := c.Devices(ctx); err != nil || len(ids) != 0 {
		t.Errorf("Devices before pairing = %v, %v", ids, err)
	}

	d := pairedDevice(t, c, 7, "15550000007")
	if !d.Initialized || d.Identities == nil || d.EventBuffer == nil || d.LIDs == nil {
		t.Fatalf("saved device has no stores: %+v", d)
	}
	other := pairedDevice(t, c, 8, "15550000008")
	if err := d.Sessions.PutSession(ctx, "15550009999:0", []byte("session")); err != nil {
		t.Fatal(err)
	}
	if err := other.Sessions.PutSession(ctx, "15550009999:0", []byte("other session")); err != nil {
		t.Fatal(err)
	}
	// Saving again (a LID or push name update) keeps the stores.
	d.PushName = "Alice B"
	if err := d.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Sessions.GetSession(ctx, "15550009999:0"); string(v) != "session" {
		t.Fatalf("second Save lost the session: %q", v)
	}

	// A restart: everything comes back from pebble.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	c = newContainer(t, db)
	got, err := c.Device(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == nil || *got.ID != *d.ID || got.LID != d.LID || !got.Initialized {
		t.Fatalf("reloaded device = %v / %v, want %v / %v", got.ID, got.LID, d.ID, d.LID)
	}
	if *got.NoiseKey.Priv != *d.NoiseKey.Priv || *got.IdentityKey.Pub != *d.IdentityKey.Pub ||
		*got.SignedPreKey.Priv != *d.SignedPreKey.Priv || *got.SignedPreKey.Signature != *d.SignedPreKey.Signature ||
		got.SignedPreKey.KeyID != d.SignedPreKey.KeyID || got.RegistrationID != d.RegistrationID ||
		!bytes.Equal(got.AdvSecretKey, d.AdvSecretKey) {
		t.Error("reloaded keys differ")
	}
	if !bytes.Equal(got.Account.AccountSignatureKey, d.Account.AccountSignatureKey) || !bytes.Equal(got.Account.DeviceSignature, d.Account.DeviceSignature) ||
		got.PushName != "Alice B" || got.Platform != "android" || got.BusinessName != "Alice Ltd" {
		t.Errorf("reloaded account/names differ: %+v", got)
	}
	if v, _ := got.Sessions.GetSession(ctx, "15550009999:0"); string(v) != "session" {
		t.Errorf("reloaded session = %q", v)
	}
	ids, err := c.Devices(ctx)
	if err != nil || len(ids) != 2 || ids[7] != *d.ID || ids[8] != *other.ID {
		t.Errorf("Devices = %v, %v", ids, err)
	}

	// Logout (whatsmeow's Delete) removes every key of the device and
	// nothing of the other one.
	if err := got.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if got.ID != nil {
		t.Error("Delete left the JID on the device")
	}
	if keys := namespaceKeys(t, c, devicePrefix(7)); len(keys) != 0 {
		t.Errorf("keys left after Delete: %q", keys)
	}
	if again, err := c.Device(ctx, 7); err != nil || again.ID != nil {
		t.Errorf("Device after Delete = %v, %v; want a fresh one", again.ID, err)
	}
	if ids, _ := c.Devices(ctx); len(ids) != 1 || ids[8] != *other.ID {
		t.Errorf("Devices after Delete = %v", ids)
	}
	if other, err = c.Device(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if v, err := other.Sessions.GetSession(ctx, "15550009999:0"); string(v) != "other session" {
		t.Errorf("other device's session = %q, %v", v, err)
	}

	// Forget does the same by id; forgetting nothing is fine.
	if err := c.Forget(ctx, 8); err != nil {
		t.Fatal(err)
	}
	if err := c.Forget(ctx, 8); err != nil {
		t.Errorf("second Forget: %v", err)
	}
	if keys := namespaceKeys(t, c, []byte(prefixDevice)); len(keys) != 0 {
		t.Errorf("keys left after Forget: %q", keys)
	}
}

func TestNewPairingStartsEmpty(t *testing.T) {
	ctx := context.Background()
	c := newContainer(t, openDB(t, t.TempDir()))
	d := pairedDevice(t, c, 1, "15550000001")
	// A write that lands after the device was deleted (a decryption still
	// in flight at logout) must not reach the next pairing.
	if err := d.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.ns.Set(sessionKey(1, "15550009999:0"), []byte("stale")); err != nil {
		t.Fatal(err)
	}
	next := pairedDevice(t, c, 1, "15550000001")
	if v, err := next.Sessions.GetSession(ctx, "15550009999:0"); err != nil || v != nil {
		t.Errorf("new pairing sees %q, %v", v, err)
	}
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	c := newContainer(t, db)
	v, err := c.ns.Get(schemaKey())
	if err != nil || binary.BigEndian.Uint64(v) != schemaVersion {
		t.Fatalf("schema version = %x, %v", v, err)
	}
	if _, err := New(db, nil); err != nil {
		t.Errorf("reopen with the same version: %v", err)
	}
	if err := c.ns.Set(schemaKey(), binary.BigEndian.AppendUint64(nil, schemaVersion+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := New(db, nil); !errors.Is(err, ErrFormatTooNew) {
		t.Errorf("New over a newer format = %v, want ErrFormatTooNew", err)
	}
	if err := c.ns.Set(schemaKey(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := New(db, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("New over a corrupt version = %v, want ErrCorrupt", err)
	}
}

func TestWAVersion(t *testing.T) {
	ctx := context.Background()
	c := newContainer(t, openDB(t, t.TempDir()))
	if v, err := c.WAVersion(ctx); err != nil || !v.IsZero() {
		t.Fatalf("WAVersion before Put = %v, %v", v, err)
	}
	want := store.WAVersionContainer{2, 3000, 1234567890}
	if err := c.PutWAVersion(ctx, want); err != nil {
		t.Fatal(err)
	}
	if v, err := c.WAVersion(ctx); err != nil || v != want {
		t.Errorf("WAVersion = %v, %v; want %v", v, err, want)
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	l := Logger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), "Client")
	l.Errorf("boom %d", 1)
	l.Warnf("careful")
	l.Infof("chatty")
	l.Sub("Recv").Debugf("node dump")
	out := buf.String()
	for _, want := range []string{"level=ERROR msg=\"boom 1\" module=Client", "level=WARN msg=careful", "level=DEBUG msg=chatty"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("log output lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains([]byte(out), []byte("node dump")) {
		t.Errorf("whatsmeow debug logs shown at debug level:\n%s", out)
	}
	buf.Reset()
	l = Logger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: LevelTrace})), "Client")
	l.Sub("Recv").Debugf("node dump")
	if !bytes.Contains(buf.Bytes(), []byte("module=Client/Recv")) {
		t.Errorf("trace output = %s", buf.String())
	}
}
