package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childArgsEnv, when set, makes the test binary run the gateway with
// these arguments (a JSON list) instead of the tests: the crash test runs
// its gateway as a child process that it can kill -9.
const childArgsEnv = "WA_GATEWAY_TEST_CHILD_ARGS"

func TestMain(m *testing.M) {
	if raw := os.Getenv(childArgsEnv); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childArgsEnv, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, env{args: args, getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// child is the gateway running in a separate process.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	logs   *syncBuffer
	exited chan error
}

var listeningLine = regexp.MustCompile(`msg=listening addr=(\S+)`)

func startChild(t *testing.T, dataDir string) *child {
	t.Helper()
	args, _ := json.Marshal([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--allow-private-urls"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, logs: &syncBuffer{}, exited: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(c.logs, line)
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		c.exited <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		c.base = "http://" + a
	case err := <-c.exited:
		t.Fatalf("gateway exited before listening (%v):\n%s", err, c.logs)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("gateway did not start:\n%s", c.logs)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", c.logs)
		}
	})
	return c
}

// kill ends the process at once, as a power cut or the OOM killer would.
func (c *child) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-c.exited
}

// stop ends the process gracefully and checks it exited cleanly.
func (c *child) stop() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case err := <-c.exited:
		if err != nil {
			c.t.Errorf("gateway exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		c.t.Errorf("gateway did not stop")
	}
}

// crashReceiver is a webhook endpoint that checks each delivery's
// signature and records the seqs it got; it answers slowly, so that
// deliveries are behind when the gateway is killed.
type crashReceiver struct {
	mu     sync.Mutex
	secret string
	seqs   map[uint64]int // seq → times received
	idOf   map[uint64]string
	bad    []string
	total  int
}

func (rc *crashReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(10 * time.Millisecond)
	var e struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
	}
	err := json.Unmarshal(body, &e)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	mac := hmac.New(sha256.New, []byte(rc.secret))
	mac.Write(body)
	switch {
	case err != nil:
		rc.bad = append(rc.bad, "not an envelope: "+string(body))
	case r.Header.Get("X-Webhook-Signature") != hex.EncodeToString(mac.Sum(nil)):
		rc.bad = append(rc.bad, fmt.Sprintf("seq %d: bad X-Webhook-Signature", e.Seq))
	case r.Header.Get("webhook-id") != e.ID:
		rc.bad = append(rc.bad, fmt.Sprintf("seq %d: webhook-id %q, event %q", e.Seq, r.Header.Get("webhook-id"), e.ID))
	case rc.idOf[e.Seq] != "" && rc.idOf[e.Seq] != e.ID:
		rc.bad = append(rc.bad, fmt.Sprintf("seq %d came as %s and as %s", e.Seq, rc.idOf[e.Seq], e.ID))
	default:
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(rc.secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", e.ID, r.Header.Get("webhook-timestamp"), body)
		if !strings.Contains(r.Header.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))) {
			rc.bad = append(rc.bad, fmt.Sprintf("seq %d: bad webhook-signature", e.Seq))
		}
	}
	rc.seqs[e.Seq]++
	rc.idOf[e.Seq] = e.ID
	rc.total++
	w.WriteHeader(http.StatusNoContent)
}

func (rc *crashReceiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.total
}

// missing lists the seqs in 1..last not received yet.
func (rc *crashReceiver) missing(last uint64) []uint64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []uint64
	for seq := uint64(1); seq <= last; seq++ {
		if rc.seqs[seq] == 0 {
			out = append(out, seq)
		}
	}
	return out
}

// TestKillNineLosesNoEvent runs the gateway as a child process, has it
// log events and deliver them to a slow webhook, kills it with SIGKILL
// while deliveries are in flight, restarts it on the same data, and checks
// that every logged event reaches the webhook (duplicates allowed, losses
// not), signed, with one webhook-id per event.
func TestKillNineLosesNoEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway as a child process")
	}
	dir := t.TempDir()
	rc := &crashReceiver{seqs: map[uint64]int{}, idOf: map[uint64]string{}}
	receiver := httptest.NewServer(rc)
	defer receiver.Close()

	first := startChild(t, dir)
	g := &gateway{t: t, base: first.base}
	key := register(t, g, "crash@example.com")
	hook := g.must(201, "POST", "/api/webhooks", key, map[string]any{"url": receiver.URL + "/hook", "events": []string{"*"}})
	rc.mu.Lock()
	rc.secret, _ = hook["secret"].(string)
	rc.mu.Unlock()
	created := g.must(201, "POST", "/api/devices", key, map[string]any{"name": "phone", "engine": "sim"})
	id := created["device"].(map[string]any)["id"]
	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/connect", id), key, nil)
	g.waitStatus(key, id, "SCAN_QR")
	g.must(200, "POST", fmt.Sprintf("/api/devices/%v/sandbox/scan", id), key, nil)
	g.waitStatus(key, id, "CONNECTED")

	// Twice: events keep coming while the webhook is behind, and the kill
	// lands in the middle of it; the gateway restarts on the same data.
	gw := first
	for round := range 2 {
		stopLoad := make(chan struct{})
		loadDone := make(chan struct{})
		go func() {
			defer close(loadDone)
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				body := fmt.Sprintf(`{"from":"628999000111","text":"round %d message %d"}`, round, i)
				req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/devices/%v/sandbox/inbound", gw.base, id), strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", key)
				resp, err := client.Do(req)
				if err != nil {
					return // the gateway is gone
				}
				resp.Body.Close()
			}
		}()
		before := rc.requests()
		waitFor(t, 20*time.Second, func() error {
			if n := rc.requests() - before; n < 30 {
				return fmt.Errorf("%d deliveries this round", n)
			}
			return nil
		})
		gw.kill()
		close(stopLoad)
		<-loadDone

		gw = startChild(t, dir)
		g = &gateway{t: t, base: gw.base}
		g.waitStatus(key, id, "CONNECTED") // the paired sandbox device reconnects by itself
	}
	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/sandbox/inbound", id), key, map[string]any{"from": "628999000111", "text": "the last one"})

	// The log after the restart, read back through the stream, ends with
	// the last message; every seq up to it must reach the webhook.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	events := g.sse(ctx, "/api/events?since=0", key)
	var last uint64
	for last == 0 {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the event stream ended")
			}
			data, _ := e.data["data"].(map[string]any)
			if e.event == "message.received" && data["text"] == "the last one" {
				last = uint64(e.data["seq"].(float64))
			}
		case <-ctx.Done():
			t.Fatal("the last message never reached the log")
		}
	}
	cancel()
	waitFor(t, 60*time.Second, func() error {
		if m := rc.missing(last); len(m) > 0 {
			return fmt.Errorf("%d of %d events not delivered, first %v", len(m), last, m[0])
		}
		return nil
	})
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bad {
		t.Error(b)
	}
	dups := 0
	for _, n := range rc.seqs {
		dups += n - 1
	}
	t.Logf("%d events delivered, %d requests (%d duplicates after the kills)", last, rc.total, dups)
	gw.stop()
}
