package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// receiver is a local webhook endpoint that counts the deliveries it
// accepts, or, hanging, never answers (a dead endpoint).
type receiver struct {
	srv  *http.Server
	url  string
	hang bool

	mu          sync.Mutex
	n           int
	first, last time.Time
}

func newReceiver(hang bool) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook", hang: hang}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.hang {
		<-req.Context().Done()
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	now := time.Now()
	r.mu.Lock()
	if r.n == 0 {
		r.first = now
	}
	r.n++
	r.last = now
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) close() { _ = r.srv.Close() }

func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n, r.first, r.last = 0, time.Time{}, time.Time{}
}

func (r *receiver) count() (int, time.Time, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.first, r.last
}

// catchUp enables a webhook that missed a backlog of events and returns
// the rate at which the receiver got them: deliveries between the first
// and the last, once a second has passed without one.
func catchUp(ctx context.Context, c *client, key string, hooks []string, r *receiver) (float64, int, error) {
	r.reset() // what came before the webhook was disabled does not count
	for _, id := range hooks {
		if _, err := c.do(ctx, http.MethodPatch, "/api/webhooks/"+id, key, map[string]any{"enabled": true}, http.StatusOK); err != nil {
			return 0, 0, err
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		n, _, last := r.count()
		if n > 0 && time.Since(last) > time.Second {
			break
		}
		if time.Now().After(deadline) {
			return 0, n, fmt.Errorf("webhook catch-up: %d deliveries after 3 minutes", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	n, first, last := r.count()
	if n < 2 || !last.After(first) {
		return 0, n, fmt.Errorf("webhook catch-up: only %d deliveries", n)
	}
	return float64(n-1) / last.Sub(first).Seconds(), n, nil
}

// measureWebhooks measures signed deliveries to a local receiver: a
// disabled webhook misses a load's events, then is enabled and catches up
// as fast as the gateway delivers. Then the same with a dead endpoint (one
// that never answers) catching up at the same time, whose cost to the
// healthy one is the ratio of the two rates.
func measureWebhooks(ctx context.Context, c *client, key string, load func() error, drain func() error, stderr io.Writer) ([]row, error) {
	round := func(withDead bool) (float64, int, error) {
		healthy, err := newReceiver(false)
		if err != nil {
			return 0, 0, err
		}
		defer healthy.close()
		endpoints := []*receiver{healthy}
		if withDead {
			dead, err := newReceiver(true)
			if err != nil {
				return 0, 0, err
			}
			defer dead.close()
			endpoints = append(endpoints, dead)
		}
		var hooks []string
		for _, r := range endpoints {
			h, err := c.do(ctx, http.MethodPost, "/api/webhooks", key, map[string]any{"url": r.url, "events": []string{"*"}}, http.StatusCreated)
			if err != nil {
				return 0, 0, err
			}
			id, _ := h["id"].(string)
			if _, err := c.do(ctx, http.MethodPatch, "/api/webhooks/"+id, key, map[string]any{"enabled": false}, http.StatusOK); err != nil {
				return 0, 0, err
			}
			hooks = append(hooks, id)
		}
		defer func() {
			for _, id := range hooks {
				_, _ = c.do(ctx, http.MethodDelete, "/api/webhooks/"+id, key, nil, http.StatusOK)
			}
		}()
		if err := load(); err != nil {
			return 0, 0, err
		}
		if err := drain(); err != nil {
			return 0, 0, err
		}
		time.Sleep(2 * time.Second) // the last receipts (read after 300 ms) are logged
		return catchUp(ctx, c, key, hooks, healthy)
	}
	fmt.Fprintln(stderr, "measuring webhook deliveries to a local receiver")
	alone, n, err := round(false)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "  %d deliveries; again with a dead endpoint beside it\n", n)
	beside, _, err := round(true)
	if err != nil {
		return nil, err
	}
	return []row{
		{"signed webhook deliveries to a local receiver", alone, "deliveries/s", "≥ 5000", alone / 5000},
		{"the same beside a dead endpoint", beside, "deliveries/s", "≥ 90 % of alone", beside / (0.9 * alone)},
	}, nil
}
