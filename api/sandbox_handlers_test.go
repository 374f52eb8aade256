package api

import (
	"encoding/base64"
	"encoding/json"
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
	for _, op := range []string{"scan", "inbound", "fault", "activity"} {
		ts.do("POST", fmt.Sprintf("/api/devices/%d/sandbox/%s", live.Device.ID, op),
			map[string]any{"from": "628111222333", "text": "x", "kind": "logout"}, admin).fails(t, http.StatusNotFound, "not_sandbox")
	}
}

// TestSandboxActivityAndGroupEvents: a simulated contact typing, coming
// online and calling, and the device's own group changes, arrive on the
// device's event stream with their payloads.
func TestSandboxActivityAndGroupEvents(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "sandbox", engineSim)
	id := d.Device.ID
	path := fmt.Sprintf("/api/devices/%d/sandbox/activity", id)
	ts.do("POST", path, map[string]any{"from": "628111222333", "kind": "typing"}, admin).fails(t, http.StatusConflict, "device_not_connected")
	ts.pair(t, admin, id)
	stream := ts.openStream(t, fmt.Sprintf("/api/devices/%d/events", id), admin)
	next := func(typ string) map[string]any {
		t.Helper()
		f, _ := stream.until(t, 10*time.Second, func(f sseFrame) bool { return f.Event == typ })
		var data map[string]any
		if err := json.Unmarshal(f.envelope(t).Data, &data); err != nil {
			t.Fatal(err)
		}
		return data
	}
	const contact = "628111222333@s.whatsapp.net"
	group := "120363000000000042@g.us"

	ts.do("POST", path, map[string]any{"from": "+62 811 1222 333", "kind": "typing"}, admin).ok(t, http.StatusAccepted, nil)
	if got := next("chat.presence"); got["chat"] != contact || got["from"] != contact || got["fromPhone"] != "628111222333" || got["state"] != "typing" || got["isGroup"] != false {
		t.Errorf("chat.presence = %v", got)
	}
	ts.do("POST", path, map[string]any{"from": "628111222333", "kind": "recording", "group": group}, admin).ok(t, http.StatusAccepted, nil)
	if got := next("chat.presence"); got["chat"] != group || got["from"] != contact || got["state"] != "recording" || got["isGroup"] != true {
		t.Errorf("chat.presence in a group = %v", got)
	}
	ts.do("POST", path, map[string]any{"from": "628111222333", "kind": "online"}, admin).ok(t, http.StatusAccepted, nil)
	if got := next("presence.update"); got["from"] != contact || got["available"] != true || got["lastSeen"] != nil {
		t.Errorf("presence.update = %v", got)
	}
	ts.do("POST", path, map[string]any{"from": "628111222333", "kind": "offline"}, admin).ok(t, http.StatusAccepted, nil)
	if got := next("presence.update"); got["available"] != false || got["lastSeen"] == nil {
		t.Errorf("presence.update = %v", got)
	}
	ts.do("POST", path, map[string]any{"from": "628111222333", "kind": "video_call"}, admin).ok(t, http.StatusAccepted, nil)
	if got := next("call.offer"); got["callId"] == "" || got["from"] != contact || got["isVideo"] != true || got["isGroup"] != false || got["timestamp"] == nil {
		t.Errorf("call.offer = %v", got)
	}

	// The device's own group changes.
	var created struct {
		JID string `json:"jid"`
	}
	ts.do("POST", "/api/groups", map[string]any{"deviceId": id, "subject": "Team", "participants": []string{"628111222333"}}, admin).ok(t, http.StatusCreated, &created)
	if got := next("group.update"); got["group"] != created.JID || got["joined"] != true || got["subject"] != "Team" || got["actor"] == nil {
		t.Errorf("group.update = %v", got)
	}
	ts.do("POST", "/api/groups/"+created.JID+"/participants", map[string]any{"deviceId": id, "action": "promote", "participants": []string{"628111222333"}}, admin).ok(t, http.StatusOK, nil)
	got := next("group.participants")
	parts, _ := got["participants"].([]any)
	if got["group"] != created.JID || got["action"] != "promote" || len(parts) != 1 || parts[0].(map[string]any)["phone"] != "628111222333" {
		t.Errorf("group.participants = %v", got)
	}

	tests := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"missing from", map[string]any{"kind": "typing"}, "validation_failed", "from"},
		{"bad from", map[string]any{"from": "nobody", "kind": "typing"}, "invalid_recipient", ""},
		{"group as from", map[string]any{"from": group, "kind": "typing"}, "validation_failed", "from"},
		{"unknown kind", map[string]any{"from": "628111222333", "kind": "dancing"}, "validation_failed", "kind"},
		{"no kind", map[string]any{"from": "628111222333"}, "validation_failed", "kind"},
		{"group not a group", map[string]any{"from": "628111222333", "kind": "typing", "group": "628111222333"}, "validation_failed", "group"},
		{"group with a call", map[string]any{"from": "628111222333", "kind": "call", "group": group}, "validation_failed", "group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", path, tt.body, admin)
			r.fails(t, http.StatusBadRequest, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
}
