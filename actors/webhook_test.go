package actors

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/egress"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
	"github.com/wa-gateway/wa-gateway/storage"
)

// verifySignatures checks a delivery as a receiver would, written from
// the two specifications rather than from the gateway's code: the hex
// HMAC of the body keyed with the secret string, and the Standard
// Webhooks v1 signature keyed with the secret's decoded bytes. Any one of
// the space-separated v1 signatures may match.
func verifySignatures(secret string, h http.Header, body []byte, now time.Time) error {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if got, want := h.Get("X-Webhook-Signature"), hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(got), []byte(want)) {
		return fmt.Errorf("X-Webhook-Signature %q, want %q", got, want)
	}
	ts, err := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		return fmt.Errorf("webhook-timestamp %q", h.Get("webhook-timestamp"))
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp %d is %s off", ts, d)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return fmt.Errorf("secret %q is not whsec_ + base64", secret)
	}
	mac = hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no webhook-signature in %q matches %q", h.Get("webhook-signature"), want)
}

// hit is one request a receiver got.
type hit struct {
	at     time.Time
	header http.Header
	body   []byte
	event  storage.Event
}

// receiver is a webhook endpoint that records what it gets and answers
// with reply (200 when nil).
type receiver struct {
	mu    sync.Mutex
	hits  []hit
	reply func(n int, e storage.Event) (int, http.Header)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var e storage.Event
	_ = json.Unmarshal(body, &e)
	rc.mu.Lock()
	rc.hits = append(rc.hits, hit{at: time.Now(), header: r.Header.Clone(), body: body, event: e})
	n := len(rc.hits)
	reply := rc.reply
	rc.mu.Unlock()
	code, h := http.StatusOK, http.Header(nil)
	if reply != nil {
		code, h = reply(n, e)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(code)
	_, _ = w.Write([]byte(`{"ok":` + strconv.FormatBool(code < 300) + `}`))
}

func (rc *receiver) got() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.hits)
}

