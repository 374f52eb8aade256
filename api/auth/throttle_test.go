package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for the throttle.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 4, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func wantAllowed(t *testing.T, th *Throttle, email, ip string) {
	t.Helper()
	if wait, ok := th.Check(email, ip); !ok || wait != 0 {
		t.Fatalf("Check(%q, %q) = %v, %v; want 0, true", email, ip, wait, ok)
	}
}

func wantBlocked(t *testing.T, th *Throttle, email, ip string, wait time.Duration) {
	t.Helper()
	if got, ok := th.Check(email, ip); ok || got != wait {
		t.Fatalf("Check(%q, %q) = %v, %v; want %v, false", email, ip, got, ok, wait)
	}
}

func TestThrottleAccountLimitSlides(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	const email = "ann@example.com"

	// Ten failures a minute apart, each from a different address.
	for i := range AccountFailureLimit {
		wantAllowed(t, th, email, fmt.Sprintf("10.0.0.%d", i))
		th.Fail(email, fmt.Sprintf("10.0.0.%d", i))
		clock.Advance(time.Minute)
	}
	// Now 10 minutes after the first failure: blocked from any address
	// until it is 15 minutes old.
	wantBlocked(t, th, email, "192.0.2.1", 5*time.Minute)
	wantAllowed(t, th, "bob@example.com", "192.0.2.1")

	clock.Advance(5*time.Minute - time.Nanosecond)
	wantBlocked(t, th, email, "192.0.2.1", time.Nanosecond)
	clock.Advance(time.Nanosecond)
	// The first failure has aged out; nine remain, so one more attempt.
	wantAllowed(t, th, email, "192.0.2.1")
	th.Fail(email, "192.0.2.1")
	// Ten again; the oldest (the second, at minute 1) ages out at minute 16.
	wantBlocked(t, th, email, "192.0.2.1", time.Minute)
	clock.Advance(time.Minute)
	wantAllowed(t, th, email, "192.0.2.1")
}

func TestThrottleSucceedClearsAccountOnly(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	const ip = "198.51.100.7"
	for range AccountFailureLimit {
		th.Fail("ann@example.com", ip)
	}
	wantBlocked(t, th, "ann@example.com", "", FailureWindow)
	th.Succeed("ann@example.com", ip)
	wantAllowed(t, th, "ann@example.com", "")

	// The address keeps its count: after 50 failures in all it is blocked,
	// whichever account it tries and even after a success.
	for i := AccountFailureLimit; i < IPFailureLimit; i++ {
		th.Fail(fmt.Sprintf("user%d@example.com", i), ip)
	}
	th.Succeed("ann@example.com", ip)
	wantBlocked(t, th, "new@example.com", ip, FailureWindow)
	wantAllowed(t, th, "new@example.com", "198.51.100.8")
}

func TestThrottleIPLimit(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	const ip = "203.0.113.9"
	for i := range IPFailureLimit {
		wantAllowed(t, th, fmt.Sprintf("u%d@example.com", i), ip)
		th.Fail(fmt.Sprintf("u%d@example.com", i), ip)
		clock.Advance(10 * time.Second)
	}
	// 500 s after the first failure.
	wantBlocked(t, th, "anyone@example.com", ip, FailureWindow-500*time.Second)
	clock.Advance(FailureWindow - 500*time.Second)
	wantAllowed(t, th, "anyone@example.com", ip)
}

func TestThrottleReportsLongerWait(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range IPFailureLimit {
		th.Fail("", "203.0.113.1")
	}
	clock.Advance(5 * time.Minute)
	for range AccountFailureLimit {
		th.Fail("ann@example.com", "")
	}
	wantBlocked(t, th, "ann@example.com", "203.0.113.1", FailureWindow)
	wantBlocked(t, th, "bob@example.com", "203.0.113.1", FailureWindow-5*time.Minute)
}

func TestThrottleEmptyKeysNotTracked(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range IPFailureLimit + 1 {
		th.Fail("", "")
	}
	wantAllowed(t, th, "", "")
	if n := len(th.accounts.entries) + len(th.ips.entries); n != 0 {
		t.Errorf("%d entries tracked for empty keys", n)
	}
}

