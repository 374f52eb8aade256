package pacing

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// newPacer returns a deterministic pacer whose warm-up started at since.
func newPacer(t *testing.T, s Settings, since time.Time) *Pacer {
	t.Helper()
	p, err := NewPacer(s, since, rand.NewPCG(7, 11))
	if err != nil {
		t.Fatalf("NewPacer: %v", err)
	}
	return p
}

// plain is balanced without warm-up, caps or checks, for tests of one rule.
func plain() Settings {
	s := Preset(ProfileBalanced)
	s.DailyCap, s.FirstContactsPerDay, s.WarmupDays, s.WarmupStartPercent = 0, 0, 0, 0
	s.CheckNumbers = false
	return s
}

// instant has no gap, typing or spacing: only the rule under test acts.
func instant() Settings {
	s := Preset(ProfileOff)
	s.Profile = ProfileBalanced
	return s
}

// sendRecord is one message as the driver saw it go.
type sendRecord struct {
	m        Outgoing
	at       time.Time
	typedAt  time.Time // when its presence started; zero without one
	typing   time.Duration
	presence Presence
}

// driver plays the device actor's part: it asks the pacer about its
// queue, moves its clock to each Decision.At, checks numbers against
// notOnWA, and sends.
type driver struct {
	t        *testing.T
	p        *Pacer
	now      time.Time
	queue    []Outgoing
	notOnWA  map[string]bool
	sent     []sendRecord
	refused  []Outgoing
	checked  []string
	waits    []Decision
	typingOf map[string]time.Time
}

func newDriver(t *testing.T, p *Pacer, now time.Time, queue ...Outgoing) *driver {
	return &driver{t: t, p: p, now: now, queue: slices.Clone(queue), notOnWA: map[string]bool{}, typingOf: map[string]time.Time{}}
}

// run plays until the queue is empty or the clock passes end.
func (d *driver) run(end time.Time) {
	d.t.Helper()
	for steps := 0; len(d.queue) > 0; steps++ {
		if steps > 100_000 {
			d.t.Fatal("driver: no progress")
		}
		i, dec := d.p.Next(d.now, d.queue)
		m := d.queue[i]
		switch dec.Action {
		case ActionWait:
			if !dec.At.After(d.now) {
				d.t.Fatalf("wait until %s is not after now %s", dec.At, d.now)
			}
			if dec.At.After(end) {
				return
			}
			d.waits = append(d.waits, dec)
			d.now = dec.At
			continue
		case ActionType:
			if _, ok := d.typingOf[m.ID]; !ok {
				d.typingOf[m.ID] = d.now
			}
			if dec.At.After(end) {
				return
			}
			d.now = dec.At
			continue
		case ActionCheck:
			d.checked = append(d.checked, m.Phone)
			d.p.NumberChecked(d.now, m.Phone, !d.notOnWA[m.Phone])
			continue
		case ActionRefuse:
			d.refused = append(d.refused, m)
		case ActionSend:
			d.sent = append(d.sent, sendRecord{m: m, at: d.now, typedAt: d.typingOf[m.ID], typing: dec.Typing, presence: dec.Presence})
			d.p.Sent(d.now, m)
		default:
			d.t.Fatalf("unknown action %q", dec.Action)
		}
		d.queue = slices.Delete(d.queue, i, i+1)
	}
}

func text(id, chat string, n int) Outgoing {
	return Outgoing{ID: id, Chat: chat, Known: true, Kind: KindText, TextLen: n}
}

func TestOffSendsImmediately(t *testing.T) {
	p := newPacer(t, Preset(ProfileOff), t0)
	now := t0
	for i := range 200 {
		m := Outgoing{ID: fmt.Sprint(i), Chat: fmt.Sprint("chat", i%3), Phone: fmt.Sprint(4917000 + i), Kind: KindText, TextLen: 500}
		if i%7 == 0 {
			m.Kind = KindVoice
			m.MediaSeconds = 30
		}
		d := p.Plan(now, m)
		if d.Action != ActionSend || !d.At.Equal(now) || d.Typing != 0 || d.Presence != PresenceNone {
			t.Fatalf("message %d: %+v, want send now with no presence", i, d)
		}
		p.Sent(now, m)
		now = now.Add(time.Millisecond)
	}
	// Only a pause with an explicit end holds the off profile.
	if until := p.Pause(now, PauseRateLimited, time.Time{}); !until.IsZero() {
		t.Fatalf("off paused by default until %s", until)
	}
	m := text("x", "chat0", 5)
	if d := p.Plan(now, m); d.Action != ActionSend {
		t.Fatalf("after a rate-limit error without end, off: %+v", d)
	}
	end := now.Add(time.Hour)
	p.Pause(now, PauseTemporaryBan, end)
	if d := p.Plan(now, m); d.Action != ActionWait || !d.At.Equal(end) || d.Reason != ReasonTemporaryBan {
		t.Fatalf("off during a ban with an end: %+v", d)
	}
}

