package main

import (
	"context"
	"slices"
	"sync"
	"time"
)

// result of one load: successful calls, their latencies, failures.
type result struct {
	count    int
	errors   int
	firstErr error
	elapsed  time.Duration
	lat      []time.Duration
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.count) / r.elapsed.Seconds()
}

func (r result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

type collector struct {
	mu sync.Mutex
	r  result
}

func (c *collector) add(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.r.errors++
		if c.r.firstErr == nil {
			c.r.firstErr = err
		}
		return
	}
	c.r.count++
	c.r.lat = append(c.r.lat, d)
}

// closedLoop runs `clients` workers, each calling f back to back, for d.
func closedLoop(ctx context.Context, clients int, d time.Duration, f func(context.Context, int) error) result {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var col collector
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := i; ctx.Err() == nil; n += clients {
				t := time.Now()
				err := f(ctx, n)
				if ctx.Err() != nil {
					return // cut by the deadline: neither a success nor a failure
				}
				col.add(time.Since(t), err)
			}
		}()
	}
	wg.Wait()
	col.r.elapsed = time.Since(start)
	return col.r
}

// openLoop starts calls at a fixed rate for d, whatever the answers take,
// so latency is measured at that rate rather than at the server's pace.
func openLoop(ctx context.Context, perSecond int, d time.Duration, f func(context.Context, int) error) result {
	var col collector
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(perSecond)
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	deadline := time.After(d)
	for n := 0; ; n++ {
		select {
		case <-tick.C:
			wg.Add(1)
			go func() {
				defer wg.Done()
				t := time.Now()
				err := f(ctx, n)
				col.add(time.Since(t), err)
			}()
			continue
		case <-deadline:
		case <-ctx.Done():
		}
		break
	}
	wg.Wait()
	col.r.elapsed = time.Since(start)
	return col.r
}
