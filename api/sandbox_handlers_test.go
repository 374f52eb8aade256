package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestSandboxInbound(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "sandbox", engineSim)
	path := fmt.Sprintf("/api/devices/%d/sandbox/inbound", d.Device.ID)

	// Not connected: the simulated contact cannot reach the device.
	ts.do("POST", path, map[string]any{"from": "628111222333", "text": "hello?"}, admin).fails(t, http.StatusConflict, "device_not_connected")
	ts.pair(t, admin, d.Device.ID)

	var accepted struct {
		Accepted bool `json:"accepted"`
	}
	ts.do("POST", path, map[string]any{"from": "+62 811 1222 333", "text": "hello", "pushName": "Budi"}, admin).ok(t, http.StatusAccepted, &accepted)
	if !accepted.Accepted {
		t.Error("accepted = false")
	}
	png := []byte("\x89PNG\r\n\x1a\n0000")
	ts.do("POST", path, map[string]any{"from": "628111222333", "media": map[string]any{
		"kind": "image", "base64": base64.StdEncoding.EncodeToString(png), "caption": "look",
	}}, admin).ok(t, http.StatusAccepted, nil)

	var in wireList[wireMessage]
	waitFor(t, 5*time.Second, func() error {
		in = wireList[wireMessage]{}
		ts.do("GET", "/api/messages?direction=in", nil, admin).ok(t, http.StatusOK, &in)
		if len(in.Items) != 2 {
			return fmt.Errorf("%d inbound messages, want 2", len(in.Items))
		}
		return nil
	})
	img, txt := in.Items[0], in.Items[1]
	if txt.Text != "hello" || txt.Direction != "in" || txt.Type != "text" || txt.Status != "received" || txt.Chat != "628111222333@s.whatsapp.net" {
		t.Errorf("text message = %+v", txt)
	}
	if img.Type != "image" || img.Media == nil || img.Media.MimeType != "image/png" || img.Media.Size != int64(len(png)) {
		t.Errorf("image message = %+v (media %+v)", img, img.Media)
	}

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"missing from", map[string]any{"text": "x"}, 400, "validation_failed", "from"},
		{"bad from", map[string]any{"from": "nobody", "text": "x"}, 400, "invalid_recipient", ""},
		{"no text", map[string]any{"from": "628111222333"}, 400, "validation_failed", "text"},
		{"blank text", map[string]any{"from": "628111222333", "text": "  "}, 400, "validation_failed", "text"},
		{"media kind", map[string]any{"from": "628111222333", "media": map[string]any{"kind": "hologram", "base64": "AAAA"}}, 400, "validation_failed", "media.kind"},
		{"media by url", map[string]any{"from": "628111222333", "media": map[string]any{"kind": "image", "url": "https://example.com/a.png"}}, 400, "unsupported", ""},
		{"media bad base64", map[string]any{"from": "628111222333", "media": map[string]any{"kind": "image", "base64": "%%%"}}, 400, "validation_failed", "media.base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", path, tt.body, admin)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	ts.do("GET", "/api/messages?direction=in", nil, admin).ok(t, http.StatusOK, &in)
	if len(in.Items) != 2 {
		t.Errorf("%d inbound messages after refused ones, want 2", len(in.Items))
	}
}

func TestSandboxFaultsAndNotSandbox(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "sandbox", engineSim)
	id := d.Device.ID
	fault := fmt.Sprintf("/api/devices/%d/sandbox/fault", id)

	ts.do("POST", fmt.Sprintf("/api/devices/%d/sandbox/scan", id), nil, admin).fails(t, http.StatusNotFound, "no_qr")
	ts.pair(t, admin, id)

	r := ts.do("POST", fault, map[string]any{"kind": "meteor"}, admin)
	r.fails(t, http.StatusBadRequest, "validation_failed")
	if r.Env.Error.Field != "kind" {
		t.Errorf("field = %q", r.Env.Error.Field)
	}
	ts.do("POST", fault, map[string]any{}, admin).fails(t, http.StatusBadRequest, "validation_failed")
	ts.do("POST", fault, map[string]any{"kind": "ban"}, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, id, "TEMP_BANNED")

	live := ts.createDevice(t, admin, "live", engineWhatsmeow)
	for _, op := range []string{"scan", "inbound", "fault"} {
		ts.do("POST", fmt.Sprintf("/api/devices/%d/sandbox/%s", live.Device.ID, op),
			map[string]any{"from": "628111222333", "text": "x", "kind": "logout"}, admin).fails(t, http.StatusNotFound, "not_sandbox")
	}
}
