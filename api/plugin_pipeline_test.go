package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/plugins"
)

// receivedText reads text and route from a message.received envelope.
func receivedText(t *testing.T, envelope []byte) (typ, text, route string) {
	t.Helper()
	var e struct {
		Type string `json:"type"`
		Data struct {
			Text  string `json:"text"`
			Route string `json:"route"`
		} `json:"data"`
	}
	if err := json.Unmarshal(envelope, &e); err != nil {
		t.Fatalf("not an envelope: %v: %s", err, envelope)
	}
	return e.Type, e.Data.Text, e.Data.Route
}

// TestPluginsShapeEveryChannel: plugins run before the log, so an event a
// plugin drops reaches no webhook, SSE or WebSocket subscriber while the
// others do, and a plugin's change is carried by all three channels as
// the same envelope bytes.
func TestPluginsShapeEveryChannel(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	admin := apiKey(ts.register(t).APIKey)
	d := ts.createDevice(t, admin, "sandbox", engineSim)
	ts.pair(t, admin, d.Device.ID)

	receiver := newHookReceiver(t, nil)
	ts.createWebhook(t, admin, receiver.url)
	sse := ts.openStream(t, "/api/events?types=message.received", admin)
	ws := ts.dialWS(t, "/api/ws?types=message.received", admin).read()

	ts.createPlugin(t, admin, map[string]any{"name": "drop-secrets", "events": []string{"message.received"},
		"source": `function onEvent(event, ctx) { return event.data.text.indexOf("secret") >= 0 ? null : event }`})
	ts.createPlugin(t, admin, map[string]any{"name": "route", "events": []string{"message.received"},
		"source": `function onEvent(event, ctx) {
  event.data.text = event.data.text.toUpperCase()
  event.data.route = "sales"
  return event
}`})

	// The last message is the marker: a dropped message would have been
	// logged, and so delivered, before it.
	for _, text := range []string{"hello", "my secret", "bye", "end"} {
		ts.inbound(t, admin, d.Device.ID, text)
	}
	want := []string{"HELLO", "BYE", "END"}

	var sseBodies, wsBodies [][]byte
	for range want {
		sseBodies = append(sseBodies, []byte(sse.next(t, 10*time.Second).Data))
		select {
		case b := <-ws.frames:
			wsBodies = append(wsBodies, b)
		case err := <-ws.done:
			t.Fatalf("websocket ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no websocket frame")
		}
	}
	var hookBodies [][]byte
	waitFor(t, 10*time.Second, func() error {
		hookBodies = hookBodies[:0]
		for _, r := range receiver.requests() {
			if r.event.Type == "message.received" {
				hookBodies = append(hookBodies, r.body)
			}
		}
		if len(hookBodies) < len(want) {
			return fmt.Errorf("%d messages delivered, want %d", len(hookBodies), len(want))
		}
		return nil
	})

	for name, bodies := range map[string][][]byte{"webhook": hookBodies, "SSE": sseBodies, "WebSocket": wsBodies} {
		var texts []string
		for _, b := range bodies {
			typ, text, route := receivedText(t, b)
			if typ != "message.received" || route != "sales" {
				t.Errorf("%s: %s", name, b)
			}
			texts = append(texts, text)
		}
		if !slices.Equal(texts, want) {
			t.Errorf("%s carried %q, want %q", name, texts, want)
		}
	}
	for i := range want {
		if string(sseBodies[i]) != string(wsBodies[i]) || string(sseBodies[i]) != string(hookBodies[i]) {
			t.Errorf("envelope %d differs:\nwebhook   %s\nSSE       %s\nWebSocket %s", i, hookBodies[i], sseBodies[i], wsBodies[i])
		}
	}
	for _, r := range receiver.requests() {
		if strings.Contains(strings.ToLower(string(r.body)), "secret") {
			t.Errorf("a dropped event was delivered: %s", r.body)
		}
	}
}

// TestFailingPluginDisabledThroughTheAPI: a plugin that throws on every
// call is disabled after five failures; the API shows why, the webhook
// gets plugin.disabled, and every message went on unchanged.
func TestFailingPluginDisabledThroughTheAPI(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	admin := apiKey(ts.register(t).APIKey)
	d := ts.createDevice(t, admin, "sandbox", engineSim)
	ts.pair(t, admin, d.Device.ID)
	receiver := newHookReceiver(t, nil)
	ts.createWebhook(t, admin, receiver.url)
	p := ts.createPlugin(t, admin, map[string]any{"name": "broken", "events": []string{"message.received"},
		"source": "function onEvent(event, ctx) {\n  event.data.text = 'changed'\n  return event.data.nope.length\n}"})

	for i := range 5 {
		ts.inbound(t, admin, d.Device.ID, fmt.Sprintf("m%d", i))
	}
	var disabled []byte
	var texts []string
	waitFor(t, 10*time.Second, func() error {
		texts, disabled = nil, nil
		for _, r := range receiver.requests() {
			switch r.event.Type {
			case "message.received":
				_, text, _ := receivedText(t, r.body)
				texts = append(texts, text)
			case "plugin.disabled":
				disabled = r.body
			}
		}
		if len(texts) < 5 || disabled == nil {
			return fmt.Errorf("%d messages delivered, plugin.disabled %v", len(texts), disabled != nil)
		}
		return nil
	})
	if want := []string{"m0", "m1", "m2", "m3", "m4"}; !slices.Equal(texts, want) {
		t.Errorf("delivered %q, want %q unchanged", texts, want)
	}
	var e struct {
		Data struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Reason   string `json:"reason"`
			Failures int    `json:"failures"`
		} `json:"data"`
	}
	if err := json.Unmarshal(disabled, &e); err != nil || e.Data.ID != p.ID || e.Data.Name != "broken" ||
		e.Data.Failures != 5 || !strings.Contains(e.Data.Reason, "TypeError") || !strings.Contains(e.Data.Reason, "line 3") {
		t.Errorf("plugin.disabled %s (%v)", disabled, err)
	}
	var got wirePlugin
	ts.do("GET", "/api/plugins/"+p.ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.Enabled || got.DisabledReason == nil || *got.DisabledReason != e.Data.Reason {
		t.Errorf("plugin after failures: enabled %v, reason %v", got.Enabled, got.DisabledReason)
	}
}

// TestPluginGuide: the author's guide is served as Markdown, without
// credentials, for the dashboard's documentation page.
func TestPluginGuide(t *testing.T) {
	ts := newTestServer(t)
	code, ctype, body := get(t, ts.base+"/api/plugins/guide")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/markdown") {
		t.Fatalf("guide: %d %s", code, ctype)
	}
	if body != plugins.Guide || !strings.Contains(body, "onEvent") || !strings.Contains(body, "ctx.reply") {
		t.Errorf("guide body is not the plugin guide: %.120q", body)
	}
}