// TestGapsAndTyping sends hundreds of messages through each profile and
// checks every gap and typing time against its bounds, and that they look
// random: no two consecutive gaps equal, a coefficient of variation > 0.2.
func TestGapsAndTyping(t *testing.T) {
	for _, prof := range []Profile{ProfileBalanced, ProfileCareful} {
		t.Run(string(prof), func(t *testing.T) {
			s := Preset(prof)
			s.DailyCap, s.WarmupDays, s.WarmupStartPercent = 0, 0, 0
			p := newPacer(t, s, time.Time{})
			var queue []Outgoing
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range 600 {
				// Known chats, one message each: only the gap and typing act.
				m := text(fmt.Sprint("m", i), fmt.Sprint("chat", i), rng.IntN(400))
				if i%10 == 0 {
					m.Kind, m.MediaSeconds = KindVoice, rng.IntN(40)
				}
				if i%17 == 0 {
					m.Kind = KindReaction
				}
				queue = append(queue, m)
			}
			d := newDriver(t, p, t0, queue...)
			d.run(t0.Add(365 * 24 * time.Hour))
			if len(d.sent) != len(queue) {
				t.Fatalf("sent %d of %d", len(d.sent), len(queue))
			}
			lo, hi := time.Duration(s.TypingMin), time.Duration(s.TypingMax)
			var gaps []float64
			for i, r := range d.sent {
				switch {
				case r.m.Kind == KindReaction:
					if r.typing != 0 || r.presence != PresenceNone || !r.typedAt.IsZero() {
						t.Fatalf("reaction %s shows presence: %+v", r.m.ID, r)
					}
				case r.typing < lo || r.typing > hi:
					t.Fatalf("%s: typing %s outside [%s, %s]", r.m.ID, r.typing, lo, hi)
				case r.at.Sub(r.typedAt) != r.typing:
					t.Fatalf("%s: presence from %s to send %s is not its typing %s", r.m.ID, r.typedAt, r.at, r.typing)
				case r.m.Kind == KindVoice && r.presence != PresenceRecording,
					r.m.Kind == KindText && r.presence != PresenceTyping:
					t.Fatalf("%s (%s): presence %q", r.m.ID, r.m.Kind, r.presence)
				}
				if i == 0 {
					continue
				}
				gap := r.at.Sub(d.sent[i-1].at)
				// The gap runs send to send; a long typing time can stretch it.
				if gap < time.Duration(s.GapMin) || gap > max(time.Duration(s.GapMax), hi) {
					t.Fatalf("gap %s before %s outside [%s, %s]", gap, r.m.ID, s.GapMin, max(time.Duration(s.GapMax), hi))
				}
				if len(gaps) > 0 && gaps[len(gaps)-1] == gap.Seconds() {
					t.Fatalf("two equal gaps in a row: %s", gap)
				}
				gaps = append(gaps, gap.Seconds())
			}
			if cv := coefficientOfVariation(gaps); cv <= 0.2 {
				t.Fatalf("gaps' coefficient of variation %.3f, want > 0.2", cv)
			}
		})
	}
}

func coefficientOfVariation(xs []float64) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return math.Sqrt(sq/float64(len(xs))) / mean
}

// TestTypingGrowsWithText checks the words-per-minute model: where the
// jittered time fits within the bounds, it is the text's typing time ±
// the jitter; beyond them it stays within them, and never piles up on
// the cap.
func TestTypingGrowsWithText(t *testing.T) {
	s := plain()
	s.TypingWPM, s.TypingJitter = 60, 0.25 // a character takes 0.2 s
	s.TypingMin, s.TypingMax = Duration(time.Second), Duration(20*time.Second)
	p := newPacer(t, s, time.Time{})
	tests := []struct {
		chars  int
		lo, hi time.Duration
	}{
		{10, 1500 * time.Millisecond, 2500 * time.Millisecond}, // 2 s ± 25 %
		{40, 6 * time.Second, 10 * time.Second},                // 8 s ± 25 %
		{60, 9 * time.Second, 15 * time.Second},                // 12 s ± 25 %
		{0, time.Second, 1250 * time.Millisecond},              // below the floor: just above it
		{1000, 15 * time.Second, 20 * time.Second},             // far above the cap: just below it
		{1_000_000_000, 15 * time.Second, 20 * time.Second},    // absurd lengths too
		{-5, time.Second, 1250 * time.Millisecond},             // nonsense lengths are empty
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for i := range 300 {
			d, pres := p.typingFor(Outgoing{ID: fmt.Sprint(tt.chars, "/", i), Kind: KindText, TextLen: tt.chars})
			if d < tt.lo || d > tt.hi || pres != PresenceTyping {
				t.Fatalf("%d chars: typing %s %q, want within [%s, %s]", tt.chars, d, pres, tt.lo, tt.hi)
			}
			seen[d] = true
		}
		if len(seen) < 250 {
			t.Errorf("%d chars: only %d distinct typing times in 300", tt.chars, len(seen))
		}
	}
	// A voice note shows recording for about its length.
	d, pres := p.typingFor(Outgoing{ID: "v", Kind: KindVoice, MediaSeconds: 8})
	if pres != PresenceRecording || d < 6*time.Second || d > 10*time.Second {
		t.Fatalf("8 s voice note: %s %q", d, pres)
	}
	if d, pres := p.typingFor(Outgoing{ID: "r", Kind: KindReaction, TextLen: 50}); d != 0 || pres != PresenceNone {
		t.Fatalf("reaction: %s %q", d, pres)
	}
}

