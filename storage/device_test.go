package storage

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func TestDeviceRoundTrip(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "dev@example.com")
	in := Device{ID: 77, WorkspaceID: ws.ID, Name: "Sales phone", Engine: "whatsmeow", Status: "SCAN_QR", StatusReason: "waiting",
		Phone: "+4915100000", LID: "123@lid", PushName: "Sales", Paired: true, WantOnline: true,
		RateLimit: RateLimit{Limit: 30, WindowSeconds: 60}, Pacing: "human", KeyID: 77, KeyPrefix: "ignored",
		CreatedAt: testTime(1), LastSeenAt: testTime(2)}
	d, k, err := db.CreateDevice(in, APIKey{Name: "device", Prefix: "gw_dev_abc", Hash: testHash("dk"), CreatedAt: testTime(1)})
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID, want.KeyID, want.KeyPrefix = d.ID, k.ID, "gw_dev_abc"
	if !reflect.DeepEqual(d, want) {
		t.Errorf("CreateDevice = %+v, want %+v", d, want)
	}
	if k.Kind != KeyDevice || k.DeviceID != d.ID || k.WorkspaceID != ws.ID {
		t.Errorf("device key = %+v", k)
	}
	if got, err := db.GetDevice(d.ID); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("GetDevice = %+v, %v", got, err)
	}
	if got, err := db.GetDeviceByName(ws.ID, "Sales phone"); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("GetDeviceByName = %+v, %v", got, err)
	}
	if got, err := db.GetKeyByHash(k.Hash); err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("device key by hash = %+v, %v", got, err)
	}
	for name, err := range map[string]error{
		"unknown id":      second(db.GetDevice(d.ID + 1)),
		"other case name": second(db.GetDeviceByName(ws.ID, "sales phone")),
		"other workspace": second(db.GetDeviceByName(ws.ID+1, "Sales phone")),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func TestListDevices(t *testing.T) {
	db, _ := openTestDB(t)
	a, _, _ := testAccount(t, db, "a@example.com")
	b, _, _ := testAccount(t, db, "b@example.com")
	a1, _ := testDevice(t, db, a.ID, "one")
	b1, _ := testDevice(t, db, b.ID, "one")
	a2, _ := testDevice(t, db, a.ID, "two")

	if got, err := db.ListDevices(a.ID); err != nil || !reflect.DeepEqual(got, []Device{a1, a2}) {
		t.Errorf("ListDevices(a) = %+v, %v", got, err)
	}
	if got, err := db.ListDevices(b.ID); err != nil || !reflect.DeepEqual(got, []Device{b1}) {
		t.Errorf("ListDevices(b) = %+v, %v", got, err)
	}
	if got, err := db.ListDevices(b.ID + 1); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ListDevices(unknown) = %#v, %v; want an empty list", got, err)
	}
	if got, err := db.ListAllDevices(); err != nil || !reflect.DeepEqual(got, []Device{a1, b1, a2}) {
		t.Errorf("ListAllDevices = %+v, %v", got, err)
	}
}

func TestCreateDeviceRejects(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, wsKey := testAccount(t, db, "rej@example.com")
	testDevice(t, db, ws.ID, "taken")
	for _, tc := range []struct {
		name string
		d    Device
		k    APIKey
		want error
	}{
		{"name taken", Device{WorkspaceID: ws.ID, Name: "taken"}, APIKey{Hash: testHash("1")}, ErrConflict},
		{"key hash taken", Device{WorkspaceID: ws.ID, Name: "new"}, APIKey{Hash: wsKey.Hash}, ErrConflict},
		{"unknown workspace", Device{WorkspaceID: ws.ID + 1, Name: "new"}, APIKey{Hash: testHash("2")}, ErrNotFound},
		{"no name", Device{WorkspaceID: ws.ID}, APIKey{Hash: testHash("3")}, ErrInvalid},
		{"live key", Device{WorkspaceID: ws.ID, Name: "new"}, APIKey{Kind: KeyLive, Hash: testHash("4")}, ErrInvalid},
		{"no key hash", Device{WorkspaceID: ws.ID, Name: "new"}, APIKey{}, ErrInvalid},
	} {
		if _, _, err := db.CreateDevice(tc.d, tc.k); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	// The same name in another workspace is fine.
	other, _, _ := testAccount(t, db, "other@example.com")
	testDevice(t, db, other.ID, "taken")
}

func TestCreateDeviceConcurrentSameName(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "race@example.com")
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, _, errs[i] = db.CreateDevice(Device{WorkspaceID: ws.ID, Name: "same"}, APIKey{Hash: testHash(fmt.Sprint("race ", i))})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrConflict):
			t.Errorf("CreateDevice: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent creates succeeded, want 1", ok, n)
	}
	if devices, err := db.ListDevices(ws.ID); err != nil || len(devices) != 1 {
		t.Errorf("ListDevices = %+v, %v; want one device", devices, err)
	}
}

