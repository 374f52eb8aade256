package sim

import (
	"bytes"
	"reflect"
	"testing"
)

func TestMemoryStore(t *testing.T) {
	s := NewMemoryStore()
	if v, err := s.Get(1); v != nil || err != nil {
		t.Fatalf("Get of nothing = %q, %v; want nil, nil", v, err)
	}
	in := []byte("pairing")
	if err := s.Put(1, in); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X' // the store keeps its own copy
	got, err := s.Get(1)
	if err != nil || !bytes.Equal(got, []byte("pairing")) {
		t.Fatalf("Get = %q, %v; want %q", got, err, "pairing")
	}
	got[0] = 'Y'
	if again, _ := s.Get(1); !bytes.Equal(again, []byte("pairing")) {
		t.Fatalf("Get returned the store's own slice: now %q", again)
	}
	if v, _ := s.Get(2); v != nil {
		t.Fatalf("device 2 sees device 1's value %q", v)
	}
	if err := s.Delete(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(1); err != nil {
		t.Fatalf("Delete of nothing: %v", err)
	}
	if v, _ := s.Get(1); v != nil {
		t.Fatalf("Get after Delete = %q", v)
	}
}

func TestPairingRoundTrip(t *testing.T) {
	s := NewMemoryStore()
	if p, err := loadPairing(s, 9); err != nil || p.Paired {
		t.Fatalf("loadPairing of nothing = %+v, %v; want unpaired", p, err)
	}
	want := sandboxPairing(9)
	want.Sent = []string{"3EB0A", "3EB0B"}
	if err := savePairing(s, 9, want); err != nil {
		t.Fatal(err)
	}
	want.Version = pairingVersion
	if got, err := loadPairing(s, 9); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("loadPairing = %+v, %v; want %+v", got, err, want)
	}
}