// TestAskingAgainIsStable: the device actor may ask at any time; a waiting
// message keeps its time and a typing phase keeps its end, even when the
// actor's timer fires late.
func TestAskingAgainIsStable(t *testing.T) {
	p := newPacer(t, plain(), time.Time{})
	a, b := text("a", "A", 1), text("b", "B", 1) // typing ≈ 1 s, well within the gap
	p.Sent(t0, a)
	first := p.Plan(t0, b)
	if first.Action != ActionWait || first.Reason != ReasonGap {
		t.Fatalf("after a send: %+v, want a wait for the gap", first)
	}
	for _, at := range []time.Duration{time.Millisecond, time.Second, first.At.Sub(t0) - time.Nanosecond} {
		if d := p.Plan(t0.Add(at), b); d != first {
			t.Fatalf("asked again at +%s: %+v, want %+v", at, d, first)
		}
	}
	typing := p.Plan(first.At, b)
	if typing.Action != ActionType || !typing.At.Equal(first.At.Add(typing.Typing)) {
		t.Fatalf("at the wait's end: %+v", typing)
	}
	if d := p.Plan(first.At.Add(typing.Typing/2), b); d.Action != ActionType || !d.At.Equal(typing.At) {
		t.Fatalf("during typing: %+v, want type until %s", d, typing.At)
	}
	if d := p.Plan(typing.At.Add(3*time.Second), b); d.Action != ActionSend {
		t.Fatalf("timer fired late: %+v, want send", d)
	}
}

func TestChatSpacing(t *testing.T) {
	s := instant()
	s.ChatSpacing, s.ChatSpacingReplied = Duration(30*time.Second), Duration(10*time.Second)
	s.GroupSpacing, s.ReplyWindow = Duration(60*time.Second), Duration(24*time.Hour)
	group := func(id string) Outgoing { return Outgoing{ID: id, Chat: "G@g.us", Group: true, Kind: KindText} }
	tests := []struct {
		name    string
		inbound time.Duration // before the first send; 0: none
		m1, m2  Outgoing
		want    time.Duration // from the first send to the second
	}{
		{"no reply", 0, text("1", "A", 5), text("2", "A", 5), 30 * time.Second},
		{"reply a minute ago", time.Minute, text("1", "A", 5), text("2", "A", 5), 10 * time.Second},
		{"reply 23 h ago", 23 * time.Hour, text("1", "A", 5), text("2", "A", 5), 10 * time.Second},
		{"reply 25 h ago", 25 * time.Hour, text("1", "A", 5), text("2", "A", 5), 30 * time.Second},
		{"group", 0, group("1"), group("2"), 60 * time.Second},
		{"group never relaxes", time.Minute, group("1"), group("2"), 60 * time.Second},
		{"other chat", 0, text("1", "A", 5), text("2", "B", 5), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPacer(t, s, time.Time{})
			if tt.inbound > 0 {
				p.Received(t0.Add(-tt.inbound), tt.m1.Chat)
			}
			p.Sent(t0, tt.m1)
			d := newDriver(t, p, t0, tt.m2)
			d.run(t0.Add(time.Hour))
			if len(d.sent) != 1 || d.sent[0].at.Sub(t0) != tt.want {
				t.Fatalf("second message went %+v, want %s after the first", d.sent, tt.want)
			}
			if tt.want > 0 && (len(d.waits) == 0 || d.waits[0].Reason != ReasonChatSpacing) {
				t.Fatalf("waits %+v, want chat_spacing", d.waits)
			}
		})
	}
}

// TestChatSpacingRelaxesOnReply: a reply that arrives while a message
// waits for the full spacing lets it go at the relaxed one.
func TestChatSpacingRelaxesOnReply(t *testing.T) {
	s := instant()
	s.ChatSpacing, s.ChatSpacingReplied, s.ReplyWindow = Duration(30*time.Second), Duration(10*time.Second), Duration(time.Hour)
	p := newPacer(t, s, time.Time{})
	p.Sent(t0, text("1", "A", 5))
	m := text("2", "A", 5)
	if d := p.Plan(t0.Add(5*time.Second), m); d.Action != ActionWait || !d.At.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("before the reply: %+v", d)
	}
	p.Received(t0.Add(6*time.Second), "A")
	if d := p.Plan(t0.Add(6*time.Second), m); d.Action != ActionWait || !d.At.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("after the reply: %+v, want wait until +10s", d)
	}
	if d := p.Plan(t0.Add(10*time.Second), m); d.Action != ActionSend {
		t.Fatalf("at +10s: %+v, want send", d)
	}
}

// TestOtherChatsOvertake: a message held by its chat's spacing does not
// hold the others, and a chat's own messages keep their order.
func TestOtherChatsOvertake(t *testing.T) {
	s := instant()
	s.ChatSpacing = Duration(time.Minute)
	p := newPacer(t, s, time.Time{})
	p.Sent(t0, text("a0", "A", 5))
	d := newDriver(t, p, t0, text("a1", "A", 5), text("a2", "A", 5), text("b1", "B", 5), text("b2", "B", 5))
	d.run(t0.Add(time.Hour))
	var order []string
	for _, r := range d.sent {
		order = append(order, fmt.Sprintf("%s@%s", r.m.ID, r.at.Sub(t0)))
	}
	want := "b1@0s a1@1m0s b2@1m0s a2@2m0s" // at 1m both may go: queue order
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
}

