package storage

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestKeyRoundTripAndList(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, first := testAccount(t, db, "keys@example.com")
	other, _, otherKey := testAccount(t, db, "other@example.com")
	_, devKey := testDevice(t, db, ws.ID, "phone")

	k, err := db.CreateKey(APIKey{ID: 50, WorkspaceID: ws.ID, DeviceID: 9, Kind: KeyTest, Name: "ci", Prefix: "gw_test_x", Hash: testHash("ci"), CreatedAt: testTime(2)})
	if err != nil {
		t.Fatal(err)
	}
	if k.ID <= devKey.ID {
		t.Errorf("new key ID %d, want above %d", k.ID, devKey.ID)
	}
	got, err := db.GetKey(ws.ID, k.ID)
	if err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("GetKey = %+v, %v; want %+v", got, err, k)
	}
	if got, err := db.GetKeyByHash(k.Hash); err != nil || got.ID != k.ID {
		t.Errorf("GetKeyByHash = %+v, %v", got, err)
	}
	if _, err := db.GetKey(other.ID, k.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKey from another workspace: %v, want ErrNotFound", err)
	}
	if _, err := db.GetKeyByHash(testHash("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKeyByHash of an unknown hash: %v, want ErrNotFound", err)
	}

	keys, err := db.ListKeys(ws.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := []APIKey{first, devKey, k}; !reflect.DeepEqual(keys, want) {
		t.Errorf("ListKeys = %+v, want %+v", keys, want)
	}
	if keys, err := db.ListKeys(other.ID); err != nil || len(keys) != 1 || keys[0].ID != otherKey.ID {
		t.Errorf("ListKeys(other) = %+v, %v", keys, err)
	}
}

