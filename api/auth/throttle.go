package auth

import (
	"container/list"
	"sync"
	"time"
)

// Failed-login policy.
const (
	// FailureWindow is how long a failed login counts against its account
	// and its IP address.
	FailureWindow = 15 * time.Minute
	// AccountFailureLimit failures of one account within FailureWindow
	// block further attempts on it, from any address. Together with the
	// window this keeps an account well under ASVS's 100 failures an hour.
	AccountFailureLimit = 10
	// IPFailureLimit failures from one address within FailureWindow block
	// further attempts from it, on any account.
	IPFailureLimit = 50
	// maxTrackedEntries bounds each of the two failure tables; past it the
	// entry whose last failure is oldest is forgotten.
	maxTrackedEntries = 100_000
)

// Throttle limits failed dashboard logins per account and per IP address,
// in memory.
//
// It keeps a sliding log: every failure counts for exactly FailureWindow
// after it happened, and a key is blocked while it has its limit of failures
// younger than that. The wait it reports is the time until the oldest of
// those failures ages out. Only the most recent limit failures of a key are
// kept, so an entry is small; entries with no failure left in the window are
// dropped as time passes, and each table holds at most maxTrackedEntries
// keys. A Throttle is safe for concurrent use.
//
// Flow: Check before verifying the password; refuse the attempt while it is
// not ok; otherwise Fail or Succeed after verifying. An empty email or ip is
// not tracked, so that requests whose address is unknown do not share one
// counter.
type Throttle struct {
	now func() time.Time

	mu       sync.Mutex
	accounts failureLog
	ips      failureLog
}

// NewThrottle returns an empty Throttle reading the time from now
// (time.Now in production).
func NewThrottle(now func() time.Time) *Throttle {
	return &Throttle{
		now:      now,
		accounts: newFailureLog(AccountFailureLimit, maxTrackedEntries),
		ips:      newFailureLog(IPFailureLimit, maxTrackedEntries),
	}
}

// Check reports whether a login attempt for email from ip may proceed. When
// it may not, retryAfter is how long until it may (the larger of the
// account's and the address's waits).
func (t *Throttle) Check(email, ip string) (retryAfter time.Duration, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Read the clock under the lock so that failures reach the tables in
	// time order, which dropStale relies on.
	now := t.now()
	wait := max(t.accounts.wait(email, now), t.ips.wait(ip, now))
	return wait, wait == 0
}

// Fail records a failed login for email from ip.
func (t *Throttle) Fail(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.accounts.add(email, now)
	t.ips.add(ip, now)
}

// Succeed records a successful login: the account's failures are forgotten.
// The address's are kept, or one account an attacker controls would reset
// the counter of the address they guess other accounts from.
func (t *Throttle) Succeed(email, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accounts.remove(email)
}

// failureLog is one table of recent failures, keyed by account or address.
// Its list is ordered by last failure, oldest first, which makes dropping
// stale entries and evicting at capacity O(1).
type failureLog struct {
	limit      int
	maxEntries int
	entries    map[string]*list.Element // value: *failureRecord
	order      *list.List
}

type failureRecord struct {
	key   string
	times []time.Time // ascending, at most limit
}

func newFailureLog(limit, maxEntries int) failureLog {
	return failureLog{limit: limit, maxEntries: maxEntries, entries: make(map[string]*list.Element), order: list.New()}
}

// expired reports whether a failure at at no longer counts at now.
func expired(at, now time.Time) bool {
	return !now.Before(at.Add(FailureWindow))
}

// dropStale forgets entries whose last failure no longer counts.
func (l *failureLog) dropStale(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		r := e.Value.(*failureRecord)
		if !expired(r.times[len(r.times)-1], now) {
			return
		}
		l.order.Remove(e)
		delete(l.entries, r.key)
	}
}

// wait returns how long key stays blocked, 0 when it is not.
func (l *failureLog) wait(key string, now time.Time) time.Duration {
	l.dropStale(now)
	if key == "" {
		return 0
	}
	e, ok := l.entries[key]
	if !ok {
		return 0
	}
	r := e.Value.(*failureRecord)
	live := r.times
	for len(live) > 0 && expired(live[0], now) {
		live = live[1:]
	}
	if len(live) < l.limit {
		return 0
	}
	// The key unblocks when the oldest of its last limit failures expires.
	return live[len(live)-l.limit].Add(FailureWindow).Sub(now)
}

func (l *failureLog) add(key string, now time.Time) {
	l.dropStale(now)
	if key == "" {
		return
	}
	if e, ok := l.entries[key]; ok {
		r := e.Value.(*failureRecord)
		r.times = append(r.times, now)
		if len(r.times) > l.limit {
			// Older failures cannot affect when the key unblocks.
			r.times = append(r.times[:0], r.times[len(r.times)-l.limit:]...)
		}
		l.order.MoveToBack(e)
		return
	}
	if len(l.entries) >= l.maxEntries {
		oldest := l.order.Front()
		l.order.Remove(oldest)
		delete(l.entries, oldest.Value.(*failureRecord).key)
	}
	l.entries[key] = l.order.PushBack(&failureRecord{key: key, times: []time.Time{now}})
}

func (l *failureLog) remove(key string) {
	if e, ok := l.entries[key]; ok {
		l.order.Remove(e)
		delete(l.entries, key)
	}
}