func TestWarmupRamp(t *testing.T) {
	r := warmup{since: t0, days: 10, startPercent: 10}
	want := []int{10, 12, 15, 19, 25, 31, 39, 50, 63, 79, 100, 100}
	for day, w := range want {
		at := t0.Add(time.Duration(day)*24*time.Hour + 23*time.Hour)
		if got := r.limit(100, at); got != w {
			t.Errorf("day %d: limit %d, want %d", day, got, w)
		}
	}
	tests := []struct {
		r    warmup
		full int
		at   time.Time
		want int
	}{
		{warmup{since: t0, days: 14, startPercent: 10}, 200, t0, 20},
		{warmup{since: t0, days: 14, startPercent: 10}, 200, t0.Add(14 * 24 * time.Hour), 200},
		{warmup{since: t0, days: 10, startPercent: 1}, 5, t0, 1}, // never 0
		{warmup{since: t0, days: 10, startPercent: 100}, 40, t0, 40},
		{warmup{since: t0, days: 10, startPercent: 10}, 0, t0, 0},                          // no limit stays none
		{warmup{since: t0, days: 10, startPercent: 10}, 100, t0.Add(-time.Hour), 10},       // before the start: day 0
		{warmup{days: 10, startPercent: 10}, 100, t0, 100},                                 // no start: warm
		{warmup{since: t0, startPercent: 10}, 100, t0, 100},                                // no ramp
		{warmup{since: t0, days: 10, startPercent: 10}, 100, t0.Add(24*time.Hour - 1), 10}, // day boundary
		{warmup{since: t0, days: 10, startPercent: 10}, 100, t0.Add(24 * time.Hour), 12},
	}
	for _, tt := range tests {
		if got := tt.r.limit(tt.full, tt.at); got != tt.want {
			t.Errorf("%+v.limit(%d, %s) = %d, want %d", tt.r, tt.full, tt.at, got, tt.want)
		}
	}
}

// TestDailyCapAndRamp runs a saturated queue through a new device's first
// three weeks: every day's sends follow the ramp, no 24-hour span ever holds
// more than the cap of its day, and nothing is starved.
func TestDailyCapAndRamp(t *testing.T) {
	s := instant()
	s.DailyCap, s.WarmupDays, s.WarmupStartPercent = 100, 10, 10
	since := t0.Add(-7 * time.Hour) // the device started mid-morning
	p := newPacer(t, s, since)
	var queue []Outgoing
	for i := range 1700 { // more than the three weeks' caps add up to
		queue = append(queue, text(fmt.Sprint(i), fmt.Sprint("c", i), 5))
	}
	d := newDriver(t, p, t0, queue...)
	end := since.Add(21 * 24 * time.Hour)
	d.run(end)
	if len(d.sent) == 0 {
		t.Fatal("nothing sent")
	}
	for _, w := range d.waits {
		if w.Reason != ReasonDailyCap {
			t.Fatalf("a wait for %q, want only daily_cap", w.Reason)
		}
	}
	// No 24-hour span holds more sends than the limit at its last send.
	lo := 0
	for hi, r := range d.sent {
		for d.sent[lo].at.Add(24*time.Hour).Compare(r.at) <= 0 {
			lo++
		}
		if n, lim := hi-lo+1, p.ramp.limit(100, r.at); n > lim {
			t.Fatalf("%d sends in the 24 h up to %s, limit %d", n, r.at, lim)
		}
	}
	// Day by day (from the device's start) the sends follow the ramp: the
	// limit is reached, give or take what the hour buckets carry over.
	perDay := map[int]int{}
	for _, r := range d.sent {
		perDay[p.ramp.day(r.at)]++
	}
	total := 0
	for day := 0; day < 21; day++ {
		total += perDay[day]
		if lim := p.ramp.limit(100, since.Add(time.Duration(day)*24*time.Hour)); perDay[day] > 2*lim || perDay[day] < lim/2 {
			t.Errorf("day %d: %d sends, limit %d", day, perDay[day], lim)
		}
	}
	if perDay[20] < 90 {
		t.Errorf("day 20 (warm): %d sends, want close to the cap of 100", perDay[20])
	}
	if st := p.Status(d.now); st.DailyCap != 100 || st.Warming || st.WarmupDay < 20 || st.Sent24h > 100 {
		t.Errorf("status at the end: %+v", st)
	}
}