func TestCreateKeyRejects(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, key := testAccount(t, db, "k@example.com")
	for _, tc := range []struct {
		name string
		k    APIKey
		want error
	}{
		{"unknown workspace", APIKey{WorkspaceID: ws.ID + 1, Kind: KeyLive, Hash: testHash("1")}, ErrNotFound},
		{"hash taken", APIKey{WorkspaceID: ws.ID, Kind: KeyLive, Hash: key.Hash}, ErrConflict},
		{"device kind", APIKey{WorkspaceID: ws.ID, Kind: KeyDevice, Hash: testHash("2")}, ErrInvalid},
		{"no kind", APIKey{WorkspaceID: ws.ID, Hash: testHash("3")}, ErrInvalid},
		{"no hash", APIKey{WorkspaceID: ws.ID, Kind: KeyLive}, ErrInvalid},
	} {
		if _, err := db.CreateKey(tc.k); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestDeleteKey(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, key := testAccount(t, db, "del@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	_, devKey := testDevice(t, db, ws.ID, "phone")

	if err := db.DeleteKey(other.ID, key.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteKey from another workspace: %v, want ErrNotFound", err)
	}
	err := db.DeleteKey(ws.ID, devKey.ID)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "device") {
		t.Errorf("DeleteKey of a device key: %v, want ErrConflict about device keys", err)
	}
	if err := db.DeleteKey(ws.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetKey(ws.ID, key.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKey after delete: %v", err)
	}
	if _, err := db.GetKeyByHash(key.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetKeyByHash after delete: %v", err)
	}
	if keys, err := db.ListKeys(ws.ID); err != nil || len(keys) != 1 || keys[0].ID != devKey.ID {
		t.Errorf("ListKeys after delete = %+v, %v; want only the device key", keys, err)
	}
	if err := db.DeleteKey(ws.ID, key.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeleteKey: %v, want ErrNotFound", err)
	}
}

func TestReplaceWorkspaceKey(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, old := testAccount(t, db, "rot@example.com")
	if err := db.TouchKeys(map[int64]time.Time{old.ID: testTime(9)}); err != nil {
		t.Fatal(err)
	}
	k, err := db.ReplaceKey(ws.ID, old.ID, APIKey{Prefix: "gw_live_new", Hash: testHash("new"), CreatedAt: testTime(10)})
	if err != nil {
		t.Fatal(err)
	}
	want := APIKey{ID: old.ID + 1, WorkspaceID: ws.ID, Kind: old.Kind, Name: old.Name, Prefix: "gw_live_new", Hash: testHash("new"), CreatedAt: testTime(10)}
	if !reflect.DeepEqual(k, want) {
		t.Errorf("ReplaceKey = %+v, want %+v", k, want)
	}
	if _, err := db.GetKeyByHash(old.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("old hash still resolves: %v", err)
	}
	if got, err := db.GetKeyByHash(k.Hash); err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("GetKeyByHash(new) = %+v, %v", got, err)
	}
	if keys, err := db.ListKeys(ws.ID); err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Errorf("ListKeys = %+v, %v; want only the new key", keys, err)
	}
}

func TestReplaceDeviceKey(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, wsKey := testAccount(t, db, "regen@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	d, old := testDevice(t, db, ws.ID, "phone")

	if _, err := db.ReplaceKey(other.ID, old.ID, APIKey{Hash: testHash("x")}); !errors.Is(err, ErrNotFound) {
		t.Errorf("ReplaceKey from another workspace: %v, want ErrNotFound", err)
	}
	if _, err := db.ReplaceKey(ws.ID, old.ID, APIKey{Kind: KeyLive, Hash: testHash("x")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReplaceKey device → live: %v, want ErrInvalid", err)
	}
	if _, err := db.ReplaceKey(ws.ID, wsKey.ID, APIKey{Kind: KeyDevice, Hash: testHash("x")}); !errors.Is(err, ErrInvalid) {
		t.Errorf("ReplaceKey live → device: %v, want ErrInvalid", err)
	}
	if _, err := db.ReplaceKey(ws.ID, old.ID, APIKey{Hash: wsKey.Hash}); !errors.Is(err, ErrConflict) {
		t.Errorf("ReplaceKey with a taken hash: %v, want ErrConflict", err)
	}

	k, err := db.ReplaceKey(ws.ID, old.ID, APIKey{Prefix: "gw_dev_new", Hash: testHash("regenerated")})
	if err != nil {
		t.Fatal(err)
	}
	if k.Kind != KeyDevice || k.DeviceID != d.ID || k.WorkspaceID != ws.ID || k.ID == old.ID {
		t.Errorf("new device key = %+v", k)
	}
	gotDev, err := db.GetDevice(d.ID)
	if err != nil || gotDev.KeyID != k.ID || gotDev.KeyPrefix != "gw_dev_new" {
		t.Errorf("device after ReplaceKey = %+v, %v; want key %d, prefix gw_dev_new", gotDev, err, k.ID)
	}
	if _, err := db.GetKeyByHash(old.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("old device key hash still resolves: %v", err)
	}
	if got, err := db.GetKeyByHash(k.Hash); err != nil || got.DeviceID != d.ID {
		t.Errorf("GetKeyByHash(new) = %+v, %v", got, err)
	}
	// A writer holding the device from before cannot point it back.
	if err := db.PutDevice(d); err != nil {
		t.Fatal(err)
	}
	if gotDev, _ := db.GetDevice(d.ID); gotDev.KeyID != k.ID {
		t.Errorf("PutDevice with a stale copy set KeyID %d, want %d", gotDev.KeyID, k.ID)
	}
}

func TestTouchKeys(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, k := testAccount(t, db, "touch@example.com")
	if err := db.TouchKeys(map[int64]time.Time{k.ID: testTime(10), 12345: testTime(10)}); err != nil {
		t.Fatal(err)
	}
	// An older time does not move it back.
	if err := db.TouchKeys(map[int64]time.Time{k.ID: testTime(5)}); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetKey(ws.ID, k.ID)
	if err != nil || !got.LastUsedAt.Equal(testTime(10)) {
		t.Errorf("LastUsedAt = %v, %v; want %v", got.LastUsedAt, err, testTime(10))
	}
	if got.Hash != k.Hash {
		t.Error("TouchKeys lost the hash")
	}
	// A touch of a deleted key does not bring it back.
	if err := db.DeleteKey(ws.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchKeys(map[int64]time.Time{k.ID: testTime(20)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := has(db.pdb, apiKeyKey(k.ID)); err != nil || ok {
		t.Errorf("touched deleted key is stored again: %v, %v", ok, err)
	}
}
