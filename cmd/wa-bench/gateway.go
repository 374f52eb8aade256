package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// process is a wa-gateway child process on a loopback port.
type process struct {
	cmd  *exec.Cmd
	dir  string
	base string
}

// startGateway starts the gateway on a new data directory.
func startGateway(ctx context.Context, bin string, logTo io.Writer) (*process, error) {
	dir, err := os.MkdirTemp("", "wa-bench-")
	if err != nil {
		return nil, err
	}
	return startGatewayIn(ctx, bin, dir, logTo)
}

// startGatewayIn starts the gateway on the data directory dir, which stop
// removes, and returns once /readyz answers.
func startGatewayIn(ctx context.Context, bin, dir string, logTo io.Writer) (*process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("gateway binary: %w (build it with `make build`)", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", addr, "--data-dir", dir,
		"--log-level", "warn", "--rate-limit", "1000000/s",
		"--allow-private-urls") // the webhook receivers are on loopback
	cmd.Stdout, cmd.Stderr = logTo, logTo
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &process{cmd: cmd, dir: dir, base: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("gateway did not become ready at %s", p.base)
}

func (p *process) stop() {
	p.halt()
	os.RemoveAll(p.dir)
}

// halt shuts the gateway down gracefully (killing it after 20 s) and keeps
// its data directory.
func (p *process) halt() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// client speaks the gateway's public API.
type client struct {
	base string
	http *http.Client
}

func newClient(base string) *client {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	return &client{base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *client) do(ctx context.Context, method, path, key string, body any, want int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	var env struct {
		Data map[string]any `json:"data"`
	}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &env)
	}
	return env.Data, nil
}

func (c *client) healthz(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodGet, "/healthz", "", nil, http.StatusOK)
	return err
}

func (c *client) register(ctx context.Context) (string, error) {
	d, err := c.do(ctx, http.MethodPost, "/auth/register", "", map[string]any{
		"name": "Bench", "email": "bench@example.com", "password": "benchmark password", "workspace": "Bench"}, http.StatusCreated)
	if err != nil {
		return "", err
	}
	key, _ := d["apiKey"].(string)
	return key, nil
}

// pairedDevices creates n sandbox devices with pacing off and the highest
// admission limit, and pairs them, up to 16 at a time.
func (c *client) pairedDevices(ctx context.Context, key string, n int) ([]int64, error) {
	ids := make([]int64, n)
	errs := make(chan error, n)
	slots := make(chan struct{}, 16)
	for i := range n {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			id, err := c.pairedDevice(ctx, key, "bench-"+strconv.Itoa(i))
			ids[i] = id
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return ids, first
}

// pairedDevice creates one paired sandbox device with pacing off.
func (c *client) pairedDevice(ctx context.Context, key, name string) (int64, error) {
	d, err := c.do(ctx, http.MethodPost, "/api/devices", key, map[string]any{"name": name, "engine": "sim"}, http.StatusCreated)
	if err != nil {
		return 0, err
	}
	id := int64(d["device"].(map[string]any)["id"].(float64))
	path := "/api/devices/" + strconv.FormatInt(id, 10)
	if _, err := c.do(ctx, http.MethodPatch, path, key, map[string]any{"pacing": "off"}, http.StatusOK); err != nil {
		return 0, err
	}
	if _, err := c.do(ctx, http.MethodPost, path+"/connect", key, nil, http.StatusAccepted); err != nil {
		return 0, err
	}
	if err := c.waitStatus(ctx, key, path, "SCAN_QR"); err != nil {
		return 0, err
	}
	if _, err := c.do(ctx, http.MethodPost, path+"/sandbox/scan", key, nil, http.StatusOK); err != nil {
		return 0, err
	}
	return id, c.waitStatus(ctx, key, path, "CONNECTED")
}

func (c *client) waitStatus(ctx context.Context, key, path, want string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d, err := c.do(ctx, http.MethodGet, path, key, nil, http.StatusOK)
		if err != nil {
			return err
		}
		if d["status"] == want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not reach %s", path, want)
}

func (c *client) sendText(ctx context.Context, key string, device int64) error {
	_, err := c.do(ctx, http.MethodPost, "/api/messages/send-text", key,
		map[string]any{"deviceId": device, "to": "628111222333", "text": "benchmark message"}, http.StatusAccepted)
	return err
}

// drain waits until the devices have sent everything queued (a load
// leaves a backlog that the devices work off for a while after it ends),
// so that the next load measures the gateway at rest rather than busy
// with the last one. It returns how many messages were queued at first.
func (c *client) drain(ctx context.Context, key string, devices []int64, limit time.Duration) (int, error) {
	deadline := time.Now().Add(limit)
	first := -1
	for {
		queued := 0
		for _, id := range devices {
			q, err := c.do(ctx, http.MethodGet, "/api/devices/"+strconv.FormatInt(id, 10)+"/queue?limit=1", key, nil, http.StatusOK)
			if err != nil {
				return first, err
			}
			depth, _ := q["depth"].(float64)
			queued += int(depth)
		}
		if first < 0 {
			first = queued
		}
		if queued == 0 {
			return first, nil
		}
		if time.Now().After(deadline) {
			return first, fmt.Errorf("%d messages still queued after %s", queued, limit)
		}
		select {
		case <-ctx.Done():
			return first, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