// TestDailyCapNeverExceeded: with sends at random instants (random gaps,
// not hour boundaries), no 24-hour span ever holds more than the cap.
func TestDailyCapNeverExceeded(t *testing.T) {
	for _, limit := range []int{1, 5, 17} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			s := instant()
			s.DailyCap = limit
			s.GapMin, s.GapMax = Duration(time.Minute), Duration(time.Hour)
			p := newPacer(t, s, time.Time{})
			var queue []Outgoing
			for i := range 20 * limit {
				queue = append(queue, text(fmt.Sprint(i), fmt.Sprint("c", i), 1))
			}
			d := newDriver(t, p, t0, queue...)
			d.run(t0.Add(60 * 24 * time.Hour))
			lo, busiest := 0, 0
			for hi, r := range d.sent {
				for d.sent[lo].at.Add(24*time.Hour).Compare(r.at) <= 0 {
					lo++
				}
				busiest = max(busiest, hi-lo+1)
			}
			if busiest != limit {
				t.Fatalf("the busiest 24 hours held %d sends, want exactly the cap %d", busiest, limit)
			}
		})
	}
}

// TestDailyCapEdges checks the rolling window at the hour boundaries: a
// send's slot comes back when its hour leaves the 25-hour window.
func TestDailyCapEdges(t *testing.T) {
	s := instant()
	s.DailyCap = 3
	p := newPacer(t, s, time.Time{})
	h := t0.Truncate(time.Hour) // 12:00
	sends := []time.Time{h.Add(-time.Second), h, h.Add(30 * time.Minute)}
	for i, at := range sends {
		m := text(fmt.Sprint(i), fmt.Sprint("c", i), 1)
		if d := p.Plan(at, m); d.Action != ActionSend {
			t.Fatalf("send %d at %s: %+v", i, at, d)
		}
		p.Sent(at, m)
	}
	m := text("x", "cx", 1)
	// The first send (hour 11) leaves the window at 11:00 + 25 h.
	wantAt := h.Add(-time.Hour).Add(25 * time.Hour)
	d := p.Plan(h.Add(time.Hour), m)
	if d.Action != ActionWait || d.Reason != ReasonDailyCap || !d.At.Equal(wantAt) {
		t.Fatalf("over the cap: %+v, want a daily_cap wait until %s", d, wantAt)
	}
	if d := p.Plan(wantAt.Add(-time.Nanosecond), m); d.Action != ActionWait {
		t.Fatalf("a nanosecond early: %+v", d)
	}
	if d := p.Plan(wantAt, m); d.Action != ActionSend {
		t.Fatalf("at the window's edge: %+v", d)
	}
	p.Sent(wantAt, m)
	// The next slots are those of hour 12 (two sends), at 12:00 + 25 h.
	if d := p.Plan(wantAt, text("y", "cy", 1)); d.Action != ActionWait || !d.At.Equal(h.Add(25*time.Hour)) {
		t.Fatalf("after the freed slot: %+v", d)
	}
	if st := p.Status(wantAt); st.Sent24h != 3 || st.DailyCap != 3 || !st.NextSendAt.Equal(h.Add(25*time.Hour)) {
		t.Fatalf("status: %+v", st)
	}
}

// TestCapLoweredTakesEffect: SetSettings keeps the counters.
func TestCapLoweredTakesEffect(t *testing.T) {
	p := newPacer(t, instant(), time.Time{})
	for i := range 5 {
		p.Sent(t0, text(fmt.Sprint(i), "c", 1))
	}
	s := instant()
	s.DailyCap = 5
	if err := p.SetSettings(s); err != nil {
		t.Fatal(err)
	}
	if d := p.Plan(t0, text("x", "c", 1)); d.Action != ActionWait || d.Reason != ReasonDailyCap {
		t.Fatalf("after lowering the cap to what was sent: %+v", d)
	}
	bad := s
	bad.GapMin = -1
	if err := p.SetSettings(bad); err == nil || p.Settings() != s {
		t.Fatalf("SetSettings(invalid) = %v and settings %+v", err, p.Settings())
	}
}

func first(id, phone string) Outgoing {
	return Outgoing{ID: id, Chat: phone + "@s.whatsapp.net", Phone: phone, Kind: KindText, TextLen: 10}
}

func TestFirstContactBudget(t *testing.T) {
	s := instant()
	s.FirstContactsPerDay = 3
	p := newPacer(t, s, time.Time{})
	known := text("k", "K", 5)
	queue := []Outgoing{first("1", "491"), first("2", "492"), first("3", "493"), first("4", "494"), first("5", "495"), known}
	d := newDriver(t, p, t0, queue...)
	d.run(t0.Add(time.Hour))
	var ids []string
	for _, r := range d.sent {
		ids = append(ids, r.m.ID)
	}
	// The budget holds 4 and 5; the known chat overtakes them.
	if got := strings.Join(ids, " "); got != "1 2 3 k" {
		t.Fatalf("sent %s, want 1 2 3 k", got)
	}
	if st := p.Status(d.now); st.FirstContacts24h != 3 || st.FirstContactCap != 3 || st.Sent24h != 4 {
		t.Fatalf("status: %+v", st)
	}
	dec := p.Plan(d.now, first("4", "494"))
	if dec.Action != ActionWait || dec.Reason != ReasonFirstContacts || !dec.At.Equal(expiry(hourCount{hour: hourOf(t0)})) {
		t.Fatalf("fourth first contact: %+v", dec)
	}
	// A number that writes to us is no longer a first contact.
	p.Received(d.now, "494@s.whatsapp.net")
	if dec := p.Plan(d.now, first("4", "494")); dec.Action != ActionSend {
		t.Fatalf("after the contact wrote: %+v", dec)
	}
	// A chat with history in the store is not one either, nor a group.
	if dec := p.Plan(d.now, Outgoing{ID: "6", Chat: "496@s.whatsapp.net", Phone: "496", Known: true}); dec.Action != ActionSend {
		t.Fatalf("known chat: %+v", dec)
	}
	if dec := p.Plan(d.now, Outgoing{ID: "7", Chat: "1-2@g.us", Group: true}); dec.Action != ActionSend {
		t.Fatalf("group: %+v", dec)
	}
	// A number messaged once is not a first contact the second time.
	p.Sent(d.now, first("8", "493"))
	if st := p.Status(d.now); st.FirstContacts24h != 3 {
		t.Fatalf("a second message to 493 counted as a first contact: %+v", st)
	}
}