func TestThrottleExtraFailuresKeepLatest(t *testing.T) {
	// Concurrent attempts can all pass Check and then fail: the account
	// stays blocked until the limit-th newest failure ages out.
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for range 3 * AccountFailureLimit {
		th.Fail("ann@example.com", "")
		clock.Advance(time.Second)
	}
	// Newest failure at 29 s; the tenth newest at 20 s; now is 30 s.
	wantBlocked(t, th, "ann@example.com", "", FailureWindow-10*time.Second)
	e := th.accounts.entries["ann@example.com"]
	if n := len(e.Value.(*failureRecord).times); n != AccountFailureLimit {
		t.Errorf("%d failures kept, want %d", n, AccountFailureLimit)
	}
}

func TestThrottleDropsStaleEntries(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	for i := range 100 {
		th.Fail(fmt.Sprintf("u%d@example.com", i), fmt.Sprintf("10.1.0.%d", i))
	}
	clock.Advance(time.Minute)
	th.Fail("late@example.com", "10.2.0.1")
	if got := len(th.accounts.entries); got != 101 {
		t.Fatalf("%d account entries, want 101", got)
	}
	clock.Advance(FailureWindow - time.Minute)
	wantAllowed(t, th, "x@example.com", "10.3.0.1")
	if a, i := len(th.accounts.entries), len(th.ips.entries); a != 1 || i != 1 {
		t.Fatalf("after the window: %d account and %d address entries, want 1 and 1", a, i)
	}
	clock.Advance(time.Minute)
	wantAllowed(t, th, "x@example.com", "10.3.0.1")
	if a, i := len(th.accounts.entries), len(th.ips.entries); a != 0 || i != 0 {
		t.Fatalf("%d account and %d address entries left, want none", a, i)
	}
	if a, i := th.accounts.order.Len(), th.ips.order.Len(); a != 0 || i != 0 {
		t.Fatalf("order lists hold %d and %d elements, want none", a, i)
	}
}

func TestFailureLogCapacity(t *testing.T) {
	clock := newFakeClock()
	l := newFailureLog(2, 3)
	for _, key := range []string{"a", "b", "c"} {
		l.add(key, clock.Now())
		l.add(key, clock.Now())
		clock.Advance(time.Second)
	}
	l.add("a", clock.Now()) // "a" is now the most recent, "b" the oldest
	clock.Advance(time.Second)
	l.add("d", clock.Now())
	if len(l.entries) != 3 || l.order.Len() != 3 {
		t.Fatalf("%d entries, %d in order; want 3 and 3", len(l.entries), l.order.Len())
	}
	if _, ok := l.entries["b"]; ok {
		t.Error(`"b", whose last failure is oldest, was kept`)
	}
	for _, key := range []string{"a", "c"} {
		if l.wait(key, clock.Now()) == 0 {
			t.Errorf("%q lost its failures", key)
		}
	}
}

func TestThrottleConcurrentUse(t *testing.T) {
	clock := newFakeClock()
	th := NewThrottle(clock.Now)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				email := fmt.Sprintf("u%d@example.com", i%20)
				ip := fmt.Sprintf("10.0.%d.%d", g, i%7)
				if _, ok := th.Check(email, ip); ok {
					th.Fail(email, ip)
				}
				if i%50 == 0 {
					th.Succeed(email, ip)
					clock.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	th.mu.Lock()
	defer th.mu.Unlock()
	for _, l := range []*failureLog{&th.accounts, &th.ips} {
		if len(l.entries) != l.order.Len() {
			t.Fatalf("map holds %d entries, order list %d", len(l.entries), l.order.Len())
		}
		for key, e := range l.entries {
			if n := len(e.Value.(*failureRecord).times); n == 0 || n > l.limit {
				t.Fatalf("%q holds %d failures, limit %d", key, n, l.limit)
			}
		}
	}
}
