package pacing

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func mustRate(t *testing.T, s string) Rate {
	t.Helper()
	r, err := ParseRate(s)
	if err != nil {
		t.Fatalf("ParseRate(%q): %v", s, err)
	}
	return r
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		str  string
	}{
		{"30/m", Rate{30, time.Minute}, "30/m"},
		{"100/h", Rate{100, time.Hour}, "100/h"},
		{"5/s", Rate{5, time.Second}, "5/s"},
		{"30/1m", Rate{30, time.Minute}, "30/m"},
		{"120/90s", Rate{120, 90 * time.Second}, "120/1m30s"},
		{"10/2m", Rate{10, 2 * time.Minute}, "10/2m"},
		{"10/2h", Rate{10, 2 * time.Hour}, "10/2h"},
		{"10/1h30m", Rate{10, 90 * time.Minute}, "10/1h30m"},
		{"1/500ms", Rate{1, 500 * time.Millisecond}, "1/500ms"},
		{" 30/m ", Rate{30, time.Minute}, "30/m"},
		{"030/m", Rate{30, time.Minute}, "30/m"},
		{"1000000000/s", Rate{MaxRateLimit, time.Second}, "1000000000/s"},
		{"1/8784h", Rate{1, MaxRateWindow}, "1/8784h"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if err != nil {
				t.Fatalf("ParseRate(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRate(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Fatalf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestParseRateErrors(t *testing.T) {
	for _, in := range []string{
		"", "30", "/m", "30/", "m/30", "0/m", "-1/m", "+5/m", "3 0/m", "30/d", "30/0s",
		"30/-1m", "30/minute", "30/m/s", "1.5/m", "30/1", "99999999999999999999/m",
		"1000000001/s", "1/8785h", "30//m",
	} {
		t.Run(in, func(t *testing.T) {
			r, err := ParseRate(in)
			if !errors.Is(err, ErrBadRate) {
				t.Fatalf("ParseRate(%q) = %+v, %v; want an error wrapping ErrBadRate", in, r, err)
			}
		})
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"30/m", "100/h", "5/s", "30/1m", "120/90s", "1/1ns", "7/1.5µs", "0/m", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrBadRate) {
				t.Fatalf("ParseRate(%q): error %v does not wrap ErrBadRate", s, err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("ParseRate(%q) = %+v, which does not validate: %v", s, r, err)
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %+v; its String %q parses as %+v, %v", s, r, r.String(), back, err)
		}
		if iv := r.Interval(); iv <= 0 || time.Duration(r.Limit)*iv < r.Window {
			t.Fatalf("%+v: interval %s too short for the window", r, iv)
		}
	})
}

func TestRateValidate(t *testing.T) {
	tests := []struct {
		r  Rate
		ok bool
	}{
		{Rate{1, time.Nanosecond}, true},
		{Rate{30, time.Minute}, true},
		{Rate{0, time.Minute}, false},
		{Rate{-3, time.Minute}, false},
		{Rate{30, 0}, false},
		{Rate{30, -time.Second}, false},
		{Rate{MaxRateLimit + 1, time.Minute}, false},
		{Rate{30, MaxRateWindow + 1}, false},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.r, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadRate) {
			t.Errorf("%+v.Validate() = %v, does not wrap ErrBadRate", tt.r, err)
		}
	}
}

func TestRateInterval(t *testing.T) {
	tests := []struct {
		r    Rate
		want time.Duration
	}{
		{Rate{30, time.Minute}, 2 * time.Second},
		{Rate{100, time.Hour}, 36 * time.Second},
		{Rate{3, time.Second}, 333333334 * time.Nanosecond}, // rounded up
		{Rate{5, 2 * time.Nanosecond}, time.Nanosecond},
	}
	for _, tt := range tests {
		if got := tt.r.Interval(); got != tt.want {
			t.Errorf("%v.Interval() = %s, want %s", tt.r, got, tt.want)
		}
	}
}

func TestNewLimiterPanicsOnInvalidRate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("NewLimiter(Rate{}) did not panic")
		}
	}()
	NewLimiter(Rate{})
}