// TestFirstContactRamp: the budget ramps with the warm-up like the cap.
func TestFirstContactRamp(t *testing.T) {
	s := instant()
	s.FirstContactsPerDay, s.WarmupDays, s.WarmupStartPercent = 50, 10, 10
	p := newPacer(t, s, t0)
	var queue []Outgoing
	for i := range 20 {
		queue = append(queue, first(fmt.Sprint(i), fmt.Sprint(4900+i)))
	}
	d := newDriver(t, p, t0, queue...)
	d.run(t0.Add(time.Hour))
	if len(d.sent) != 5 {
		t.Fatalf("day one: %d first contacts, want 5 (10 %% of 50)", len(d.sent))
	}
}

func TestNumberChecks(t *testing.T) {
	s := instant()
	s.CheckNumbers, s.CheckTTL, s.FirstContactsPerDay = true, Duration(24*time.Hour), 10
	s.GapMin, s.GapMax = Duration(5*time.Second), Duration(5*time.Second)
	p := newPacer(t, s, time.Time{})
	// The first message to a number asks for a check, once.
	m := first("1", "491")
	if dec := p.Plan(t0, m); dec.Action != ActionCheck || !dec.At.Equal(t0) {
		t.Fatalf("first message: %+v, want check", dec)
	}
	if dec := p.Plan(t0, m); dec.Action != ActionCheck {
		t.Fatalf("asked again before the answer: %+v, want check", dec)
	}
	p.NumberChecked(t0, "491", true)
	if dec := p.Plan(t0, m); dec.Action != ActionSend {
		t.Fatalf("after a positive check: %+v, want send", dec)
	}
	// Cancelled before it went: a new message to the number within the TTL
	// needs no check, and does not take a second first-contact slot.
	m2 := first("2", "491")
	if dec := p.Plan(t0.Add(time.Hour), m2); dec.Action != ActionSend {
		t.Fatalf("cached positive: %+v, want send", dec)
	}
	p.Sent(t0.Add(time.Hour), m2)
	if st := p.Status(t0.Add(time.Hour)); st.FirstContacts24h != 1 {
		t.Fatalf("check and send of one number took %d slots, want 1", st.FirstContacts24h)
	}
	// A number not on WhatsApp is refused, then refused from the cache.
	now := t0.Add(2 * time.Hour)
	n := first("3", "999")
	if dec := p.Plan(now, n); dec.Action != ActionCheck {
		t.Fatalf("unknown number: %+v", dec)
	}
	p.NumberChecked(now, "999", false)
	if dec := p.Plan(now, n); dec.Action != ActionRefuse || dec.Reason != ReasonNotOnWhatsApp {
		t.Fatalf("after a negative check: %+v, want refuse not_on_whatsapp", dec)
	}
	if dec := p.Plan(now.Add(time.Hour), first("4", "999")); dec.Action != ActionRefuse {
		t.Fatalf("cached negative: %+v, want refuse", dec)
	}
	// A failed probe starts a gap: the next check waits.
	if dec := p.Plan(now, first("5", "495")); dec.Action != ActionWait || dec.Reason != ReasonGap {
		t.Fatalf("a check right after a failed one: %+v, want a gap", dec)
	}
	// Past the TTL the number is checked again.
	if dec := p.Plan(now.Add(24*time.Hour), first("6", "999")); dec.Action != ActionCheck {
		t.Fatalf("after the TTL: %+v, want check", dec)
	}
	// No check for known chats, groups, recipients without a phone, or
	// with checks off.
	for _, o := range []Outgoing{
		{ID: "k", Chat: "497@s.whatsapp.net", Phone: "497", Known: true},
		{ID: "g", Chat: "1-2@g.us", Group: true},
		{ID: "l", Chat: "123@lid"},
	} {
		if dec := p.Plan(now.Add(time.Minute), o); dec.Action != ActionSend {
			t.Errorf("%s: %+v, want send without check", o.ID, dec)
		}
	}
	off := s
	off.CheckNumbers = false
	if err := p.SetSettings(off); err != nil {
		t.Fatal(err)
	}
	if dec := p.Plan(now.Add(time.Minute), first("7", "498")); dec.Action != ActionSend {
		t.Fatalf("checks off: %+v", dec)
	}
}

