package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wa-gateway/wa-gateway/actors"
)

// metrics is one scrape of GET /metrics, parsed.
type metrics map[string]*dto.MetricFamily

// scrape fetches /metrics without credentials and parses it as Prometheus
// would.
func (ts *testServer) scrape(t *testing.T) metrics {
	t.Helper()
	resp, err := http.Get(ts.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// find returns the sample of the family whose labels include want.
func (m metrics) find(name string, want map[string]string) (*dto.Metric, bool) {
	f, ok := m[name]
	if !ok {
		return nil, false
	}
	for _, s := range f.GetMetric() {
		if labelsInclude(s, want) {
			return s, true
		}
	}
	return nil, false
}

func labelsInclude(s *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range s.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// value is the value of a counter or gauge sample; it fails the test when
// there is none.
func (m metrics) value(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	s, ok := m.find(name, labels)
	if !ok {
		t.Fatalf("no %s%v in the scrape", name, labels)
	}
	switch {
	case s.Counter != nil:
		return s.GetCounter().GetValue()
	case s.Gauge != nil:
		return s.GetGauge().GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// count is the sample count of a histogram series (0 when absent).
func (m metrics) count(name string, labels map[string]string) uint64 {
	s, ok := m.find(name, labels)
	if !ok || s.Histogram == nil {
		return 0
	}
	return s.GetHistogram().GetSampleCount()
}

// TestMetrics drives a sandbox device, a webhook, a plugin and a few API
// errors, then reads every kind of metric back from GET /metrics over
// HTTP: device status and queue depth, sends by outcome, webhook lag and
// failures, plugin counters, HTTP latency by route template.
func TestMetrics(t *testing.T) {
	sb := newSandbox(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	ts := sb.ts
	rc := newHookReceiver(t, nil)
	ts.createWebhook(t, sb.admin, rc.url)
	gone := newHookReceiver(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	ts.createWebhook(t, sb.admin, gone.url)
	ts.createPlugin(t, sb.admin, map[string]any{"name": "pass", "source": "function onEvent(event, ctx) { return event }"})

	const sent = 3
	for i := range sent {
		var m wireMessage
		sb.send(t, "/api/messages/send-text?wait=true", map[string]any{"to": "628111222333", "text": fmt.Sprint("hello ", i)}).
			ok(t, http.StatusOK, &m)
		if m.Status == "failed" || m.Status == "queued" {
			t.Fatalf("send %d: %+v", i, m)
		}
	}
	var failed wireMessage
	sb.send(t, "/api/messages/send-text?wait=true", map[string]any{"to": "9991234567", "text": "nobody"}).ok(t, http.StatusOK, &failed)
	if failed.Status != "failed" {
		t.Fatalf("send to a number not on WhatsApp: %+v", failed)
	}
	ts.do("GET", "/api/devices/999999", nil, sb.admin).fails(t, http.StatusNotFound, "device_not_found")
	ts.do("GET", "/api/devices", nil, nil).fails(t, http.StatusUnauthorized, "missing_credentials")

	// Webhook metrics are counted once the actor has the endpoint's answer.
	var m metrics
	waitFor(t, 10*time.Second, func() error {
		m = ts.scrape(t)
		if n := m.count("wagateway_webhook_delivery_lag_seconds", nil); n == 0 {
			return fmt.Errorf("no webhook delivery observed yet (%d requests received)", len(rc.requests()))
		}
		if v, _ := m.find("wagateway_webhook_deliveries_given_up_total", map[string]string{"reason": "endpoint_gone"}); v.GetCounter().GetValue() != 1 {
			return fmt.Errorf("the 410 endpoint is not given up yet")
		}
		// A device actor counts an outcome right after storing it, so the
		// API may show the message before the count moves.
		if v, _ := m.find("wagateway_messages_sent_total", map[string]string{"outcome": "failed"}); v.GetCounter().GetValue() != 1 {
			return fmt.Errorf("the failed send is not counted yet")
		}
		if v, _ := m.find("wagateway_messages_sent_total", map[string]string{"outcome": "sent"}); v.GetCounter().GetValue() < sent {
			return fmt.Errorf("the sends are not all counted yet")
		}
		return nil
	})

	dev := map[string]string{"workspace": itoa(sb.ws), "device": itoa(sb.dev), "engine": engineSim}
	status := func(s string) map[string]string {
		l := map[string]string{"status": s}
		for k, v := range dev {
			l[k] = v
		}
		return l
	}
	if v := m.value(t, "wagateway_device_status", status(actors.StatusConnected)); v != 1 {
		t.Errorf("status CONNECTED = %v, want 1", v)
	}
	if v := m.value(t, "wagateway_device_status", status(actors.StatusDisconnected)); v != 0 {
		t.Errorf("status DISCONNECTED = %v, want 0", v)
	}
	if v := m.value(t, "wagateway_device_queue_depth", dev); v != 0 {
		t.Errorf("queue depth = %v after every send left the queue, want 0", v)
	}
	for outcome, want := range map[string]float64{"sent": sent, "failed": 1, "cancelled": 0} {
		if v := m.value(t, "wagateway_messages_sent_total", map[string]string{"outcome": outcome}); v != want {
			t.Errorf("messages_sent_total{outcome=%q} = %v, want %v", outcome, v, want)
		}
	}
	if n := m.count("wagateway_webhook_delivery_lag_seconds", nil); int(n) > len(rc.requests()) {
		t.Errorf("webhook lag count %d, more than the %d requests received", n, len(rc.requests()))
	}
	if v := m.value(t, "wagateway_webhook_attempt_failures_total", nil); v < 1 || int(v) > len(gone.requests()) {
		t.Errorf("webhook attempt failures = %v, want 1 to %d (the 410s)", v, len(gone.requests()))
	}
	if v := m.value(t, "wagateway_webhook_deliveries_given_up_total", map[string]string{"reason": "retries_exhausted"}); v != 0 {
		t.Errorf("given up for retries = %v, want 0", v)
	}
	if v := m.value(t, "wagateway_plugin_calls_total", nil); v < 1 {
		t.Errorf("plugin calls = %v, want some: the plugin sees every event", v)
	}
	if v := m.value(t, "wagateway_plugin_seconds_total", nil); v <= 0 {
		t.Errorf("plugin seconds = %v, want > 0", v)
	}
	if v := m.value(t, "wagateway_plugin_failures_total", nil); v != 0 {
		t.Errorf("plugin failures = %v, want 0", v)
	}

	// HTTP latency: by route template and final code, never by raw path.
	const latency = "wagateway_http_request_duration_seconds"
	for _, tt := range []struct {
		method, route, code string
		atLeast             uint64
	}{
		{"POST", "/api/messages/send-text", "200", sent + 1},
		{"GET", "/api/devices/:id", "404", 1},
		{"GET", "/api/devices", "401", 1},
		{"PATCH", "/api/devices/:id", "200", 1},
	} {
		if n := m.count(latency, map[string]string{"method": tt.method, "route": tt.route, "code": tt.code}); n < tt.atLeast {
			t.Errorf("%s %s %s: %d requests observed, want at least %d", tt.method, tt.route, tt.code, n, tt.atLeast)
		}
	}
	templates := map[string]bool{}
	for _, r := range ts.srv.routes() {
		templates[r.path] = true
	}
	for _, s := range m[latency].GetMetric() {
		for _, l := range s.GetLabel() {
			if l.GetName() == "route" && !templates[l.GetValue()] {
				t.Errorf("route label %q is not a route template", l.GetValue())
			}
		}
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := m[name]; !ok {
			t.Errorf("no %s: the Go and process collectors are registered", name)
		}
	}

	// Disconnected, one message waiting and one cancelled.
	ts.do("POST", "/api/devices/"+itoa(sb.dev)+"/disconnect", nil, sb.admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, sb.admin, sb.dev, actors.StatusDisconnected)
	var waiting, cancelled wireMessage
	sb.send(t, "/api/messages/send-text", map[string]any{"to": "628111222333", "text": "later"}).ok(t, http.StatusAccepted, &waiting)
	sb.send(t, "/api/messages/send-text", map[string]any{"to": "628111222333", "text": "never"}).ok(t, http.StatusAccepted, &cancelled)
	ts.do("DELETE", "/api/messages/"+cancelled.ID, nil, sb.admin).ok(t, http.StatusOK, nil)

	m = ts.scrape(t)
	if v := m.value(t, "wagateway_device_status", status(actors.StatusDisconnected)); v != 1 {
		t.Errorf("status DISCONNECTED = %v after disconnecting, want 1", v)
	}
	if v := m.value(t, "wagateway_device_status", status(actors.StatusConnected)); v != 0 {
		t.Errorf("status CONNECTED = %v after disconnecting, want 0", v)
	}
	if v := m.value(t, "wagateway_device_queue_depth", dev); v != 1 {
		t.Errorf("queue depth = %v, want 1", v)
	}
	if v := m.value(t, "wagateway_messages_sent_total", map[string]string{"outcome": "cancelled"}); v != 1 {
		t.Errorf("messages_sent_total{outcome=cancelled} = %v, want 1", v)
	}
	if n := m.count(latency, map[string]string{"method": "DELETE", "route": "/api/messages/:id", "code": "200"}); n != 1 {
		t.Errorf("DELETE /api/messages/:id observed %d times, want 1", n)
	}
	if n := m.count(latency, map[string]string{"method": "GET", "route": "/metrics", "code": "200"}); n < 1 {
		t.Error("the scrapes themselves are not observed")
	}
}

// TestMetricsPerServer: two gateways in one process keep their own
// registries and counts.
func TestMetricsPerServer(t *testing.T) {
	busy := newSandbox(t)
	idle := newTestServer(t)
	busy.sentText(t)

	waitFor(t, 5*time.Second, func() error { // counted right after the store
		if v := busy.ts.scrape(t).value(t, "wagateway_messages_sent_total", map[string]string{"outcome": "sent"}); v != 1 {
			return fmt.Errorf("busy server: sent = %v, want 1", v)
		}
		return nil
	})
	m := idle.scrape(t)
	if v := m.value(t, "wagateway_messages_sent_total", map[string]string{"outcome": "sent"}); v != 0 {
		t.Errorf("idle server: sent = %v, want 0", v)
	}
	if _, ok := m.find("wagateway_device_status", nil); ok {
		t.Error("idle server shows a device it does not have")
	}
}