func TestPutDevice(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "put@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	d, _ := testDevice(t, db, ws.ID, "old name")
	testDevice(t, db, ws.ID, "taken")

	d.Name, d.Status, d.Paired, d.KeyPrefix = "new name", "CONNECTED", true, "tampered"
	if err := db.PutDevice(d); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetDeviceByName(ws.ID, "new name")
	if err != nil || got.Status != "CONNECTED" || !got.Paired {
		t.Errorf("after rename: %+v, %v", got, err)
	}
	if got.KeyPrefix == "tampered" {
		t.Error("PutDevice changed KeyPrefix")
	}
	if _, err := db.GetDeviceByName(ws.ID, "old name"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old name still resolves: %v", err)
	}
	// The old name is free again.
	testDevice(t, db, ws.ID, "old name")

	for _, tc := range []struct {
		name   string
		change func(*Device)
		want   error
	}{
		{"name taken", func(d *Device) { d.Name = "taken" }, ErrConflict},
		{"other workspace", func(d *Device) { d.WorkspaceID = other.ID }, ErrNotFound},
		{"unknown device", func(d *Device) { d.ID = 999 }, ErrNotFound},
		{"no name", func(d *Device) { d.Name = "" }, ErrInvalid},
	} {
		bad := got
		tc.change(&bad)
		if err := db.PutDevice(bad); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if still, err := db.GetDevice(d.ID); err != nil || !reflect.DeepEqual(still, got) {
		t.Errorf("refused updates changed the device: %+v, %v", still, err)
	}
}

func TestDeleteDeviceLeavesNothing(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, wsKey := testAccount(t, db, "gone@example.com")
	d, dk := testDevice(t, db, ws.ID, "doomed")
	keep, _ := testDevice(t, db, ws.ID, "kept")

	var kept []Message
	for i := range 12 {
		for _, dev := range []Device{d, keep} {
			m := Message{ID: NewMessageID(), WorkspaceID: ws.ID, DeviceID: dev.ID, Direction: "out", Chat: "c", Status: []string{"queued", "sent"}[i%2]}
			if i%3 == 0 {
				m.WAID = fmt.Sprint("WA", i)
			}
			if err := db.PutMessage(m); err != nil {
				t.Fatal(err)
			}
			if err := db.RecordChatMessage(m); err != nil {
				t.Fatal(err)
			}
			if dev.ID == keep.ID {
				kept = append(kept, m)
			}
		}
	}
	if err := db.PutEngineState(d.ID, []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := db.PutEngineState(keep.ID, []byte("state")); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []Device{d, keep} {
		if err := db.PutPacerState(dev.ID, []byte(`{"v":1}`)); err != nil {
			t.Fatal(err)
		}
		key := fmt.Sprint("idem-", dev.ID)
		now := testTime(1)
		if _, _, err := db.ReserveIdempotencyKey(IdempotencyRecord{WorkspaceID: ws.ID, Key: key, Fingerprint: "f",
			CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}, now); err != nil {
			t.Fatal(err)
		}
		if err := db.CompleteIdempotencyKey(ws.ID, key, "f", dev.ID, 202, []byte(`{"success":true}`)); err != nil {
			t.Fatal(err)
		}
	}
	ev := Event{ID: NewEventID(), Seq: 1, Type: "device.deleted", WorkspaceID: ws.ID, DeviceID: d.ID, Data: []byte(`{}`)}
	if err := db.AppendEvents([]Event{ev}); err != nil {
		t.Fatal(err)
	}

	if err := db.DeleteDevice(d.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteDevice(d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteDevice: %v, want ErrNotFound", err)
	}

	// Nothing in the whole keyspace refers to the device or its key any more,
	// except the event log.
	err := scan(db.pdb, nil, nil, false, func(k, v []byte) (bool, error) {
		if ref := deviceReference(t, k, v, d.ID, dk); ref != "" {
			t.Errorf("after DeleteDevice: %s (key %q)", ref, k)
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The rest is untouched.
	if evs, err := db.ReadEvents(ws.ID, 0, 10); err != nil || len(evs) != 1 {
		t.Errorf("events after DeleteDevice = %+v, %v", evs, err)
	}
	if _, err := db.GetKey(ws.ID, wsKey.ID); err != nil {
		t.Errorf("workspace key: %v", err)
	}
	if _, err := db.GetEngineState(keep.ID); err != nil {
		t.Errorf("other device's engine state: %v", err)
	}
	if _, err := db.GetPacerState(keep.ID); err != nil {
		t.Errorf("other device's pacer state: %v", err)
	}
	if _, err := db.GetIdempotencyKey(ws.ID, fmt.Sprint("idem-", keep.ID), testTime(2)); err != nil {
		t.Errorf("other device's idempotency answer: %v", err)
	}
	msgs, _, err := db.ListMessages(ws.ID, MessageFilter{Limit: 100})
	if err != nil || len(msgs) != len(kept) {
		t.Errorf("messages after DeleteDevice: %d, %v; want the %d of the other device", len(msgs), err, len(kept))
	}
	queued, err := db.QueuedMessages(keep.ID, 100)
	if err != nil || len(queued) != len(kept)/2 {
		t.Errorf("other device's queue: %d, %v; want %d", len(queued), err, len(kept)/2)
	}
	if _, err := db.GetMessageByWAID(keep.ID, "WA0"); err != nil {
		t.Errorf("other device's WAID index: %v", err)
	}
	// Its name can be used again.
	testDevice(t, db, ws.ID, "doomed")
}

// deviceReference describes how the stored entry k, v refers to the device
// or its key; "" when it does not. It knows every prefix, so a new one makes
// the test fail until it is taught about it.
func deviceReference(t *testing.T, k, v []byte, device int64, key APIKey) string {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("key %q: %v", k, err)
		}
	}
	idValue := func() int64 {
		id, err := decodeID(v)
		must(err)
		return id
	}
	prefix := string(k[:min(len(k), 3)])
	switch prefix {
	case keyFormat, prefixSequence, prefixWorkspace, prefixUser, prefixUserEmail, prefixSession, prefixEvent,
		prefixEventOutbox, prefixWebhook, prefixWebhookCursor, prefixDelivery, // events stay; webhooks filter by device at most
		prefixPlugin, prefixPluginRevision: // so do plugins
		return ""
	case prefixAPIKey:
		var rec apiKeyRecord
		must(decodeRecord(v, &rec))
		if rec.ID == key.ID || rec.DeviceID == device {
			return "key record"
		}
	case prefixAPIKeyHash:
		h, err := parseAPIKeyHashKey(k)
		must(err)
		if h == key.Hash || idValue() == key.ID {
			return "key hash index"
		}
	case prefixWorkspaceAPIKey:
		_, id, err := parseWorkspaceAPIKeyKey(k)
		must(err)
		if id == key.ID {
			return "workspace key listing"
		}
	case prefixDevice:
		id, err := parseDeviceKey(k)
		must(err)
		if id == device {
			return "device record"
		}
	case prefixDeviceName:
		if idValue() == device {
			return "device name index"
		}
	case prefixWorkspaceDevice:
		_, id, err := parseWorkspaceDeviceKey(k)
		must(err)
		if id == device {
			return "workspace device listing"
		}
	case prefixMessage:
		var m Message
		must(decodeRecord(v, &m))
		if m.DeviceID == device {
			return "message record"
		}
	case prefixDeviceMessage, prefixMessageWAID, prefixMessageQueue:
		parse := map[string]func([]byte) (int64, string, error){
			prefixDeviceMessage: parseDeviceMessageKey,
			prefixMessageWAID:   parseMessageWAIDKey,
			prefixMessageQueue:  parseQueueKey,
		}[prefix]
		id, _, err := parse(k)
		must(err)
		if id == device {
			return "message index " + prefix
		}
	case prefixFile, prefixFileChunk, prefixFileExpiry:
		return "" // files belong to the workspace, not to a device
	case prefixChat:
		id, _, err := parseChatKey(k)
		must(err)
		if id == device {
			return "chat"
		}
	case prefixEngineState:
		id, err := parseEngineStateKey(k)
		must(err)
		if id == device {
			return "engine state"
		}
	case prefixPacerState:
		id, err := parsePacerStateKey(k)
		must(err)
		if id == device {
			return "pacer state"
		}
	case prefixIdempotency:
		var rec IdempotencyRecord
		must(decodeRecord(v, &rec))
		if rec.DeviceID == device {
			return "idempotency answer"
		}
	case prefixIdemExpiry:
		_, ws, key, err := parseIdemExpiryKey(k)
		must(err)
		if key == fmt.Sprint("idem-", device) && ws > 0 {
			return "idempotency expiry"
		}
	default:
		t.Fatalf("key %q has a prefix this test does not know", k)
	}
	return ""
}