// TestLimiterEdges checks the GCRA exactly at the nanosecond around each
// boundary, for several rates.
func TestLimiterEdges(t *testing.T) {
	for _, s := range []string{"30/m", "1/s", "5/s", "100/h", "3/1s", "7/90s"} {
		t.Run(s, func(t *testing.T) {
			r := mustRate(t, s)
			iv := r.Interval()
			l := NewLimiter(r)

			if st := l.Peek(t0); st.Remaining != r.Limit || !st.Reset.Equal(t0) || st.RetryAfter != 0 || st.Limit != r.Limit {
				t.Fatalf("fresh Peek = %+v, want full allowance resetting now", st)
			}
			for i := 1; i <= r.Limit; i++ {
				st, ok := l.Allow(t0)
				if !ok {
					t.Fatalf("send %d at t0 refused: %+v", i, st)
				}
				if st.Remaining != r.Limit-i || st.RetryAfter != 0 {
					t.Fatalf("after send %d: %+v, want Remaining %d", i, st, r.Limit-i)
				}
				if want := t0.Add(time.Duration(i) * iv); !st.Reset.Equal(want) {
					t.Fatalf("after send %d: Reset %v, want %v", i, st.Reset, want)
				}
			}
			st, ok := l.Allow(t0)
			if ok || st.RetryAfter != iv || st.Remaining != 0 {
				t.Fatalf("send %d at t0 = %+v, %v; want refused with RetryAfter %s", r.Limit+1, st, ok, iv)
			}
			if p := l.Peek(t0); p != st {
				t.Fatalf("Peek at t0 = %+v, want the refusal's state %+v", p, st)
			}
			st, ok = l.Allow(t0.Add(iv - 1))
			if ok || st.RetryAfter != time.Nanosecond {
				t.Fatalf("at t0+interval-1ns = %+v, %v; want refused with RetryAfter 1ns", st, ok)
			}
			st, ok = l.Allow(t0.Add(iv))
			if !ok || st.Remaining != 0 {
				t.Fatalf("at t0+interval = %+v, %v; want admitted with nothing left", st, ok)
			}
			// Steady state: one per interval, never two.
			for i := 2; i < 5; i++ {
				at := t0.Add(time.Duration(i) * iv)
				if st, ok := l.Allow(at.Add(-1)); ok {
					t.Fatalf("at %d intervals - 1ns admitted: %+v", i, st)
				}
				if st, ok := l.Allow(at); !ok {
					t.Fatalf("at %d intervals refused: %+v", i, st)
				}
			}
			// After a full window of silence the whole burst is back.
			last := t0.Add(4 * iv)
			full := l.Peek(last)
			if want := last.Add(time.Duration(r.Limit) * iv); !full.Reset.Equal(want) {
				t.Fatalf("Reset = %v, want %v", full.Reset, want)
			}
			if st := l.Peek(full.Reset.Add(-1)); st.Remaining != r.Limit-1 {
				t.Fatalf("1ns before Reset: Remaining %d, want %d", st.Remaining, r.Limit-1)
			}
			if st := l.Peek(full.Reset); st.Remaining != r.Limit || !st.Reset.Equal(full.Reset) {
				t.Fatalf("at Reset: %+v, want full", st)
			}
		})
	}
}

func TestLimiterThirtyPerMinute(t *testing.T) {
	l := NewLimiter(mustRate(t, "30/m"))
	admitted := 0
	// 31 sends spread over the first second.
	for i := range 31 {
		if _, ok := l.Allow(t0.Add(time.Duration(i) * time.Second / 31)); ok {
			admitted++
		}
	}
	if admitted != 30 {
		t.Fatalf("admitted %d of 31 within the first second, want 30", admitted)
	}
	st := l.Peek(t0.Add(time.Second))
	if st.Remaining != 0 || st.RetryAfter != time.Second {
		t.Fatalf("state at t0+1s = %+v, want nothing left and retry in 1s", st)
	}
	if want := t0.Add(time.Minute); !st.Reset.Equal(want) {
		t.Fatalf("Reset = %v, want %v", st.Reset, want)
	}
}

