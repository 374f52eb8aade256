package storage

import (
	"errors"
	"testing"
)

func TestEngineState(t *testing.T) {
	db, _ := openTestDB(t)
	if _, err := db.GetEngineState(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetEngineState before Put: %v, want ErrNotFound", err)
	}
	for _, v := range []string{"pairing v1", "pairing v2"} {
		if err := db.PutEngineState(1, []byte(v)); err != nil {
			t.Fatal(err)
		}
		if got, err := db.GetEngineState(1); err != nil || string(got) != v {
			t.Errorf("GetEngineState = %q, %v; want %q", got, err, v)
		}
	}
	if _, err := db.GetEngineState(2); !errors.Is(err, ErrNotFound) {
		t.Errorf("other device's state: %v, want ErrNotFound", err)
	}
	if err := db.DeleteEngineState(1); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetEngineState(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetEngineState after Delete: %v, want ErrNotFound", err)
	}
	if err := db.DeleteEngineState(1); err != nil {
		t.Errorf("deleting missing state: %v", err)
	}
}
