package sim

import (
	"errors"
	"reflect"
	"testing"
	"testing/synctest"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// TestSimSentIDsSurviveARestart: the ids the contacts received are kept
// in the Store, once each however often a message is resent with its id,
// and a new Engine on the same Store (a restarted process) reads them.
func TestSimSentIDsSurviveARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		cfg := testConfig(store)
		cfg.KeepSent, cfg.KeepSentIDs = 3, 3
		eng := New(cfg)
		d := connectedDevice(t, eng, 5)
		to := engine.UserJID("4915112345678")
		var ids []string
		for range 4 {
			id := d.s.NewMessageID()
			ids = append(ids, id)
			if _, err := d.s.Send(t.Context(), engine.OutMessage{WAID: id, To: to, Type: engine.TypeText, Text: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		// A resend after a crash mid-send: same id, one message at the contact.
		if _, err := d.s.Send(t.Context(), engine.OutMessage{WAID: ids[3], To: to, Type: engine.TypeText, Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if got := len(eng.Sent(5)); got != 3 { // KeepSent of the five sends
			t.Errorf("Sent has %d entries, want 3", got)
		}
		want := ids[1:] // the oldest went past KeepSentIDs
		if got, err := eng.SentIDs(5); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SentIDs = %v, %v; want %v", got, err, want)
		}
		d.close()

		restarted := New(cfg)
		if got, err := restarted.SentIDs(5); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("after a restart SentIDs = %v, %v; want %v", got, err, want)
		}
		if got := restarted.Sent(5); len(got) != 0 {
			t.Errorf("a restarted engine's Sent = %v, want nothing (it is memory)", got)
		}
		if got, err := restarted.SentIDs(6); err != nil || len(got) != 0 {
			t.Errorf("SentIDs of a device that never sent = %v, %v", got, err)
		}
	})
}

// TestSimSendFailsWhenItCannotRemember: a send whose id cannot be stored is
// not acknowledged, so the gateway sends it again rather than lose it.
func TestSimSendFailsWhenItCannotRemember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &failingStore{MemoryStore: NewMemoryStore()}
		eng := New(testConfig(store))
		d := connectedDevice(t, eng, 7)
		store.failPut.Store(true)
		_, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Type: engine.TypeText, Text: "x"})
		if !errors.Is(err, errStoreDown) {
			t.Fatalf("Send = %v, want the store's error", err)
		}
		if got := eng.Sent(7); len(got) != 0 {
			t.Errorf("Sent = %v, want nothing", got)
		}
	})
}