// handlerTransport serves requests with a handler in memory, so that a
// webhook actor can run inside a testing/synctest bubble (no sockets).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// bubbleGateway runs a gateway inside the current synctest bubble, with
// webhooks served by rc in memory.
func bubbleGateway(t *testing.T, db *storage.DB, rc *receiver) *Gateway {
	t.Helper()
	gw, err := Start(context.Background(), Config{DB: db, EventRetention: 30 * 24 * time.Hour, AllowPrivateURLs: true,
		webhookClient: &http.Client{Transport: handlerTransport{rc}, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // as the egress client does
		}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := gw.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return gw
}

// bubbleDB opens a database with one workspace. Inside a synctest bubble
// it must be opened there too: pebble's synced commits wait on its own
// goroutines, which must then belong to the bubble.
func bubbleDB(t *testing.T) (*storage.DB, int64) {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ws, _, _, err := db.CreateAccount(storage.Workspace{Name: "acme"},
		storage.User{Name: "o", Email: "o@example.com"}, storage.APIKey{Kind: storage.KeyLive, Name: "k", Hash: [32]byte{9}})
	if err != nil {
		t.Fatal(err)
	}
	return db, ws.ID
}

// storeEvents does what a device actor does: store events in the outbox
// and tell the workspace actor.
func storeEvents(t *testing.T, gw *Gateway, ws int64, types ...string) []storage.Event {
	t.Helper()
	var evs []storage.Event
	for i, typ := range types {
		e, err := newEvent(ws, 0, typ, map[string]int{"n": i})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if err := gw.db.AddPendingEvents(evs); err != nil {
		t.Fatal(err)
	}
	pid, err := gw.workspace(context.Background(), ws)
	if err != nil {
		t.Fatal(err)
	}
	gw.sys.Root.Send(pid, eventsStored{events: evs})
	return evs
}

func newHook(t *testing.T, gw *Gateway, ws int64, spec WebhookSpec) storage.Webhook {
	t.Helper()
	if spec.URL == "" {
		spec.URL = "http://receiver.test/hook"
	}
	if spec.Events == nil {
		spec.Events = []string{"*"}
	}
	h, err := gw.CreateWebhook(context.Background(), ws, spec)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func deliveries(t *testing.T, gw *Gateway, ws int64, id string) []storage.Delivery {
	t.Helper()
	ds, _, err := gw.WebhookDeliveries(context.Background(), ws, id, storage.DeliveryFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestWebhookRetriesWithBackoff: an endpoint that fails three times and
// then succeeds gets the event four times with the same webhook-id, at the
// schedule's intervals (jittered between half and all of each step), a
// Retry-After holding one retry back; the next event follows only then.
func TestWebhookRetriesWithBackoff(t *testing.T) {
	bubble(t, func(t *testing.T) {
		db, ws := bubbleDB(t)
		rc := &receiver{reply: func(n int, _ storage.Event) (int, http.Header) {
			switch n {
			case 1:
				return http.StatusInternalServerError, nil
			case 2:
				return http.StatusFound, http.Header{"Location": {"http://elsewhere.test/"}}
			case 3:
				return http.StatusServiceUnavailable, http.Header{"Retry-After": {"600"}}
			}
			return http.StatusNoContent, nil
		}}
		gw := bubbleGateway(t, db, rc)
		h := newHook(t, gw, ws, WebhookSpec{})
		evs := storeEvents(t, gw, ws, EventMessageReceived, EventMessageSent)

		time.Sleep(2 * time.Hour)
		synctest.Wait()
		hits := rc.got()
		if len(hits) != 5 {
			t.Fatalf("%d requests, want 4 for the first event and 1 for the second", len(hits))
		}
		for i, hit := range hits[:4] {
			if id := hit.header.Get("webhook-id"); id != evs[0].ID {
				t.Errorf("attempt %d: webhook-id %q, want %q", i+1, id, evs[0].ID)
			}
			if err := verifySignatures(h.Secret, hit.header, hit.body, hit.at); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
		}
		if hits[4].event.ID != evs[1].ID {
			t.Errorf("fifth request carried %s, want the second event", hits[4].event.ID)
		}
		gaps := []time.Duration{hits[1].at.Sub(hits[0].at), hits[2].at.Sub(hits[1].at), hits[3].at.Sub(hits[2].at)}
		bounds := [][2]time.Duration{{2500 * time.Millisecond, 5 * time.Second}, {15 * time.Second, 30 * time.Second}, {10 * time.Minute, 10 * time.Minute}}
		for i, g := range gaps {
			if g < bounds[i][0] || g > bounds[i][1] {
				t.Errorf("wait before attempt %d: %s, want within %v", i+2, g, bounds[i])
			}
		}

		ds := deliveries(t, gw, ws, h.ID)
		if len(ds) != 2 {
			t.Fatalf("%d deliveries logged, want 2", len(ds))
		}
		first := ds[1]
		if first.Status != storage.DeliveryDelivered || first.Attempts != 4 || first.Code != http.StatusNoContent ||
			first.EventID != evs[0].ID || first.EventSeq != 1 || first.Error != "" {
			t.Errorf("first delivery %+v", first)
		}
		if !strings.Contains(first.Response, `"ok":true`) {
			t.Errorf("response snippet %q", first.Response)
		}
		if c, _ := db.WebhookCursor(ws, h.ID); c != 2 {
			t.Errorf("cursor %d, want 2", c)
		}
	})
}

// TestWebhookGivesUpAfterTheSchedule: an endpoint that always fails gets
// attempts for at least three days; then the delivery is failed, the
// endpoint moves on, and the failed delivery can be redelivered.
func TestWebhookGivesUpAfterTheSchedule(t *testing.T) {
	bubble(t, func(t *testing.T) {
		db, ws := bubbleDB(t)
		var mu sync.Mutex
		healthy := false
		rc := &receiver{reply: func(int, storage.Event) (int, http.Header) {
			mu.Lock()
			defer mu.Unlock()
			if healthy {
				return http.StatusOK, nil
			}
			return http.StatusBadGateway, nil
		}}
		gw := bubbleGateway(t, db, rc)
		h := newHook(t, gw, ws, WebhookSpec{})
		start := time.Now()
		evs := storeEvents(t, gw, ws, EventMessageReceived)

		time.Sleep(retryWindow - time.Minute)
		synctest.Wait()
		if ds := deliveries(t, gw, ws, h.ID); len(ds) != 1 || ds[0].Status != storage.DeliveryPending || ds[0].NextAttemptAt.IsZero() {
			t.Fatalf("before three days: %+v", ds)
		}
		time.Sleep(13 * time.Hour)
		synctest.Wait()
		hits := rc.got()
		last := hits[len(hits)-1].at
		if span := last.Sub(start); span < retryWindow {
			t.Errorf("last attempt %s after the first, want at least %s", span, retryWindow)
		}
		ds := deliveries(t, gw, ws, h.ID)
		if len(ds) != 1 || ds[0].Status != storage.DeliveryFailed || ds[0].Attempts != len(hits) || ds[0].Code != http.StatusBadGateway {
			t.Fatalf("after the schedule: %+v (%d requests)", ds, len(hits))
		}
		t.Logf("%d attempts over %s", len(hits), last.Sub(start).Round(time.Minute))

		// The endpoint moved on: the next event goes out at once.
		mu.Lock()
		healthy = true
		mu.Unlock()
		next := storeEvents(t, gw, ws, EventMessageSent)
		synctest.Wait()
		if hits := rc.got(); hits[len(hits)-1].event.ID != next[0].ID {
			t.Fatalf("last request carried %s, want the next event", hits[len(hits)-1].event.ID)
		}
		// And the failed one can be sent again, with its webhook-id.
		d, err := gw.Redeliver(context.Background(), ws, h.ID, ds[0].ID)
		if err != nil || d.Status != storage.DeliveryDelivered || !d.Manual || d.EventID != evs[0].ID {
			t.Fatalf("redeliver: %+v, %v", d, err)
		}
		if hits := rc.got(); hits[len(hits)-1].header.Get("webhook-id") != evs[0].ID {
			t.Errorf("redelivery webhook-id %q", hits[len(hits)-1].header.Get("webhook-id"))
		}
	})
}

// TestWebhookGoneDisables: 410 disables the endpoint and stops its
// deliveries; enabling it again resumes with the event it refused.
func TestWebhookGoneDisables(t *testing.T) {
	bubble(t, func(t *testing.T) {
		db, ws := bubbleDB(t)
		var mu sync.Mutex
		gone := true
		rc := &receiver{reply: func(int, storage.Event) (int, http.Header) {
			mu.Lock()
			defer mu.Unlock()
			if gone {
				return http.StatusGone, nil
			}
			return http.StatusOK, nil
		}}
		gw := bubbleGateway(t, db, rc)
		h := newHook(t, gw, ws, WebhookSpec{})
		evs := storeEvents(t, gw, ws, EventMessageReceived, EventMessageSent)
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := len(rc.got()); n != 1 {
			t.Fatalf("%d requests after a 410, want 1", n)
		}
		got, err := gw.Webhook(context.Background(), ws, h.ID)
		if err != nil || !got.Disabled || got.DisabledReason == "" {
			t.Fatalf("after 410: %+v, %v", got, err)
		}
		if ds := deliveries(t, gw, ws, h.ID); len(ds) != 1 || ds[0].Status != storage.DeliveryFailed || ds[0].Code != http.StatusGone {
			t.Fatalf("deliveries after 410: %+v", ds)
		}

		mu.Lock()
		gone = false
		mu.Unlock()
		enabled := true
		if _, err := gw.UpdateWebhook(context.Background(), ws, h.ID, WebhookPatch{Enabled: &enabled}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		hits := rc.got()
		if len(hits) != 3 || hits[1].event.ID != evs[0].ID || hits[2].event.ID != evs[1].ID {
			t.Fatalf("after enabling: %d requests", len(hits))
		}
	})
}

func TestRetryDelay(t *testing.T) {
	for n := 1; n <= 20; n++ {
		step := retrySchedule[min(n, len(retrySchedule))-1]
		for range 50 {
			if d := retryDelay(n, 0); d < step/2 || d >= step {
				t.Fatalf("retryDelay(%d) = %s, want in [%s, %s)", n, d, step/2, step)
			}
		}
	}
	if d := retryDelay(1, time.Hour); d != time.Hour {
		t.Errorf("Retry-After of an hour: %s", d)
	}
	if d := retryDelay(1, 48*time.Hour); d != maxRetryAfter {
		t.Errorf("Retry-After of two days: %s, want the cap %s", d, maxRetryAfter)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"120", 2 * time.Minute}, {"-5", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// realHarness is a gateway whose webhooks go over the network (loopback),
// private addresses allowed.
func realHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	db, err := storage.Open(h.dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.db = db
	ws, _, _, err := db.CreateAccount(storage.Workspace{Name: "acme"},
		storage.User{Name: "o", Email: "o@example.com"}, storage.APIKey{Kind: storage.KeyLive, Name: "k", Hash: [32]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	h.ws = ws.ID
	h.sim = sim.New(simConfig(dbSimStore{db}))
	gw, err := Start(context.Background(), Config{DB: db, AllowPrivateURLs: true, Engines: map[string]engine.Engine{"sim": h.sim}})
	if err != nil {
		t.Fatal(err)
	}
	h.gw = gw
	t.Cleanup(h.close)
	return h
}

// TestWebhooksInOrderFilteredAndSigned: each endpoint gets exactly the
// events its filters let through, in seq order, each once, signed both
// ways; the body is the envelope every channel carries.
func TestWebhooksInOrderFilteredAndSigned(t *testing.T) {
	h := realHarness(t)
	all, onlyReceived := &receiver{}, &receiver{}
	srvAll, srvReceived := httptest.NewServer(all), httptest.NewServer(onlyReceived)
	defer srvAll.Close()
	defer srvReceived.Close()
	hookAll := newHook(t, h.gw, h.ws, WebhookSpec{URL: srvAll.URL + "/all"})
	hookReceived := newHook(t, h.gw, h.ws, WebhookSpec{URL: srvReceived.URL, Events: []string{EventMessageReceived, EventMessageReceived}})
	if !slices.Equal(hookReceived.Events, []string{EventMessageReceived}) {
		t.Errorf("events stored as %v", hookReceived.Events)
	}

	var stored []storage.Event
	for range 20 {
		stored = append(stored, storeEvents(t, h.gw, h.ws, EventMessageReceived, EventMessageAck, EventDeviceStatus)...)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := len(all.got()); n < len(stored) {
			return fmt.Errorf("%d of %d delivered", n, len(stored))
		}
		return nil
	})
	logged, err := h.db.ReadEvents(h.ws, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	hits := all.got()
	if len(hits) != len(logged) {
		t.Fatalf("%d requests for %d events", len(hits), len(logged))
	}
	for i, hit := range hits {
		if hit.event.Seq != logged[i].Seq || hit.event.ID != hit.header.Get("webhook-id") {
			t.Fatalf("request %d: seq %d (id %s), want seq %d", i, hit.event.Seq, hit.header.Get("webhook-id"), logged[i].Seq)
		}
		if want, _ := EncodeEvent(logged[i]); string(hit.body) != string(want) {
			t.Fatalf("request %d body %s, want the envelope %s", i, hit.body, want)
		}
		if hit.header.Get("X-Webhook-Event") != logged[i].Type || hit.header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d headers %v", i, hit.header)
		}
		if err := verifySignatures(hookAll.Secret, hit.header, hit.body, time.Now()); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	waitFor(t, 10*time.Second, func() error {
		if n := len(onlyReceived.got()); n < 20 {
			return fmt.Errorf("%d of 20 message.received delivered", n)
		}
		return nil
	})
	for _, hit := range onlyReceived.got() {
		if hit.event.Type != EventMessageReceived {
			t.Errorf("filtered endpoint got %s", hit.event.Type)
		}
		if err := verifySignatures(hookReceived.Secret, hit.header, hit.body, time.Now()); err != nil {
			t.Error(err)
		}
	}
	waitFor(t, 5*time.Second, func() error {
		if c, _ := h.db.WebhookCursor(h.ws, hookReceived.ID); c != logged[len(logged)-1].Seq {
			return fmt.Errorf("filtered endpoint's cursor %d, want %d: skipped events move it too", c, logged[len(logged)-1].Seq)
		}
		return nil
	})
}

// TestWebhookDeviceFilter: an endpoint for one device gets only its events.
func TestWebhookDeviceFilter(t *testing.T) {
	h := realHarness(t)
	d1, d2 := h.device("one"), h.device("two")
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	newHook(t, h.gw, h.ws, WebhookSpec{URL: srv.URL, DeviceID: d2.ID})
	if _, err := h.gw.Connect(context.Background(), h.ws, d1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.gw.Connect(context.Background(), h.ws, d2.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		for _, hit := range rc.got() {
			if hit.event.Type == EventDeviceQR {
				return nil
			}
		}
		return errors.New("no device.qr of device two yet")
	})
	for _, hit := range rc.got() {
		if hit.event.DeviceID != d2.ID {
			t.Errorf("got an event of device %d", hit.event.DeviceID)
		}
	}
}

// TestRotatedSecretsBothSign: during the overlap the old secret's
// signature is still sent next to the new one, so receivers that know
// either accept the delivery.
func TestRotatedSecretsBothSign(t *testing.T) {
	h := realHarness(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	old := newHook(t, h.gw, h.ws, WebhookSpec{URL: srv.URL})
	rotated, err := h.gw.RotateWebhookSecret(context.Background(), h.ws, old.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rotated.Secret == old.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.PreviousSecret != old.Secret ||
		rotated.PreviousSecretExpiresAt.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("rotated = %+v", rotated)
	}
	storeEvents(t, h.gw, h.ws, EventMessageSent)
	waitFor(t, 5*time.Second, func() error {
		if len(rc.got()) == 0 {
			return errors.New("nothing delivered")
		}
		return nil
	})
	hit := rc.got()[0]
	if err := verifySignatures(rotated.Secret, hit.header, hit.body, time.Now()); err != nil {
		t.Errorf("new secret: %v", err)
	}
	if n := len(strings.Fields(hit.header.Get("webhook-signature"))); n != 2 {
		t.Errorf("%d v1 signatures, want 2", n)
	}
	oldSecretOnly := hit.header.Clone()
	mac := hmac.New(sha256.New, []byte(old.Secret))
	mac.Write(hit.body)
	oldSecretOnly.Set("X-Webhook-Signature", hex.EncodeToString(mac.Sum(nil)))
	if err := verifySignatures(old.Secret, oldSecretOnly, hit.body, time.Now()); err != nil {
		t.Errorf("old secret's v1 signature: %v", err)
	}
}

// TestDeadEndpointDoesNotDelayOthers: an endpoint that never answers holds
// only its own deliveries.
func TestDeadEndpointDoesNotDelayOthers(t *testing.T) {
	h := realHarness(t)
	stuck := make(chan struct{})
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
	}))
	defer dead.Close()
	defer close(stuck)
	rc := &receiver{}
	healthy := httptest.NewServer(rc)
	defer healthy.Close()
	deadHook := newHook(t, h.gw, h.ws, WebhookSpec{URL: dead.URL})
	newHook(t, h.gw, h.ws, WebhookSpec{URL: healthy.URL})
	for range 50 {
		storeEvents(t, h.gw, h.ws, EventMessageReceived)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := len(rc.got()); n < 50 {
			return fmt.Errorf("healthy endpoint got %d of 50", n)
		}
		return nil
	})
	if ds := deliveries(t, h.gw, h.ws, deadHook.ID); len(ds) > 1 {
		t.Errorf("the dead endpoint moved past its first event: %+v", ds)
	}
}

// TestWebhookBehindRetention: events removed by retention before an
// endpoint got them are recorded as expired, and it goes on with what is
// left.
func TestWebhookBehindRetention(t *testing.T) {
	h := realHarness(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	hook := newHook(t, h.gw, h.ws, WebhookSpec{URL: srv.URL})
	off, on := false, true
	if _, err := h.gw.UpdateWebhook(context.Background(), h.ws, hook.ID, WebhookPatch{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	storeEvents(t, h.gw, h.ws, EventMessageReceived, EventMessageReceived, EventMessageReceived)
	evs := h.logged(3)
	if _, err := h.db.CompactEvents(h.ws, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.gw.UpdateWebhook(context.Background(), h.ws, hook.ID, WebhookPatch{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if len(rc.got()) == 0 {
			return errors.New("nothing delivered")
		}
		return nil
	})
	if got := rc.got(); len(got) != 1 || got[0].event.ID != evs[2].ID {
		t.Fatalf("delivered %d events, want only the one left", len(got))
	}
	ds := deliveries(t, h.gw, h.ws, hook.ID)
	if len(ds) != 2 || ds[1].Status != storage.DeliveryExpired || ds[1].EventSeq != 1 || ds[1].LastSeq != 2 {
		t.Fatalf("deliveries %+v", ds)
	}
	if _, err := h.gw.Redeliver(context.Background(), h.ws, hook.ID, ds[1].ID); !errors.Is(err, ErrEventExpired) {
		t.Errorf("redeliver an expired range: %v, want ErrEventExpired", err)
	}
}

// TestWebhookInputChecked: bad input is refused and nothing is stored.
func TestWebhookInputChecked(t *testing.T) {
	h := newHarness(t) // private addresses refused
	other, _, _, err := h.db.CreateAccount(storage.Workspace{Name: "other"},
		storage.User{Name: "x", Email: "x@example.com"}, storage.APIKey{Kind: storage.KeyLive, Name: "k", Hash: [32]byte{2}})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := h.gw.CreateDevice(context.Background(), other.ID, DeviceSpec{Name: "f", Engine: "sim"},
		storage.APIKey{Name: "f", Hash: [32]byte{3}, Prefix: "dev_"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		spec WebhookSpec
		want error
	}{
		{"not http", WebhookSpec{URL: "ftp://93.184.216.34/", Events: []string{"*"}}, egress.ErrInvalidURL},
		{"no URL", WebhookSpec{Events: []string{"*"}}, egress.ErrInvalidURL},
		{"loopback", WebhookSpec{URL: "http://127.0.0.1:9/", Events: []string{"*"}}, egress.ErrPrivateAddress},
		{"metadata", WebhookSpec{URL: "http://169.254.169.254/", Events: []string{"*"}}, egress.ErrPrivateAddress},
		{"unknown type", WebhookSpec{URL: "https://93.184.216.34/", Events: []string{"message.teleported"}}, ErrUnknownEventType},
		{"unknown type next to *", WebhookSpec{URL: "https://93.184.216.34/", Events: []string{"*", "nope"}}, ErrUnknownEventType},
		{"no types", WebhookSpec{URL: "https://93.184.216.34/"}, ErrNoEventTypes},
		{"another workspace's device", WebhookSpec{URL: "https://93.184.216.34/", Events: []string{"*"}, DeviceID: foreign.ID}, ErrDeviceNotFound},
	} {
		if _, err := h.gw.CreateWebhook(context.Background(), h.ws, tc.spec); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if hooks, err := h.gw.Webhooks(context.Background(), h.ws); err != nil || len(hooks) != 0 {
		t.Fatalf("stored after refusals: %+v, %v", hooks, err)
	}
	ok, err := h.gw.CreateWebhook(context.Background(), h.ws, WebhookSpec{URL: "https://93.184.216.34/hook", Events: []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	bad := "http://10.0.0.1/"
	if _, err := h.gw.UpdateWebhook(context.Background(), h.ws, ok.ID, WebhookPatch{URL: &bad}); !errors.Is(err, egress.ErrPrivateAddress) {
		t.Errorf("patch to a private URL: %v", err)
	}
	if got, _ := h.gw.Webhook(context.Background(), h.ws, ok.ID); got.URL != "https://93.184.216.34/hook" {
		t.Errorf("URL after a refused patch: %s", got.URL)
	}
	if _, err := h.gw.Webhook(context.Background(), other.ID, ok.ID); !errors.Is(err, ErrWebhookNotFound) {
		t.Errorf("another workspace's webhook: %v", err)
	}
}
