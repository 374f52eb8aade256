package storage

import (
	"errors"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	in := Workspace{ID: 7, Name: "Acme", CreatedAt: testTime(3)}
	data, err := encodeRecord(in)
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != recordVersion {
		t.Fatalf("first byte = %d, want schema version %d", data[0], recordVersion)
	}
	var out Workspace
	if err := decodeRecord(data, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{recordVersion + 1}, `{"id":1}`...)},
		{"version zero", append([]byte{0}, `{"id":1}`...)},
		{"bad JSON", append([]byte{recordVersion}, `{"id":`...)},
		{"wrong JSON type", append([]byte{recordVersion}, `{"id":"one"}`...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ws Workspace
			if err := decodeRecord(tc.data, &ws); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeRecord(%q) = %v, want ErrCorrupt", tc.data, err)
			}
		})
	}
}

func TestIndexValues(t *testing.T) {
	if got, err := decodeID(encodeID(-5)); err != nil || got != -5 {
		t.Errorf("ID round trip = %d, %v", got, err)
	}
	if _, err := decodeID([]byte{1, 2, 3}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short ID: %v, want ErrCorrupt", err)
	}
	ws, id, err := decodeMessageRef(encodeMessageRef(3, "msg_X"))
	if err != nil || ws != 3 || id != "msg_X" {
		t.Errorf("message ref round trip = %d, %q, %v", ws, id, err)
	}
	if _, _, err := decodeMessageRef(encodeID(3)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("message ref without id: %v, want ErrCorrupt", err)
	}
}

// Values with json:"-" hashes keep them through the store.
func TestHashesRoundTrip(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, key := testAccount(t, db, "hash@example.com")
	got, err := db.GetKey(ws.ID, key.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != key.Hash || got.Hash == ([32]byte{}) {
		t.Errorf("key hash = %x, want %x", got.Hash, key.Hash)
	}
	// A stored key record with a damaged hash is reported, not zero-filled.
	b := db.pdb.NewBatch()
	defer b.Close()
	if err := setRecord(b, apiKeyKey(key.ID), apiKeyRecord{APIKey: key, StoredHash: key.Hash[:5]}); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetKey(ws.ID, key.ID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("GetKey of a damaged record: %v, want ErrCorrupt", err)
	}
}