// TestChecksTakeTheBudget: checks are paced by the first-contact budget,
// whatever their answer.
func TestChecksTakeTheBudget(t *testing.T) {
	s := instant()
	s.CheckNumbers, s.CheckTTL, s.FirstContactsPerDay = true, Duration(24*time.Hour), 2
	p := newPacer(t, s, time.Time{})
	d := newDriver(t, p, t0, first("1", "9991"), first("2", "9992"), first("3", "493"))
	d.notOnWA = map[string]bool{"9991": true, "9992": true}
	d.run(t0.Add(time.Hour))
	if len(d.checked) != 2 || len(d.refused) != 2 || len(d.sent) != 0 {
		t.Fatalf("checked %v, refused %d, sent %d; want 2 checks, 2 refusals, the third held", d.checked, len(d.refused), len(d.sent))
	}
	if dec := p.Plan(d.now, first("3", "493")); dec.Action != ActionWait || dec.Reason != ReasonFirstContacts {
		t.Fatalf("third number: %+v, want first_contacts", dec)
	}
}

func TestPauses(t *testing.T) {
	s := Preset(ProfileBalanced)
	s.WarmupDays, s.CheckNumbers = 0, false
	tests := []struct {
		name     string
		reason   PauseReason
		until    time.Duration // 0: none given
		wantFor  time.Duration
		firstOK  bool // first contacts go
		othersOK bool // known chats go
	}{
		{"ban with expiry", PauseTemporaryBan, 3 * time.Hour, 3 * time.Hour, false, false},
		{"ban without expiry", PauseTemporaryBan, 0, 24 * time.Hour, false, false},
		{"rate limited", PauseRateLimited, 0, 15 * time.Minute, false, false},
		{"rate limited with end", PauseRateLimited, 2 * time.Minute, 2 * time.Minute, false, false},
		{"reach-out timelock", PauseReachOut, 0, 24 * time.Hour, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPacer(t, s, time.Time{})
			var until time.Time
			if tt.until > 0 {
				until = t0.Add(tt.until)
			}
			end := p.Pause(t0, tt.reason, until)
			if !end.Equal(t0.Add(tt.wantFor)) {
				t.Fatalf("Pause = %s, want %s", end, t0.Add(tt.wantFor))
			}
			for _, c := range []struct {
				m  Outgoing
				ok bool
			}{{first("1", "491"), tt.firstOK}, {text("2", "K", 5), tt.othersOK}} {
				dec := p.Plan(t0.Add(time.Second), c.m)
				held := dec.Action == ActionWait && dec.Reason == Reason(tt.reason) && dec.At.Equal(end)
				if c.ok == held {
					t.Errorf("%s during the pause: %+v (should go: %v)", c.m.ID, dec, c.ok)
				}
				if dec := p.Plan(end, c.m); dec.Action == ActionWait && dec.Reason == Reason(tt.reason) {
					t.Errorf("%s after the pause: %+v", c.m.ID, dec)
				}
			}
			st := p.Status(t0)
			if len(st.Pauses) != 1 || st.Pauses[0].Reason != tt.reason || !st.Pauses[0].Until.Equal(end) {
				t.Fatalf("status pauses %+v", st.Pauses)
			}
			if len(p.Status(end).Pauses) != 0 {
				t.Fatalf("pause still listed at its end")
			}
			if !tt.othersOK && !st.NextSendAt.Equal(end) {
				t.Fatalf("status next send %s, want %s", st.NextSendAt, end)
			}
		})
	}
}

// TestPauseEscalates: refusals that come back within a day of the last
// pause's end double it, up to a week; a quiet day resets it.
func TestPauseEscalates(t *testing.T) {
	s := Preset(ProfileBalanced)
	p := newPacer(t, s, time.Time{})
	now := t0
	want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour}
	for i, w := range want {
		end := p.Pause(now, PauseRateLimited, time.Time{})
		if got := end.Sub(now); got != w {
			t.Fatalf("strike %d: paused %s, want %s", i, got, w)
		}
		// A second report during the pause neither extends nor escalates it.
		if again := p.Pause(now.Add(time.Minute), PauseRateLimited, time.Time{}); !again.Equal(end) {
			t.Fatalf("report during the pause moved it to %s", again)
		}
		now = end.Add(time.Hour)
	}
	// A week at most.
	for range 20 {
		end := p.Pause(now, PauseRateLimited, time.Time{})
		if end.Sub(now) > 7*24*time.Hour {
			t.Fatalf("paused %s, more than a week", end.Sub(now))
		}
		now = end.Add(time.Minute)
	}
	// A quiet day resets the strikes.
	now = now.Add(25 * time.Hour)
	if end := p.Pause(now, PauseRateLimited, time.Time{}); end.Sub(now) != 15*time.Minute {
		t.Fatalf("after a quiet day: %s", end.Sub(now))
	}
	// A later report never shortens a pause.
	end := p.Pause(now, PauseTemporaryBan, now.Add(48*time.Hour))
	if got := p.Pause(now, PauseTemporaryBan, now.Add(time.Hour)); !got.Equal(end) {
		t.Fatalf("a shorter ban shortened the pause to %s", got)
	}
}