// TestLimiterInvariants drives a limiter with an irregular stream of
// attempts and checks, against a naive count, that Remaining only grows
// with time, that Reset and RetryAfter agree with what Allow then does,
// and that no span admits more than the burst plus one per interval.
func TestLimiterInvariants(t *testing.T) {
	r := mustRate(t, "10/m")
	iv := r.Interval()
	l := NewLimiter(r)
	var admittedAt []time.Time
	now := t0
	prev := l.Peek(now)
	// A deterministic, irregular step sequence (ms).
	steps := []int{0, 0, 1, 0, 700, 3, 0, 6000, 1, 1, 12000, 0, 0, 0, 5999, 1, 30000, 0, 59999, 0, 1}
	for round := range 20 {
		for _, ms := range steps {
			now = now.Add(time.Duration(ms+round) * time.Millisecond)
			before := l.Peek(now)
			if before.Remaining < prev.Remaining {
				t.Fatalf("Remaining fell from %d to %d with no admission", prev.Remaining, before.Remaining)
			}
			st, ok := l.Allow(now)
			if ok != (before.Remaining > 0) {
				t.Fatalf("at %v: Peek said %+v but Allow = %v", now, before, ok)
			}
			if ok {
				if st.Remaining != before.Remaining-1 {
					t.Fatalf("admission took Remaining from %d to %d", before.Remaining, st.Remaining)
				}
				admittedAt = append(admittedAt, now)
			} else {
				if st.RetryAfter <= 0 || st.RetryAfter != before.RetryAfter {
					t.Fatalf("refusal %+v, Peek said %+v", st, before)
				}
				if p := l.Peek(now.Add(st.RetryAfter)); p.Remaining != 1 {
					t.Fatalf("after RetryAfter %s: %+v, want one send admissible", st.RetryAfter, p)
				}
				if p := l.Peek(now.Add(st.RetryAfter - 1)); p.Remaining != 0 {
					t.Fatalf("admissible 1ns before RetryAfter: %+v", p)
				}
			}
			if st.Reset.Before(now) {
				t.Fatalf("Reset %v before now %v", st.Reset, now)
			}
			if full := l.Peek(st.Reset); full.Remaining != r.Limit {
				t.Fatalf("at Reset %v: %+v, want full", st.Reset, full)
			}
			prev = l.Peek(now)
		}
	}
	if len(admittedAt) < 2*r.Limit {
		t.Fatalf("only %d admissions; the sequence does not exercise the limit", len(admittedAt))
	}
	for i := range admittedAt {
		for j := i; j < len(admittedAt); j++ {
			span := admittedAt[j].Sub(admittedAt[i])
			if n, most := j-i+1, r.Limit+int(span/iv); n > most {
				t.Fatalf("%d admissions within %s, at most %d allowed", n, span, most)
			}
		}
	}
}

func TestLimiterSetRate(t *testing.T) {
	tests := []struct {
		name      string
		from, to  string
		used      int // sends at t0 before the change
		wantRem   int
		wantReset time.Duration // from t0
	}{
		{"unused stays full", "30/m", "10/m", 0, 10, 0},
		{"half used stays half used", "30/m", "10/m", 15, 5, 30 * time.Second},
		{"all used stays all used", "30/m", "10/m", 30, 0, time.Minute},
		{"raising frees the new capacity", "10/m", "30/m", 5, 15, 30 * time.Second},
		{"longer window scales the wait", "30/m", "30/h", 15, 15, 30 * time.Minute},
		{"shorter window scales the wait", "60/h", "60/m", 60, 0, time.Minute},
		{"same rate changes nothing", "30/m", "30/m", 7, 23, 14 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(mustRate(t, tt.from))
			for range tt.used {
				if _, ok := l.Allow(t0); !ok {
					t.Fatal("setup send refused")
				}
			}
			to := mustRate(t, tt.to)
			l.SetRate(to, t0)
			if l.Rate() != to {
				t.Fatalf("Rate() = %v, want %v", l.Rate(), to)
			}
			st := l.Peek(t0)
			if st.Limit != to.Limit || st.Remaining != tt.wantRem || !st.Reset.Equal(t0.Add(tt.wantReset)) {
				t.Fatalf("after SetRate: %+v, want Remaining %d, Reset t0+%s", st, tt.wantRem, tt.wantReset)
			}
			// The new interval governs from now on.
			if tt.wantRem == 0 {
				if st.RetryAfter <= 0 || st.RetryAfter > to.Interval() {
					t.Fatalf("RetryAfter %s, want within one new interval %s", st.RetryAfter, to.Interval())
				}
				if _, ok := l.Allow(t0.Add(st.RetryAfter)); !ok {
					t.Fatal("refused after RetryAfter")
				}
			}
		})
	}
}

func TestLimiterSetRateLater(t *testing.T) {
	l := NewLimiter(mustRate(t, "30/m"))
	for range 30 {
		l.Allow(t0)
	}
	// 20 s later 10 sends are back; 20 of 30 are in use (2/3).
	now := t0.Add(20 * time.Second)
	l.SetRate(mustRate(t, "3/m"), now)
	st := l.Peek(now)
	if st.Remaining != 1 || !st.Reset.Equal(now.Add(40*time.Second)) {
		t.Fatalf("after SetRate: %+v, want 1 left, full 40s later", st)
	}
	// A limiter whose allowance refilled long ago stays full.
	l.SetRate(mustRate(t, "30/m"), now.Add(time.Hour))
	if st := l.Peek(now.Add(time.Hour)); st.Remaining != 30 {
		t.Fatalf("idle limiter after SetRate: %+v, want full", st)
	}
}

func TestLimiterClockGoingBack(t *testing.T) {
	l := NewLimiter(mustRate(t, "2/s"))
	l.Allow(t0)
	l.Allow(t0)
	st, ok := l.Allow(t0.Add(-time.Hour))
	if ok || st.Remaining != 0 || st.RetryAfter <= 0 {
		t.Fatalf("earlier clock = %+v, %v; want refused", st, ok)
	}
}
