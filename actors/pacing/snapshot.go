package pacing

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// SnapshotVersion is the version of the Snapshot format this package
// writes and reads.
const SnapshotVersion = 1

// Snapshot is the part of a Pacer's state that must survive a restart:
// the 24-hour counters (so a restart never hands out a fresh day), the
// current gap, each chat's recent activity, the cached number checks (so a
// number is checked once, not once per restart), the pauses and the key of
// the pacer's randomness (so gaps and typing times stay what they were).
// The device actor stores it with the message whose send changed it.
//
// Times are Unix milliseconds, rounded up, which only ever makes a
// restored pacer a little stricter. Size: at most 25 hours, MaxChats chats
// (about 75 bytes each in JSON), MaxChecks checks (about 60 bytes each)
// and 3 pauses, so under 140 kB whatever happens. A device on the balanced
// profile holds at most its 50 first contacts a day for the 7-day check
// TTL (350 checks, about 21 kB) and the chats of the last day.
type Snapshot struct {
	Version  int             `json:"v"`
	Key      uint64          `json:"key"`
	LastSend int64           `json:"lastSend,omitempty"`
	GapEnd   int64           `json:"gapEnd,omitempty"`
	Hours    []SnapshotHour  `json:"hours,omitempty"`
	Chats    []SnapshotChat  `json:"chats,omitempty"`
	Checks   []SnapshotCheck `json:"checks,omitempty"`
	Pauses   []SnapshotPause `json:"pauses,omitempty"`
}

// SnapshotHour is one hour of the 24-hour counters.
type SnapshotHour struct {
	Hour   int64 `json:"h"` // Unix time / 3600
	Sends  int   `json:"s,omitempty"`
	Firsts int   `json:"f,omitempty"`
}

// SnapshotChat is a chat's last send and last inbound message.
type SnapshotChat struct {
	Chat string `json:"c"`
	Out  int64  `json:"o,omitempty"`
	In   int64  `json:"i,omitempty"`
}

// SnapshotCheck is a cached on-WhatsApp check.
type SnapshotCheck struct {
	Phone      string `json:"p"`
	At         int64  `json:"at"`
	OnWhatsApp bool   `json:"on,omitempty"`
	Used       bool   `json:"u,omitempty"`
}

// SnapshotPause is a pause and its strikes.
type SnapshotPause struct {
	Reason  PauseReason `json:"r"`
	Until   int64       `json:"until,omitempty"`
	Strikes int         `json:"n,omitempty"`
}

// maxStrikes bounds a restored strike count; past a few the pause is at
// its cap anyway.
const maxStrikes = 64

// Snapshot returns the state to persist at now, in a stable order. Chats
// and checks that no longer matter at now are left out. It changes nothing.
func (p *Pacer) Snapshot(now time.Time) Snapshot {
	s := Snapshot{
		Version:  SnapshotVersion,
		Key:      p.key,
		LastSend: toMillis(p.last),
		GapEnd:   toMillis(p.gapEnd),
	}
	oldest := hourOf(now) - (windowHours - 1)
	for _, b := range p.hours {
		if b.hour >= oldest && (b.sends > 0 || b.firsts > 0) {
			s.Hours = append(s.Hours, SnapshotHour{Hour: b.hour, Sends: b.sends, Firsts: b.firsts})
		}
	}
	slices.SortFunc(s.Hours, func(a, b SnapshotHour) int { return cmp.Compare(a.Hour, b.Hour) })
	for k, c := range p.chats {
		if p.chatMatters(now, c) {
			s.Chats = append(s.Chats, SnapshotChat{Chat: k, Out: toMillis(c.out), In: toMillis(c.in)})
		}
	}
	slices.SortFunc(s.Chats, func(a, b SnapshotChat) int { return cmp.Compare(a.Chat, b.Chat) })
	for k, c := range p.checks {
		if now.Sub(c.at) < time.Duration(p.s.CheckTTL) {
			s.Checks = append(s.Checks, SnapshotCheck{Phone: k, At: toMillis(c.at), OnWhatsApp: c.on, Used: c.used})
		}
	}
	slices.SortFunc(s.Checks, func(a, b SnapshotCheck) int { return cmp.Compare(a.Phone, b.Phone) })
	for i, ps := range p.pauses {
		if !ps.until.IsZero() || ps.strikes > 0 {
			s.Pauses = append(s.Pauses, SnapshotPause{Reason: pauseReasons[i], Until: toMillis(ps.until), Strikes: ps.strikes})
		}
	}
	return s
}

// Restore replaces the pacer's state with s (its settings and warm-up
// start stay). On error the pacer is unchanged. Errors wrap ErrBadSnapshot.
func (p *Pacer) Restore(s Snapshot) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadSnapshot}, args...)...)
	}
	switch {
	case s.Version != SnapshotVersion:
		return bad("version %d, want %d", s.Version, SnapshotVersion)
	case len(s.Hours) > windowHours:
		return bad("%d hours, at most %d", len(s.Hours), windowHours)
	case len(s.Chats) > MaxChats:
		return bad("%d chats, at most %d", len(s.Chats), MaxChats)
	case len(s.Checks) > MaxChecks:
		return bad("%d checks, at most %d", len(s.Checks), MaxChecks)
	}
	n := *p
	n.key = s.Key
	n.last, n.gapEnd = fromMillis(s.LastSend), fromMillis(s.GapEnd)
	n.hours = window{}
	for _, h := range s.Hours {
		if h.Sends < 0 || h.Firsts < 0 || h.Sends > MaxDailyCap || h.Firsts > MaxDailyCap {
			return bad("hour %d: counts %d/%d out of range", h.Hour, h.Sends, h.Firsts)
		}
		b := &n.hours[slot(h.Hour)]
		switch {
		case b.hour == h.Hour:
			b.sends += h.Sends
			b.firsts += h.Firsts
		case b.hour < h.Hour:
			*b = hourCount{hour: h.Hour, sends: h.Sends, firsts: h.Firsts}
		}
	}
	n.chats = make(map[string]*chatActivity, len(s.Chats))
	for _, c := range s.Chats {
		if c.Chat == "" {
			return bad("a chat without id")
		}
		n.chats[c.Chat] = &chatActivity{out: fromMillis(c.Out), in: fromMillis(c.In)}
	}
	n.checks = make(map[string]*numberCheck, len(s.Checks))
	for _, c := range s.Checks {
		if c.Phone == "" {
			return bad("a check without phone")
		}
		n.checks[c.Phone] = &numberCheck{at: fromMillis(c.At), on: c.OnWhatsApp, used: c.Used}
	}
	n.pauses = [len(pauseReasons)]pauseState{}
	for _, ps := range s.Pauses {
		i := pauseIndex(ps.Reason)
		if i < 0 {
			return bad("unknown pause reason %q", ps.Reason)
		}
		if ps.Strikes < 0 || ps.Strikes > maxStrikes {
			return bad("pause %s: %d strikes out of range", ps.Reason, ps.Strikes)
		}
		n.pauses[i] = pauseState{until: fromMillis(ps.Until), strikes: ps.Strikes}
	}
	n.typing = typingPhase{}
	n.pruned = time.Time{}
	*p = n
	return nil
}

// toMillis is t in Unix milliseconds, rounded up; 0 for the zero time.
func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
