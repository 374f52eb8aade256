package pacing

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// busyPacer returns a balanced pacer with a day of varied activity.
func busyPacer(t *testing.T) (*Pacer, time.Time) {
	t.Helper()
	p := newPacer(t, Preset(ProfileBalanced), t0.Add(-3*24*time.Hour))
	d := newDriver(t, p, t0)
	for i := range 60 {
		m := text(fmt.Sprint("m", i), fmt.Sprint("chat", i%9), 20+i)
		if i%4 == 0 {
			m = first(fmt.Sprint("f", i), fmt.Sprint(49170000+i))
		}
		d.queue = append(d.queue, m)
	}
	d.notOnWA["49170008"] = true
	p.Received(t0, "chat3")
	d.run(t0.Add(6 * time.Hour))
	if len(d.sent) < 20 || len(d.checked) == 0 {
		t.Fatalf("busyPacer: sent %d, checked %d", len(d.sent), len(d.checked))
	}
	p.Pause(d.now, PauseReachOut, time.Time{})
	return p, d.now
}

func TestSnapshotRoundTrip(t *testing.T) {
	p, now := busyPacer(t)
	snap := p.Snapshot(now)
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// A restarted device: a new pacer (another key) restored.
	q, err := NewPacer(Preset(ProfileBalanced), t0.Add(-3*24*time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Restore(back); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if again := q.Snapshot(now); !reflect.DeepEqual(again, snap) {
		t.Fatalf("snapshot of the restored pacer differs:\n%+v\n%+v", again, snap)
	}
	// Restored times are rounded up to the millisecond.
	want := p.Status(now)
	want.NextSendAt = fromMillis(toMillis(want.NextSendAt))
	want.LastSendAt = fromMillis(toMillis(want.LastSendAt))
	for i := range want.Pauses {
		want.Pauses[i].Until = fromMillis(toMillis(want.Pauses[i].Until))
	}
	if got := q.Status(now); !reflect.DeepEqual(got, want) {
		t.Fatalf("status differs:\n%+v\n%+v", got, want)
	}
	// Same decisions for the same messages, now and later.
	msgs := []Outgoing{
		text("n1", "chat3", 50), text("n2", "chat4", 10), first("n3", "49170008"),
		first("n4", "49170099"), {ID: "n5", Chat: "g@g.us", Group: true},
	}
	for _, at := range []time.Duration{0, 2 * time.Second, time.Minute, 3 * time.Hour, 30 * time.Hour} {
		for _, m := range msgs {
			want, got := p.clone().Plan(now.Add(at), m), q.clone().Plan(now.Add(at), m)
			if got.Action != want.Action || got.Reason != want.Reason || got.Typing != want.Typing ||
				got.At.Before(want.At) || got.At.Sub(want.At) >= time.Millisecond {
				t.Errorf("+%s %s: restored %+v, original %+v", at, m.ID, got, want)
			}
		}
	}
}

func TestSnapshotLeavesOutWhatNoLongerMatters(t *testing.T) {
	p, now := busyPacer(t)
	later := now.Add(8 * 24 * time.Hour)
	s := p.Snapshot(later)
	if len(s.Hours) != 0 || len(s.Chats) != 0 || len(s.Checks) != 0 {
		t.Fatalf("a week later the snapshot still holds %d hours, %d chats, %d checks", len(s.Hours), len(s.Chats), len(s.Checks))
	}
	if len(s.Pauses) != 1 || s.Pauses[0].Reason != PauseReachOut {
		t.Fatalf("pauses %+v: strikes must survive", s.Pauses)
	}
}

// TestSnapshotSize fills the pacer to its bounds and checks the documented
// size of its snapshot.
func TestSnapshotSize(t *testing.T) {
	s := instant()
	s.CheckNumbers, s.CheckTTL, s.ReplyWindow = true, Duration(MaxCheckTTL), Duration(MaxReplyWindow)
	p := newPacer(t, s, time.Time{})
	for i := range 2 * MaxChats {
		at := t0.Add(time.Duration(i) * time.Second)
		p.Sent(at, text(fmt.Sprint(i), fmt.Sprintf("%013d@s.whatsapp.net", 4917000000000+i), 1))
		p.Received(at, fmt.Sprintf("%013d@s.whatsapp.net", 4917000000000+i))
		p.NumberChecked(at, fmt.Sprintf("%013d", 4916000000000+i), true)
		p.Pause(at, PauseRateLimited, at.Add(time.Hour))
	}
	now := t0.Add(2 * MaxChats * time.Second)
	b, err := json.Marshal(p.Snapshot(now))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 140_000 {
		t.Fatalf("snapshot of a full pacer is %d bytes, documented under 140 kB", len(b))
	}
	snap := p.Snapshot(now)
	// Room is made by the eighth, so a full pacer holds 7/8 to all of it.
	if n := len(snap.Chats); n > MaxChats || n < MaxChats*7/8 {
		t.Fatalf("full pacer: %d chats", n)
	}
	if n := len(snap.Checks); n > MaxChecks || n < MaxChecks*7/8 {
		t.Fatalf("full pacer: %d checks", n)
	}
}

func TestRestoreRefusesBadSnapshots(t *testing.T) {
	p, now := busyPacer(t)
	good := p.Snapshot(now)
	tests := []struct {
		name   string
		change func(*Snapshot)
	}{
		{"no version", func(s *Snapshot) { s.Version = 0 }},
		{"future version", func(s *Snapshot) { s.Version = SnapshotVersion + 1 }},
		{"too many hours", func(s *Snapshot) { s.Hours = make([]SnapshotHour, windowHours+1) }},
		{"negative count", func(s *Snapshot) { s.Hours = []SnapshotHour{{Hour: 1, Sends: -1}} }},
		{"huge count", func(s *Snapshot) { s.Hours = []SnapshotHour{{Hour: 1, Firsts: MaxDailyCap + 1}} }},
		{"too many chats", func(s *Snapshot) { s.Chats = make([]SnapshotChat, MaxChats+1) }},
		{"chat without id", func(s *Snapshot) { s.Chats = []SnapshotChat{{Out: 1}} }},
		{"too many checks", func(s *Snapshot) { s.Checks = make([]SnapshotCheck, MaxChecks+1) }},
		{"check without phone", func(s *Snapshot) { s.Checks = []SnapshotCheck{{At: 1}} }},
		{"unknown pause", func(s *Snapshot) { s.Pauses = []SnapshotPause{{Reason: "bored"}} }},
		{"negative strikes", func(s *Snapshot) { s.Pauses = []SnapshotPause{{Reason: PauseRateLimited, Strikes: -1}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := p.Snapshot(now)
			tt.change(&s)
			if err := p.Restore(s); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("Restore = %v, want ErrBadSnapshot", err)
			}
			if !reflect.DeepEqual(p.Snapshot(now), good) {
				t.Fatal("a refused Restore changed the pacer")
			}
		})
	}
}

func TestMillis(t *testing.T) {
	tests := []struct {
		in   time.Time
		want int64
	}{
		{time.Time{}, 0},
		{time.UnixMilli(1_740_830_400_000), 1_740_830_400_000},
		{time.UnixMilli(1_740_830_400_000).Add(time.Nanosecond), 1_740_830_400_001},
		{time.UnixMilli(1_740_830_400_000).Add(999_999 * time.Nanosecond), 1_740_830_400_001},
	}
	for _, tt := range tests {
		if got := toMillis(tt.in); got != tt.want {
			t.Errorf("toMillis(%s) = %d, want %d", tt.in, got, tt.want)
		}
		if back := fromMillis(tt.want); tt.want != 0 && back.Before(tt.in) {
			t.Errorf("fromMillis(%d) = %s, before %s", tt.want, back, tt.in)
		}
	}
	if !fromMillis(0).IsZero() {
		t.Error("fromMillis(0) is not the zero time")
	}
}
