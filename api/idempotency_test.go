package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

// sendKeyed posts a send with an Idempotency-Key.
func (sb *sandbox) sendKeyed(t *testing.T, path, key string, body any, h cred) *response {
	t.Helper()
	if h == nil {
		h = sb.admin
	}
	return sb.ts.do("POST", path, body, h.with(headers(headerIdempotencyKey, key)))
}

// TestIdempotencyKeySendsOnce: the same key twice answers the first answer
// again (status and body) and the contact gets one message, on every send
// route; the same key with another request is refused.
func TestIdempotencyKeySendsOnce(t *testing.T) {
	sb := newSandbox(t)
	orig := sb.sentText(t) // a message to react to, edit and revoke
	sentBefore := len(sb.ts.sim.Sent(sb.dev))
	file := sb.upload(t, "dot.png", "image/png", pngBytes(t))
	to := "628111222333"
	routes := []struct {
		path string
		body map[string]any
	}{
		{"/api/messages/send-text", map[string]any{"to": to, "text": "once"}},
		{"/api/messages/send-media", map[string]any{"to": to, "kind": "image", "fileId": file.FileID, "caption": "once"}},
		{"/api/messages/send-media", map[string]any{"to": to, "kind": "image", "base64": base64.StdEncoding.EncodeToString(pngBytes(t))}},
		{"/api/messages/send-location", map[string]any{"to": to, "latitude": 1.5, "longitude": 2.5}},
		{"/api/messages/send-contact", map[string]any{"to": to, "name": "Ada", "phone": "447700900123"}},
		{"/api/messages/send-poll", map[string]any{"to": to, "name": "Lunch?", "options": []string{"a", "b"}}},
		{"/api/messages/send-reaction", map[string]any{"messageId": orig, "emoji": "👍"}},
		{"/api/messages/" + orig + "/edit", map[string]any{"text": "edited"}},
		{"/api/whatsapp/send", map[string]any{"recipient": to, "message": "once", "sessionId": sb.dev}},
		{"/api/whatsapp/send/image", map[string]any{"recipient": to, "fileId": file.FileID, "sessionId": sb.dev}},
		{"/api/messages/" + orig + "/revoke", map[string]any{}},
	}
	var ids []string
	for i, rt := range routes {
		if _, ok := rt.body["recipient"]; !ok {
			rt.body["deviceId"] = sb.dev
		}
		key := fmt.Sprintf("order-%d", i)
		first := sb.sendKeyed(t, rt.path, key, rt.body, nil)
		var m wireMessage
		first.ok(t, http.StatusAccepted, &m)
		if first.Header.Get(headerIdempotentReplayed) != "" {
			t.Errorf("%s: a first answer marked replayed", rt.path)
		}
		again := sb.sendKeyed(t, rt.path, key, rt.body, nil)
		if again.Status != first.Status || string(again.Body) != string(first.Body) || again.Header.Get(headerIdempotentReplayed) != "true" {
			t.Errorf("%s: retry answered %d %s (replayed %q), want the first answer %d %s",
				rt.path, again.Status, again.Body, again.Header.Get(headerIdempotentReplayed), first.Status, first.Body)
		}
		sb.waitStatus(t, m.ID, "read")
		ids = append(ids, m.ID)
	}
	if got := len(sb.ts.sim.Sent(sb.dev)) - sentBefore; got != len(routes) {
		t.Errorf("the contact got %d messages for %d keyed sends made twice", got, len(routes))
	}

	// The same key, another request: refused, nothing sent.
	body := map[string]any{"deviceId": sb.dev, "to": to, "text": "once"}
	other := map[string]any{"deviceId": sb.dev, "to": to, "text": "twice?"}
	sb.sendKeyed(t, "/api/messages/send-text", "order-0", other, nil).fails(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	sb.sendKeyed(t, "/api/messages/send-location", "order-0", body, nil).fails(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	// The same request written differently is the same request.
	respaced := fmt.Sprintf(`{ "text":"once",  "to":%q, "deviceId":%d }`, to, sb.dev)
	r := sb.sendKeyed(t, "/api/messages/send-text", "order-0", respaced, nil)
	if r.Status != http.StatusAccepted || r.Header.Get(headerIdempotentReplayed) != "true" {
		t.Errorf("a re-encoded retry answered %d %s", r.Status, r.Body)
	}
	// Another caller of the workspace with the same key and body: another request.
	devKey := apiKey(sb.deviceKey(t))
	sb.sendKeyed(t, "/api/messages/send-text", "order-0", body, devKey).fails(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	// Another workspace's key of the same name is its own.
	other2 := newSandboxIn(t, sb.ts)
	other2.sendKeyed(t, "/api/messages/send-text", "order-0", map[string]any{"deviceId": other2.dev, "to": to, "text": "once"}, nil).
		ok(t, http.StatusAccepted, nil)
	if got := len(sb.ts.sim.Sent(sb.dev)) - sentBefore; got != len(routes) {
		t.Errorf("refused and foreign requests sent: %d messages, want %d", got, len(routes))
	}

	// Each step of a keyed message is in GET /api/messages/{id}, with its time.
	var m struct {
		Status      string     `json:"status"`
		CreatedAt   *time.Time `json:"createdAt"`
		SentAt      *time.Time `json:"sentAt"`
		DeliveredAt *time.Time `json:"deliveredAt"`
		ReadAt      *time.Time `json:"readAt"`
	}
	sb.ts.do("GET", "/api/messages/"+ids[0], nil, sb.admin).ok(t, http.StatusOK, &m)
	if m.Status != "read" || m.CreatedAt == nil || m.SentAt == nil || m.DeliveredAt == nil || m.ReadAt == nil ||
		m.SentAt.Before(*m.CreatedAt) || m.DeliveredAt.Before(*m.SentAt) || m.ReadAt.Before(*m.DeliveredAt) {
		t.Errorf("lifecycle of a keyed message: %+v", m)
	}
}

// deviceKey regenerates the sandbox device's key and returns it.
func (sb *sandbox) deviceKey(t *testing.T) string {
	t.Helper()
	var k struct {
		DeviceAPIKey string `json:"deviceApiKey"`
	}
	sb.ts.do("POST", "/api/devices/"+itoa(sb.dev)+"/regenerate-key", nil, sb.admin).ok(t, http.StatusOK, &k)
	return k.DeviceAPIKey
}

// TestIdempotencyKeyRefusalsFreeTheKey: a request refused before anything
// was admitted (invalid, over the rate limit) keeps no answer, so the key
// can be used again; malformed keys are refused.
func TestIdempotencyKeyRefusalsFreeTheKey(t *testing.T) {
	sb := newSandbox(t)
	sb.ts.do("PATCH", "/api/devices/"+itoa(sb.dev), map[string]any{"rateLimit": map[string]int{"limit": 2, "windowSeconds": 86400}}, sb.admin).
		ok(t, http.StatusOK, nil)
	path := "/api/messages/send-text"
	sb.sendKeyed(t, path, "k1", map[string]any{"deviceId": sb.dev, "to": "628111222333"}, nil).fails(t, http.StatusBadRequest, "validation_failed")
	sb.sendKeyed(t, path, "k1", map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "now valid"}, nil).ok(t, http.StatusAccepted, nil)
	sb.sendKeyed(t, path, "k2", map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "admitted"}, nil).ok(t, http.StatusAccepted, nil)
	sb.sendKeyed(t, path, "k3", map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "refused"}, nil).fails(t, http.StatusTooManyRequests, "rate_limited")
	// Not the first answer replayed: the request runs again (and is refused again).
	r := sb.sendKeyed(t, path, "k3", map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "another"}, nil)
	r.fails(t, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Error("a refused keyed send lost its Retry-After")
	}

	for name, key := range map[string]string{
		"too long":  strings.Repeat("k", 256),
		"a space":   "two words",
		"non-ASCII": "clé",
	} {
		r := sb.sendKeyed(t, path, key, map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "x"}, nil)
		r.fails(t, http.StatusBadRequest, "validation_failed")
		if r.Env.Error.Field != headerIdempotencyKey {
			t.Errorf("%s: field %q", name, r.Env.Error.Field)
		}
	}
	if n := sb.messageCount(t); n != 2 {
		t.Errorf("%d messages stored, want 2", n)
	}
}

