package storage

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEncodeSortableID(t *testing.T) {
	for _, tc := range []struct {
		ms   uint64
		hi   uint16
		lo   uint64
		want string
	}{
		{0, 0, 0, "00000000000000000000000000"},
		{1<<48 - 1, 1<<16 - 1, 1<<64 - 1, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		// The ULID specification's example time.
		{1469918176385, 0, 0, "01ARYZ6S410000000000000000"},
		{0, 0, 31, "0000000000000000000000000Z"},
		{0, 1, 0, "0000000000000G000000000000"},
	} {
		if got := encodeSortableID(tc.ms, tc.hi, tc.lo); got != tc.want {
			t.Errorf("encodeSortableID(%d, %d, %d) = %s, want %s", tc.ms, tc.hi, tc.lo, got, tc.want)
		}
	}
}

func TestIDGeneratorMonotonic(t *testing.T) {
	var now time.Time
	g := idGenerator{now: func() time.Time { return now }}
	start := time.UnixMilli(1_700_000_000_000)
	var got []string
	for _, step := range []time.Duration{0, 0, 0, time.Millisecond, -time.Second, 0, time.Second} {
		now = start.Add(step)
		start = now
		got = append(got, g.next("msg_"))
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("ids not strictly increasing (same ms, clock back, forward): %v", got)
	}
	// When a millisecond's random space runs out, the next one is borrowed.
	g.hi, g.lo = 1<<16-1, 1<<64-1
	last := g.next("msg_")
	if !strings.HasPrefix(last, "msg_") || last <= got[len(got)-1] {
		t.Errorf("id after overflow %s is not above %s", last, got[len(got)-1])
	}
	if g.ms != uint64(now.UnixMilli())+1 {
		t.Errorf("overflow took ms %d, want %d", g.ms, now.UnixMilli()+1)
	}
	// A new millisecond draws fresh random bits.
	now = now.Add(time.Hour)
	a, b := g.next("x_"), (&idGenerator{now: func() time.Time { return now }}).next("x_")
	if a[:12] != b[:12] || a == b {
		t.Errorf("same-ms ids of two generators %s, %s: want the same time part and different random parts", a, b)
	}
}

func TestNewMessageIDConcurrent(t *testing.T) {
	const goroutines, each = 8, 2000
	results := make([][]string, goroutines)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			ids := make([]string, each)
			for j := range ids {
				ids[j] = NewMessageID()
			}
			results[i] = ids
		})
	}
	// Ids made one after another, whatever the goroutine, sort in that order.
	var mu sync.Mutex
	var ordered []string
	for range goroutines {
		wg.Go(func() {
			for range each {
				mu.Lock()
				ordered = append(ordered, NewMessageID())
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	seen := make(map[string]bool, 2*goroutines*each)
	for i, ids := range append(results, ordered) {
		for j, id := range ids {
			if !isSortableID(id, "msg_") {
				t.Fatalf("malformed id %q", id)
			}
			if j > 0 && id <= ids[j-1] {
				t.Fatalf("sequence %d: id %s after %s", i, id, ids[j-1])
			}
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
}

func TestIsSortableID(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{NewMessageID(), true},
		{"msg_01ARZ3NDEKTSV4RRFFQ69G5FAV", true},
		{"msg_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true},
		{"msg_8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false},
		{"msg_01arz3ndektsv4rrffq69g5fav", false},
		{"msg_01ARZ3NDEKTSV4RRFFQ69G5FA", false},
		{"evt_01ARZ3NDEKTSV4RRFFQ69G5FAV", false},
		{"", false},
	} {
		if got := isSortableID(tc.s, "msg_"); got != tc.want {
			t.Errorf("isSortableID(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
	if id := NewEventID(); !isSortableID(id, "evt_") {
		t.Errorf("NewEventID() = %q", id)
	}
}
