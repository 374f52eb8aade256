package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

// hookReceiver is a webhook endpoint on 127.0.0.1 that records what it
// gets; handle (when set) answers instead of a 204.
type hookReceiver struct {
	url string
	mu  sync.Mutex
	got []hookRequest
}

type hookRequest struct {
	header http.Header
	body   []byte
	event  storage.Event
}

func newHookReceiver(t *testing.T, handle http.HandlerFunc) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e storage.Event
		_ = json.Unmarshal(body, &e)
		rc.mu.Lock()
		rc.got = append(rc.got, hookRequest{header: r.Header.Clone(), body: body, event: e})
		rc.mu.Unlock()
		if handle != nil {
			handle(w, r)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hook"
	return rc
}

func (rc *hookReceiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

func (rc *hookReceiver) seqs() []uint64 {
	var out []uint64
	for _, r := range rc.requests() {
		out = append(out, r.event.Seq)
	}
	return out
}

// verifyDelivery checks both signatures as a receiver would, from the
// specifications: X-Webhook-Signature is the lowercase hex HMAC-SHA256 of
// the body keyed with the secret string; webhook-signature carries
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" keyed with the bytes the
// part after whsec_ decodes to.
func verifyDelivery(secret string, r hookRequest) error {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(r.body)
	if want := hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(r.header.Get("X-Webhook-Signature")), []byte(want)) {
		return fmt.Errorf("X-Webhook-Signature %q, want %q", r.header.Get("X-Webhook-Signature"), want)
	}
	ts, err := strconv.ParseInt(r.header.Get("webhook-timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		return fmt.Errorf("webhook-timestamp %q", r.header.Get("webhook-timestamp"))
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret %q: %v", secret, err)
	}
	mac = hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"))
	mac.Write(r.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(r.header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook-signature %q lacks %q", r.header.Get("webhook-signature"), want)
}

type wireWebhook struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Events                  []string   `json:"events"`
	DeviceID                *int64     `json:"deviceId"`
	Description             string     `json:"description"`
	Status                  string     `json:"status"`
	DisabledReason          *string    `json:"disabledReason"`
	PreviousSecretExpiresAt *time.Time `json:"previousSecretExpiresAt"`
	Secret                  *string    `json:"secret"`
}

type wireDelivery struct {
	ID         string  `json:"id"`
	EventID    string  `json:"eventId"`
	EventSeq   uint64  `json:"eventSeq"`
	EventType  string  `json:"eventType"`
	Status     string  `json:"status"`
	Attempts   int     `json:"attempts"`
	Manual     bool    `json:"manual"`
	StatusCode *int    `json:"statusCode"`
	LatencyMs  *int64  `json:"latencyMs"`
	Response   *string `json:"response"`
}

func (ts *testServer) createWebhook(t *testing.T, h cred, url string) wireWebhook {
	t.Helper()
	var w wireWebhook
	ts.do("POST", "/api/webhooks", map[string]any{"url": url, "events": []string{"*"}}, h).ok(t, http.StatusCreated, &w)
	return w
}

// TestWebhookReceivesEveryEventInOrder: a receiver on 127.0.0.1 gets every
// logged event exactly once, in seq order, each with valid signatures of
// both schemes; the deliveries log, the test event, redelivery and secret
// rotation work end to end.
func TestWebhookReceivesEveryEventInOrder(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	rc := newHookReceiver(t, nil)

	created := ts.createWebhook(t, admin, rc.url)
	if created.Secret == nil || !strings.HasPrefix(*created.Secret, "whsec_") || created.Status != "active" || !strings.HasPrefix(created.ID, "wh_") {
		t.Fatalf("created = %+v", created)
	}
	secret := *created.Secret
	var got wireWebhook
	ts.do("GET", "/api/webhooks/"+created.ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.Secret != nil || got.URL != rc.url || !slices.Equal(got.Events, []string{"*"}) {
		t.Fatalf("GET = %+v; the secret is shown only at creation", got)
	}
	if r := ts.do("GET", "/api/webhooks", nil, admin); strings.Contains(string(r.Body), secret) {
		t.Fatal("the list shows the secret")
	}

	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.pair(t, admin, d.Device.ID)
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": d.Device.ID, "to": "628111222333", "text": "hi"}, admin).
		ok(t, http.StatusAccepted, nil)
	for i := range 5 {
		ts.inbound(t, admin, d.Device.ID, fmt.Sprint("in ", i))
	}
	logged := ts.logged(t, acc.Workspace.ID, 12)
	waitFor(t, 10*time.Second, func() error {
		if got := len(rc.requests()); got < len(logged) {
			return fmt.Errorf("%d of %d delivered", got, len(logged))
		}
		return nil
	})
	logged, _ = ts.db.ReadEvents(acc.Workspace.ID, 0, 1000)
	reqs := rc.requests()
	if len(reqs) != len(logged) {
		t.Fatalf("%d requests for %d events", len(reqs), len(logged))
	}
	for i, r := range reqs {
		e := logged[i]
		if r.event.Seq != e.Seq || r.event.ID != e.ID || r.header.Get("webhook-id") != e.ID ||
			r.header.Get("X-Webhook-Event") != e.Type || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("request %d: seq %d id %s headers %v; want seq %d id %s", i, r.event.Seq, r.event.ID, r.header, e.Seq, e.ID)
		}
		if err := verifyDelivery(secret, r); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}

	// The deliveries log.
	var page wireList[wireDelivery]
	ts.do("GET", "/api/webhooks/"+created.ID+"/deliveries?limit=500", nil, admin).ok(t, http.StatusOK, &page)
	if len(page.Items) != len(logged) {
		t.Fatalf("%d deliveries logged, want %d", len(page.Items), len(logged))
	}
	newest := page.Items[0]
	if newest.Status != "delivered" || newest.StatusCode == nil || *newest.StatusCode != 204 || newest.LatencyMs == nil ||
		newest.Attempts != 1 || newest.EventSeq != logged[len(logged)-1].Seq {
		t.Errorf("newest delivery %+v", newest)
	}

	// Test event: out of the log, to this endpoint.
	var test wireDelivery
	ts.do("POST", "/api/webhooks/"+created.ID+"/test", nil, admin).ok(t, http.StatusOK, &test)
	if test.Status != "delivered" || test.EventType != "webhook.test" || !test.Manual {
		t.Errorf("test delivery %+v", test)
	}
	last := rc.requests()[len(rc.requests())-1]
	if last.event.Type != "webhook.test" || last.event.Seq != 0 || verifyDelivery(secret, last) != nil {
		t.Errorf("test request %+v", last.event)
	}

	// Redelivery: same webhook-id.
	var again wireDelivery
	ts.do("POST", "/api/webhooks/"+created.ID+"/deliveries/"+newest.ID+"/redeliver", nil, admin).ok(t, http.StatusOK, &again)
	last = rc.requests()[len(rc.requests())-1]
	if again.Status != "delivered" || !again.Manual || last.header.Get("webhook-id") != newest.EventID {
		t.Errorf("redelivery %+v, webhook-id %q", again, last.header.Get("webhook-id"))
	}
	ts.do("POST", "/api/webhooks/"+created.ID+"/deliveries/dlv_nope/redeliver", nil, admin).fails(t, http.StatusNotFound, "delivery_not_found")

	// Rotation: the new secret is shown once; both sign during the overlap.
	var rotated wireWebhook
	ts.do("POST", "/api/webhooks/"+created.ID+"/rotate-secret", nil, admin).ok(t, http.StatusOK, &rotated)
	if rotated.Secret == nil || *rotated.Secret == secret || rotated.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotated = %+v", rotated)
	}
	ts.inbound(t, admin, d.Device.ID, "after rotation")
	next := ts.logged(t, acc.Workspace.ID, len(logged)+1)[len(logged)]
	waitFor(t, 10*time.Second, func() error {
		r := rc.requests()
		if r[len(r)-1].event.ID != next.ID {
			return fmt.Errorf("last request carried %s, want %s", r[len(r)-1].event.ID, next.ID)
		}
		return nil
	})
	last = rc.requests()[len(rc.requests())-1]
	if err := verifyDelivery(*rotated.Secret, last); err != nil {
		t.Errorf("new secret: %v", err)
	}
	if n := len(strings.Fields(last.header.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d signatures during the overlap, want 2", n)
	}
	ts.do("POST", "/api/webhooks/"+created.ID+"/rotate-secret", map[string]any{"overlapSeconds": 0}, admin).ok(t, http.StatusOK, &rotated)
	if rotated.PreviousSecretExpiresAt != nil {
		t.Errorf("overlap 0 still has a previous secret until %v", rotated.PreviousSecretExpiresAt)
	}
}

// TestWebhookInputRefused: bad input is 400 (or 404 for another
// workspace's device) and nothing is stored.
func TestWebhookInputRefused(t *testing.T) {
	ts := newTestServer(t) // private addresses refused
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	other := ts.register(t)
	foreign := ts.createDevice(t, apiKey(other.APIKey), "theirs", engineSim)

	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"non-http URL", map[string]any{"url": "ftp://93.184.216.34/x", "events": []string{"*"}}, 400, "invalid_url"},
		{"relative URL", map[string]any{"url": "/hook", "events": []string{"*"}}, 400, "invalid_url"},
		{"loopback", map[string]any{"url": "http://127.0.0.1:8080/hook", "events": []string{"*"}}, 400, "url_not_allowed"},
		{"localhost", map[string]any{"url": "http://localhost/hook", "events": []string{"*"}}, 400, "url_not_allowed"},
		{"private", map[string]any{"url": "https://10.1.2.3/hook", "events": []string{"*"}}, 400, "url_not_allowed"},
		{"link-local", map[string]any{"url": "http://169.254.169.254/latest", "events": []string{"*"}}, 400, "url_not_allowed"},
		{"unknown event type", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"message.teleported"}}, 400, "unknown_event_type"},
		{"no events", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{}}, 400, "validation_failed"},
		{"events missing", map[string]any{"url": "https://93.184.216.34/hook"}, 400, "validation_failed"},
		{"url missing", map[string]any{"events": []string{"*"}}, 400, "validation_failed"},
		{"bad deviceId", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"*"}, "deviceId": "x"}, 400, "validation_failed"},
		{"another workspace's device", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"*"}, "deviceId": foreign.Device.ID}, 404, "device_not_found"},
		{"description too long", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"*"}, "description": strings.Repeat("d", 501)}, 400, "validation_failed"},
		{"not JSON", "{", 400, "invalid_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts.do("POST", "/api/webhooks", tc.body, admin).fails(t, tc.status, tc.code)
		})
	}
	var list wireList[wireWebhook]
	ts.do("GET", "/api/webhooks", nil, admin).ok(t, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Fatalf("stored after refusals: %+v", list.Items)
	}
	hooks, err := ts.db.ListAllWebhooks()
	if err != nil || len(hooks) != 0 {
		t.Fatalf("store holds %d webhooks, %v", len(hooks), err)
	}

	// A patch is checked the same way and changes nothing when refused.
	var w wireWebhook
	ts.do("POST", "/api/webhooks", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"message.received"}, "description": " mine "}, admin).
		ok(t, http.StatusCreated, &w)
	if w.Description != "mine" {
		t.Errorf("description %q", w.Description)
	}
	ts.do("PATCH", "/api/webhooks/"+w.ID, map[string]any{"url": "http://[::1]/"}, admin).fails(t, 400, "url_not_allowed")
	ts.do("PATCH", "/api/webhooks/"+w.ID, map[string]any{"events": []string{"nope"}}, admin).fails(t, 400, "unknown_event_type")
	var after wireWebhook
	ts.do("GET", "/api/webhooks/"+w.ID, nil, admin).ok(t, http.StatusOK, &after)
	if after.URL != "https://93.184.216.34/hook" || !slices.Equal(after.Events, []string{"message.received"}) {
		t.Errorf("after refused patches: %+v", after)
	}
	off := false
	ts.do("PATCH", "/api/webhooks/"+w.ID, map[string]any{"enabled": off, "events": []string{"*"}, "description": "x"}, admin).ok(t, http.StatusOK, &after)
	if after.Status != "disabled" || after.DisabledReason == nil || !slices.Equal(after.Events, []string{"*"}) || after.Description != "x" {
		t.Errorf("after patch: %+v", after)
	}
	ts.do("POST", "/api/webhooks/"+w.ID+"/rotate-secret", map[string]any{"overlapSeconds": 10_000_000}, admin).fails(t, 400, "validation_failed")
	ts.do("GET", "/api/webhooks/"+w.ID+"/deliveries?status=lost", nil, admin).fails(t, 400, "validation_failed")
	ts.do("GET", "/api/webhooks/"+w.ID+"/deliveries?cursor=zzz", nil, admin).fails(t, 400, "invalid_cursor")
}

