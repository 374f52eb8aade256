package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
	"github.com/wa-gateway/wa-gateway/storage"
)

// keyedSend posts a send-text with an Idempotency-Key and returns the
// status, the message id and whether the answer was a replay.
func keyedSend(t *testing.T, base, apiKey, idemKey string, body any) (int, string, bool) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", base+"/api/messages/send-text", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", apiKey)
	req.Header.Set("Idempotency-Key", idemKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("send answered %d: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, env.Data.ID, resp.Header.Get("Idempotent-Replayed") == "true"
}

// countSent is how many of the device's outgoing messages left the queue.
func countSent(g *gateway, key string, dev any) (sent, queued int) {
	g.t.Helper()
	list := g.must(200, "GET", fmt.Sprintf("/api/messages?deviceId=%v&direction=out&limit=500", dev), key, nil)
	items, _ := list["items"].([]any)
	for _, it := range items {
		switch it.(map[string]any)["status"] {
		case "queued":
			queued++
		case "sent", "delivered", "read":
			sent++
		}
	}
	return sent, queued
}

// TestKillNineKeepsTheQueue admits a queue of sends (202, each with an
// Idempotency-Key), kills the gateway with SIGKILL twice while the queue
// drains slowly, restarts it on the same data, and checks that every
// admitted message went out exactly once at the simulated contact: the
// simulator writes each WhatsApp id it accepts with the device's pairing
// before acknowledging the send, so what the contact received survives the
// kills and is read back from the store at the end. A message whose send a
// kill cut short is sent again with the id chosen before the first
// attempt, which the contact counts once, as WhatsApp does. Retries with
// the same keys after the restarts send nothing.
func TestKillNineKeepsTheQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gateway as a child process")
	}
	dir := t.TempDir()
	gw := startChild(t, dir)
	g := &gateway{t: t, base: gw.base}
	key := register(t, g, "queue@example.com")
	ws := int64(g.must(200, "GET", "/api/auth/me", key, nil)["workspace"].(map[string]any)["id"].(float64))
	created := g.must(201, "POST", "/api/devices", key, map[string]any{"name": "phone", "engine": "sim"})
	id := created["device"].(map[string]any)["id"]
	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/connect", id), key, nil)
	g.waitStatus(key, id, "SCAN_QR")
	g.must(200, "POST", fmt.Sprintf("/api/devices/%v/sandbox/scan", id), key, nil)
	g.waitStatus(key, id, "CONNECTED")
	// A gap between sends, so that the queue drains while it is killed.
	g.must(200, "PATCH", fmt.Sprintf("/api/devices/%v", id), key, map[string]any{"pacing": map[string]any{"gapMin": "200ms", "gapMax": "300ms"}})

	const n = 24
	bodies := make([]map[string]any, n)
	ids := make([]string, n)
	for i := range n {
		bodies[i] = map[string]any{"deviceId": id, "to": fmt.Sprintf("4915100000%02d", i), "text": fmt.Sprintf("message %d", i)}
		status, msgID, _ := keyedSend(t, gw.base, key, fmt.Sprintf("queue-%d", i), bodies[i])
		if status != http.StatusAccepted || msgID == "" {
			t.Fatalf("send %d answered %d", i, status)
		}
		ids[i] = msgID
	}

	for round := range 2 {
		before, _ := countSent(g, key, id)
		waitFor(t, 20*time.Second, func() error {
			if sent, _ := countSent(g, key, id); sent < before+3 {
				return fmt.Errorf("%d sent, waiting for %d", sent, before+3)
			}
			return nil
		})
		gw.kill()
		gw = startChild(t, dir)
		g = &gateway{t: t, base: gw.base}
		g.waitStatus(key, id, "CONNECTED")
		sent, queued := countSent(g, key, id)
		t.Logf("round %d: killed with %d sent, %d still queued", round, sent, queued)
		if queued == 0 {
			t.Fatalf("round %d: the queue drained before the kill; the test proves nothing", round)
		}
	}
	waitFor(t, 30*time.Second, func() error {
		if sent, queued := countSent(g, key, id); sent != n || queued != 0 {
			return fmt.Errorf("%d sent, %d queued, want all %d sent", sent, queued, n)
		}
		return nil
	})
	// Retries with the same keys answer the same messages and send nothing.
	for i := range n {
		status, msgID, replayed := keyedSend(t, gw.base, key, fmt.Sprintf("queue-%d", i), bodies[i])
		if status != http.StatusAccepted || msgID != ids[i] || !replayed {
			t.Errorf("retry %d answered %d %s (replayed %v), want the first answer for %s", i, status, msgID, replayed, ids[i])
		}
	}
	gw.stop()

	// At the contact: each admitted message once, under the id it has.
	db, err := storage.Open(filepath.Join(dir, "db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	devID := int64(id.(float64))
	contact, err := sim.New(sim.Config{Store: simStore{db}}).SentIDs(devID)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := db.ListMessages(ws, storage.MessageFilter{DeviceID: devID, Direction: "out", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var waids []string
	for _, m := range msgs {
		if !slices.Contains(ids, m.ID) || m.WAID == "" {
			t.Errorf("message %s (%s, waId %q) was never admitted or has no WhatsApp id", m.ID, m.Status, m.WAID)
		}
		waids = append(waids, m.WAID)
	}
	slices.Sort(waids)
	slices.Sort(contact)
	if len(msgs) != n || !slices.Equal(waids, contact) || len(slices.Compact(slices.Clone(waids))) != n {
		t.Fatalf("%d messages stored with ids %v;\nthe contact received %v", len(msgs), waids, contact)
	}
}