func TestResume(t *testing.T) {
	p := newPacer(t, plain(), time.Time{})
	end := p.Pause(t0, PauseTemporaryBan, t0.Add(24*time.Hour))
	m := text("1", "K", 5)
	if dec := p.Plan(t0.Add(time.Hour), m); dec.Action != ActionWait || !dec.At.Equal(end) {
		t.Fatalf("during the ban: %+v", dec)
	}
	p.Resume(t0.Add(time.Hour), PauseTemporaryBan)
	if dec := p.Plan(t0.Add(time.Hour), m); dec.Action == ActionWait {
		t.Fatalf("after Resume: %+v", dec)
	}
	// A ban again within a day of the resume counts as a strike.
	if got := p.Pause(t0.Add(2*time.Hour), PauseTemporaryBan, time.Time{}); got.Sub(t0.Add(2*time.Hour)) != 48*time.Hour {
		t.Fatalf("ban after resume: %s, want doubled to 48h", got.Sub(t0.Add(2*time.Hour)))
	}
}

func TestPauseUnknownReasonPanics(t *testing.T) {
	p := newPacer(t, plain(), time.Time{})
	defer func() {
		if recover() == nil {
			t.Fatal("Pause with an unknown reason did not panic")
		}
	}()
	p.Pause(t0, "bored", time.Time{})
}

func TestNextEmptyQueue(t *testing.T) {
	p := newPacer(t, plain(), time.Time{})
	if i, d := p.Next(t0, nil); i != -1 || d != (Decision{}) {
		t.Fatalf("Next(empty) = %d, %+v", i, d)
	}
}

// TestTypingPhaseAbandoned: a pause that comes while a message shows its
// presence sends it back to waiting; after the pause it types again.
func TestTypingPhaseAbandoned(t *testing.T) {
	p := newPacer(t, plain(), time.Time{})
	m := text("1", "K", 40)
	dec := p.Plan(t0, m)
	if dec.Action != ActionType {
		t.Fatalf("first decision %+v", dec)
	}
	end := p.Pause(t0.Add(time.Second), PauseRateLimited, time.Time{})
	if d := p.Plan(t0.Add(time.Second), m); d.Action != ActionWait || !d.At.Equal(end) {
		t.Fatalf("paused while typing: %+v", d)
	}
	d := p.Plan(end, m)
	if d.Action != ActionType || !d.At.Equal(end.Add(d.Typing)) {
		t.Fatalf("after the pause: %+v, want a fresh typing phase", d)
	}
	// A message cancelled while typing frees the phase for another.
	other := text("2", "L", 40)
	if d := p.Plan(end, other); d.Action != ActionType || !d.At.Equal(end.Add(d.Typing)) {
		t.Fatalf("other message after a cancel: %+v", d)
	}
}

func TestNewPacerRefusesBadSettings(t *testing.T) {
	s := plain()
	s.GapMax = -1
	if _, err := NewPacer(s, time.Time{}, nil); err == nil {
		t.Fatal("NewPacer accepted invalid settings")
	}
	if p, err := NewPacer(plain(), time.Time{}, nil); err != nil || p == nil {
		t.Fatalf("NewPacer with a nil source: %v", err)
	}
}

// TestMemoryIsBounded: a flood of chats and checks stays within MaxChats
// and MaxChecks.
func TestMemoryIsBounded(t *testing.T) {
	s := instant()
	s.CheckNumbers, s.CheckTTL = true, Duration(MaxCheckTTL)
	s.ChatSpacing, s.ReplyWindow = Duration(MaxSpacing), Duration(MaxReplyWindow)
	p := newPacer(t, s, time.Time{})
	for i := range 3 * MaxChats {
		at := t0.Add(time.Duration(i) * time.Second)
		p.Received(at, fmt.Sprint("in", i))
		p.Sent(at, text(fmt.Sprint(i), fmt.Sprint("out", i), 1))
		p.NumberChecked(at, fmt.Sprint(1000+i), i%2 == 0)
	}
	if len(p.chats) > MaxChats || len(p.checks) > MaxChecks {
		t.Fatalf("%d chats, %d checks; bounds %d, %d", len(p.chats), len(p.checks), MaxChats, MaxChecks)
	}
	// The newest stay.
	last := fmt.Sprint("out", 3*MaxChats-1)
	if _, ok := p.chats[last]; !ok {
		t.Fatalf("newest chat %s evicted", last)
	}
}

// TestLookahead: Next looks at the oldest Lookahead messages only, so a
// message further back never overtakes them.
func TestLookahead(t *testing.T) {
	s := instant()
	s.ChatSpacing = Duration(time.Minute)
	p := newPacer(t, s, time.Time{})
	p.Sent(t0, text("a0", "A", 1))
	var queue []Outgoing
	for i := range Lookahead {
		queue = append(queue, text(fmt.Sprint("a", i+1), "A", 1))
	}
	queue = append(queue, text("b", "B", 1))
	i, d := p.Next(t0, queue)
	if i != 0 || d.Action != ActionWait || d.Reason != ReasonChatSpacing {
		t.Fatalf("Next = %d, %+v; want the oldest to wait, B out of sight", i, d)
	}
	if i, d := p.Next(t0, queue[1:]); queue[1:][i].ID != "b" || d.Action != ActionSend {
		t.Fatalf("with B in sight: %d, %+v", i, d)
	}
}