// TestWebhookAccess: only workspace (live) keys and sessions manage
// webhooks, and only their own workspace's.
func TestWebhookAccess(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	testKey := apiKey(ts.createKey(t, admin, "test", modeTest).APIKey)
	other := apiKey(ts.register(t).APIKey)

	var w wireWebhook
	ts.do("POST", "/api/webhooks", map[string]any{"url": "https://93.184.216.34/hook", "events": []string{"*"}}, admin).ok(t, http.StatusCreated, &w)
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/webhooks"},
		{"POST", "/api/webhooks"},
		{"GET", "/api/webhooks/" + w.ID},
		{"PATCH", "/api/webhooks/" + w.ID},
		{"DELETE", "/api/webhooks/" + w.ID},
		{"POST", "/api/webhooks/" + w.ID + "/test"},
		{"POST", "/api/webhooks/" + w.ID + "/rotate-secret"},
		{"GET", "/api/webhooks/" + w.ID + "/deliveries"},
	} {
		ts.do(c.method, c.path, map[string]any{}, apiKey(d.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")
		ts.do(c.method, c.path, map[string]any{}, testKey).fails(t, http.StatusForbidden, "forbidden")
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/webhooks/" + w.ID},
		{"PATCH", "/api/webhooks/" + w.ID},
		{"DELETE", "/api/webhooks/" + w.ID},
		{"POST", "/api/webhooks/" + w.ID + "/test"},
		{"POST", "/api/webhooks/" + w.ID + "/rotate-secret"},
		{"GET", "/api/webhooks/" + w.ID + "/deliveries"},
		{"GET", "/api/webhooks/wh_nothing"},
	} {
		ts.do(c.method, c.path, map[string]any{}, other).fails(t, http.StatusNotFound, "webhook_not_found")
	}
	var list wireList[wireWebhook]
	ts.do("GET", "/api/webhooks", nil, other).ok(t, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("another workspace lists %+v", list.Items)
	}

	// Paging, then deletion.
	for range 2 {
		ts.do("POST", "/api/webhooks", map[string]any{"url": "https://93.184.216.34/more", "events": []string{"*"}}, admin).ok(t, http.StatusCreated, nil)
	}
	var ids []string
	cursor := ""
	for {
		var page wireList[wireWebhook]
		ts.do("GET", "/api/webhooks?limit=2&cursor="+cursor, nil, admin).ok(t, http.StatusOK, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(ids) != 3 || ids[0] != w.ID {
		t.Errorf("paged ids %v", ids)
	}
	ts.do("DELETE", "/api/webhooks/"+w.ID, nil, admin).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/webhooks/"+w.ID, nil, admin).fails(t, http.StatusNotFound, "webhook_not_found")
}
