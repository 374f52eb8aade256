package pacing

import (
	"math"
	"slices"
	"time"
)

// The daily counters are hour buckets. A 24-hour limit counts the current
// hour and the 24 before it, so every send of the last 24 hours is counted
// (and some from up to 25 hours ago): no 24-hour span ever holds more sends
// than the limit, whatever the hour boundaries. The price is that a send's
// slot comes back 24 to 25 hours after it, not exactly 24.
const windowHours = 25

// hourCount is what happened in one clock hour.
type hourCount struct {
	hour   int64 // Unix time / 3600
	sends  int
	firsts int // first contacts reached (checked or first sent to)
}

// window holds the last windowHours hour buckets, indexed by hour modulo
// windowHours.
type window [windowHours]hourCount

// counter selects which count of a bucket a limit applies to.
type counter func(hourCount) int

func countSends(h hourCount) int  { return h.sends }
func countFirsts(h hourCount) int { return h.firsts }

func hourOf(t time.Time) int64 {
	u := t.Unix()
	h := u / 3600
	if u%3600 < 0 {
		h-- // floor for instants before 1970
	}
	return h
}

func slot(hour int64) int {
	i := int(hour % windowHours)
	if i < 0 {
		i += windowHours
	}
	return i
}

// add counts sends and first contacts at t.
func (w *window) add(t time.Time, sends, firsts int) {
	h := hourOf(t)
	b := &w[slot(h)]
	if b.hour != h {
		if b.hour > h && (b.sends > 0 || b.firsts > 0) {
			// The clock went back by a day or more: keep the newer
			// bucket rather than lose what it counted.
			b.sends += sends
			b.firsts += firsts
			return
		}
		*b = hourCount{hour: h}
	}
	b.sends += sends
	b.firsts += firsts
}

// count sums c over the buckets that t's limit sees: this hour and the 24
// before it (and any later hour, should the clock have gone back).
func (w *window) count(t time.Time, c counter) int {
	h := hourOf(t)
	n := 0
	for _, b := range w {
		if b.hour >= h-(windowHours-1) {
			n += c(b)
		}
	}
	return n
}

// expiry is when bucket b stops counting.
func expiry(b hourCount) time.Time {
	return time.Unix((b.hour+windowHours)*3600, 0)
}

// freeAt returns the earliest instant after from at which c's count is
// below limit(t), or the zero time when it already is at from. limit is at
// least 1 and never falls over time, so the answer comes at the latest
// when every bucket has expired: the instants to try are each bucket's
// expiry and each change of the limit.
func (w *window) freeAt(from time.Time, c counter, limit func(time.Time) int, changes []time.Time) time.Time {
	if w.count(from, c) < limit(from) {
		return time.Time{}
	}
	try := make([]time.Time, 0, windowHours+len(changes))
	for _, b := range w {
		if c(b) > 0 {
			if e := expiry(b); e.After(from) {
				try = append(try, e)
			}
		}
	}
	for _, t := range changes {
		if t.After(from) {
			try = append(try, t)
		}
	}
	slices.SortFunc(try, func(a, b time.Time) int { return a.Compare(b) })
	for _, t := range try {
		if w.count(t, c) < limit(t) {
			return t
		}
	}
	// Unreachable with limit ≥ 1: every bucket has expired by the last try.
	return from.Add(windowHours * time.Hour)
}

// warmup is the ramp of the daily limits for a device started at since.
type warmup struct {
	since        time.Time // zero: no ramp
	days         int
	startPercent int
}

// day is the device's age in whole days at t (0 on its first day).
func (r warmup) day(t time.Time) int {
	if r.since.IsZero() || !t.After(r.since) {
		return 0
	}
	return int(t.Sub(r.since) / (24 * time.Hour))
}

// limit is full ramped for t: on day d of D it is
// full·(start/100)^(1−d/D), rounded down and at least 1, so each day
// multiplies the limit by the same factor until it reaches full on day D.
func (r warmup) limit(full int, t time.Time) int {
	if full <= 0 || r.days <= 0 || r.since.IsZero() {
		return full
	}
	d := r.day(t)
	if d >= r.days {
		return full
	}
	f := float64(r.startPercent) / 100
	v := float64(full) * math.Pow(f, 1-float64(d)/float64(r.days))
	return max(1, min(full, int(v+1e-9)))
}

// changes lists the instants after from (up to a window ahead) at which
// the ramp raises the limits.
func (r warmup) changes(from time.Time) []time.Time {
	if r.days <= 0 || r.since.IsZero() {
		return nil
	}
	var out []time.Time
	end := from.Add((windowHours + 1) * time.Hour)
	for d := r.day(from) + 1; d <= r.days; d++ {
		t := r.since.Add(time.Duration(d) * 24 * time.Hour)
		if t.After(end) {
			break
		}
		out = append(out, t)
	}
	return out
}
