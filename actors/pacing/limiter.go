package pacing

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Bounds of a valid Rate. They keep every product of the limiter's
// arithmetic far from overflowing a time.Duration.
const (
	MaxRateLimit  = 1_000_000_000
	MaxRateWindow = 366 * 24 * time.Hour
)

// Rate is an admission allowance: Limit sends per Window.
type Rate struct {
	Limit  int
	Window time.Duration
}

// State is the limiter's answer, for the X-RateLimit-* headers.
type State struct {
	Limit      int
	Remaining  int
	Reset      time.Time     // when the allowance is full again
	RetryAfter time.Duration // > 0 only when refused
}

// ParseRate reads a rate written as N/unit ("30/m", "100/h", "5/s") or
// N/duration ("30/1m", "120/90s", "10/1m30s"; any time.ParseDuration
// form). N is at least 1 and the window is positive; see Rate.Validate for
// the upper bounds. Errors wrap ErrBadRate.
func ParseRate(s string) (Rate, error) {
	n, w, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w: %q: want N/window, like 30/m", ErrBadRate, s)
	}
	if n == "" || strings.TrimLeft(n, "0123456789") != "" {
		return Rate{}, fmt.Errorf("%w: %q: limit is not a whole number", ErrBadRate, s)
	}
	limit, err := strconv.Atoi(n)
	if err != nil {
		return Rate{}, fmt.Errorf("%w: %q: limit out of range", ErrBadRate, s)
	}
	var window time.Duration
	switch w {
	case "s":
		window = time.Second
	case "m":
		window = time.Minute
	case "h":
		window = time.Hour
	default:
		window, err = time.ParseDuration(w)
		if err != nil {
			return Rate{}, fmt.Errorf("%w: %q: window is not s, m, h or a duration", ErrBadRate, s)
		}
	}
	r := Rate{Limit: limit, Window: window}
	if err := r.Validate(); err != nil {
		return Rate{}, fmt.Errorf("%w (in %q)", err, s)
	}
	return r, nil
}

// Validate reports whether r can drive a Limiter: 1 ≤ Limit ≤ MaxRateLimit
// and 0 < Window ≤ MaxRateWindow. Errors wrap ErrBadRate.
func (r Rate) Validate() error {
	switch {
	case r.Limit < 1:
		return fmt.Errorf("%w: limit %d is below 1", ErrBadRate, r.Limit)
	case r.Limit > MaxRateLimit:
		return fmt.Errorf("%w: limit %d is above %d", ErrBadRate, r.Limit, MaxRateLimit)
	case r.Window <= 0:
		return fmt.Errorf("%w: window %s is not positive", ErrBadRate, r.Window)
	case r.Window > MaxRateWindow:
		return fmt.Errorf("%w: window %s is longer than %s", ErrBadRate, r.Window, MaxRateWindow)
	}
	return nil
}

// String writes r the way ParseRate reads it: "30/m" for whole seconds,
// minutes and hours, "120/1m30s" otherwise.
func (r Rate) String() string {
	limit := strconv.Itoa(r.Limit)
	switch r.Window {
	case time.Second:
		return limit + "/s"
	case time.Minute:
		return limit + "/m"
	case time.Hour:
		return limit + "/h"
	}
	w := r.Window.String()
	// Duration.String writes 2m as "2m0s" and 2h as "2h0m0s".
	if strings.HasSuffix(w, "m0s") {
		w = strings.TrimSuffix(w, "0s")
	}
	if strings.HasSuffix(w, "h0m") {
		w = strings.TrimSuffix(w, "0m")
	}
	return limit + "/" + w
}

// Interval is the emission interval: the steady-state time between two
// admissions, Window/Limit rounded up to the nanosecond so that the limiter
// never admits faster than the rate.
func (r Rate) Interval() time.Duration {
	return (r.Window + time.Duration(r.Limit) - 1) / time.Duration(r.Limit)
}

// Limiter admits sends at a Rate with a burst of Rate.Limit (GCRA).
//
// A Limiter is not safe for concurrent use: it belongs to one device actor.
// It never reads the clock; every method takes the current time. A now
// earlier than a previous one only makes the limiter stricter.
type Limiter struct {
	rate     Rate
	interval time.Duration
	// tat is the theoretical arrival time: the instant at which the
	// allowance is full again. A zero or past tat means full now.
	tat time.Time
}

// NewLimiter returns a limiter with a full allowance. It panics when r is
// not valid (see Rate.Validate): rates come from ParseRate or a validated
// configuration, so an invalid one is a programming error.
func NewLimiter(r Rate) *Limiter {
	l := &Limiter{}
	l.setRate(r)
	return l
}

// Rate returns the limiter's current rate.
func (l *Limiter) Rate() Rate { return l.rate }

// Allow admits one send at now if the allowance holds one. On admission it
// returns the state after it and true. On refusal it returns false and a
// state with Remaining 0 and RetryAfter set to the exact wait after which
// one send is admitted.
func (l *Limiter) Allow(now time.Time) (State, bool) {
	tat := l.tatAt(now)
	next := tat.Add(l.interval)
	if earliest := next.Add(-l.capacity()); now.Before(earliest) {
		st := l.state(now, tat)
		st.RetryAfter = earliest.Sub(now)
		return st, false
	}
	l.tat = next
	return l.state(now, next), true
}

// Peek returns the state at now without admitting anything. RetryAfter is
// set when Allow at now would refuse.
func (l *Limiter) Peek(now time.Time) State {
	tat := l.tatAt(now)
	st := l.state(now, tat)
	if earliest := tat.Add(l.interval - l.capacity()); now.Before(earliest) {
		st.RetryAfter = earliest.Sub(now)
	}
	return st
}

// SetRate changes the rate and keeps the fraction of the allowance in use:
// a limiter that was half used is half used under the new rate. When only
// the limit changes, the time until the allowance is full again (Reset) is
// unchanged; when the window changes, it scales with it. Lowering the limit
// therefore never hands out a fresh burst, and raising it frees the new
// capacity at once. It panics when r is not valid, like NewLimiter.
func (l *Limiter) SetRate(r Rate, now time.Time) {
	oldCap := l.capacity()
	used := l.tatAt(now).Sub(now)
	l.setRate(r)
	if used <= 0 {
		l.tat = time.Time{}
		return
	}
	used = min(used, oldCap)
	// used*newCap/oldCap in 128 bits: both factors can reach a year in ns.
	hi, lo := bits.Mul64(uint64(used), uint64(l.capacity()))
	scaled, _ := bits.Div64(hi, lo, uint64(oldCap))
	l.tat = now.Add(time.Duration(scaled))
}

func (l *Limiter) setRate(r Rate) {
	if err := r.Validate(); err != nil {
		panic("pacing: " + err.Error())
	}
	l.rate = r
	l.interval = r.Interval()
}

// capacity is the time the full allowance represents: Limit intervals.
func (l *Limiter) capacity() time.Duration {
	return time.Duration(l.rate.Limit) * l.interval
}

// tatAt is the theoretical arrival time seen from now: never in the past.
func (l *Limiter) tatAt(now time.Time) time.Time {
	if l.tat.Before(now) {
		return now
	}
	return l.tat
}

// state describes the allowance at now for a theoretical arrival time tat
// that is not before now. Each interval between now and tat is one send in
// use, a started interval counting whole.
func (l *Limiter) state(now, tat time.Time) State {
	debt := tat.Sub(now)
	used := int((debt + l.interval - 1) / l.interval)
	return State{
		Limit:     l.rate.Limit,
		Remaining: max(l.rate.Limit-used, 0),
		Reset:     tat,
	}
}