// TestIdempotencyKeyWhileRunning: a retry while the first request is still
// being answered (it waits for the send) is 409; once answered, the retry
// gets that answer.
func TestIdempotencyKeyWhileRunning(t *testing.T) {
	sb := newSandbox(t)
	// Disconnected, the device keeps the message queued: the first request,
	// which waits for the send, waits until the device is back.
	sb.ts.do("POST", "/api/devices/"+itoa(sb.dev)+"/disconnect", nil, sb.admin).ok(t, http.StatusOK, nil)
	path := "/api/messages/send-text?wait=true"
	body := map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "slow"}

	var wg sync.WaitGroup
	var first *response
	wg.Add(1)
	go func() {
		defer wg.Done()
		first = sb.ts.do("POST", path, body, sb.admin.with(headers(headerIdempotencyKey, "slow-1")))
	}()
	waitFor(t, 5*time.Second, func() error {
		if n := sb.messageCount(t); n != 1 {
			return fmt.Errorf("%d messages stored", n)
		}
		return nil
	})
	sb.sendKeyed(t, path, "slow-1", body, nil).fails(t, http.StatusConflict, "idempotency_in_progress")
	sb.sendKeyed(t, path, "slow-1", map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "other"}, nil).
		fails(t, http.StatusUnprocessableEntity, "idempotency_mismatch")
	sb.ts.do("POST", "/api/devices/"+itoa(sb.dev)+"/connect", nil, sb.admin).ok(t, http.StatusAccepted, nil)
	wg.Wait()
	var m wireMessage
	first.ok(t, http.StatusOK, &m)
	if m.Status == "queued" || m.SentAt == nil {
		t.Fatalf("the waited send answered %+v", m)
	}
	again := sb.sendKeyed(t, path, "slow-1", body, nil)
	if again.Status != http.StatusOK || string(again.Body) != string(first.Body) {
		t.Errorf("retry after the answer: %d %s, want %s", again.Status, again.Body, first.Body)
	}
	if got := len(sb.ts.sim.Sent(sb.dev)); got != 1 {
		t.Errorf("the contact got %d messages", got)
	}
}

// TestIdempotencyKeyAfterACrash: a key reserved by a request that never
// answered (the gateway stopped) is taken over by the retry: it answers
// the message the request admitted, or admits it under the reserved id.
func TestIdempotencyKeyAfterACrash(t *testing.T) {
	sb := newSandbox(t)
	path := "/api/messages/send-text"
	body := map[string]any{"deviceId": sb.dev, "to": "628111222333", "text": "before the crash"}
	var m wireMessage
	sb.sendKeyed(t, path, "crash-1", body, nil).ok(t, http.StatusAccepted, &m)
	sb.waitStatus(t, m.ID, "read")
	rec, err := sb.ts.db.GetIdempotencyKey(sb.ws, "crash-1", time.Now())
	if err != nil || rec.MessageID != m.ID || rec.Status != http.StatusAccepted {
		t.Fatalf("stored answer %+v, %v", rec, err)
	}
	// What a crash between admission and answer leaves: the reservation.
	reserve := func(key, msgID string) {
		t.Helper()
		now := time.Now()
		if _, reserved, err := sb.ts.db.ReserveIdempotencyKey(storage.IdempotencyRecord{WorkspaceID: sb.ws, Key: key,
			Fingerprint: rec.Fingerprint, MessageID: msgID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, now); err != nil || !reserved {
			t.Fatalf("reserve: %v, %v", reserved, err)
		}
	}
	if err := sb.ts.db.ReleaseIdempotencyKey(sb.ws, "crash-1", rec.Fingerprint); err != nil {
		t.Fatal(err)
	}
	reserve("crash-1", m.ID)
	var got wireMessage
	r := sb.sendKeyed(t, path, "crash-1", body, nil)
	r.ok(t, http.StatusOK, &got)
	if got.ID != m.ID || got.Status != "read" || r.Header.Get(headerIdempotentReplayed) != "true" {
		t.Errorf("retry after a crash answered %d %+v", r.Status, got)
	}
	// Admitted nothing before the crash: the retry admits it under the reserved id.
	reserved := storage.NewMessageID()
	reserve("crash-2", reserved)
	sb.sendKeyed(t, path, "crash-2", body, nil).ok(t, http.StatusAccepted, &got)
	if got.ID != reserved {
		t.Errorf("retry admitted %s, want the reserved id %s", got.ID, reserved)
	}
	sb.waitStatus(t, reserved, "read")
	if n := len(sb.ts.sim.Sent(sb.dev)); n != 2 {
		t.Errorf("the contact got %d messages, want 2", n)
	}
}
