package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

func TestSendTextAndRateLimit(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.pair(t, admin, d.Device.ID)

	start := time.Now()
	var first wireMessage
	for i := 1; i <= 30; i++ {
		// deviceId as a numeric string on odd sends, as a number on even ones.
		var deviceID any = d.Device.ID
		if i%2 == 1 {
			deviceID = itoa(d.Device.ID)
		}
		r := ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": deviceID, "to": "+62 811-1222-333", "text": "hello " + strconv.Itoa(i)}, admin)
		var m wireMessage
		r.ok(t, http.StatusAccepted, &m)
		if i == 1 {
			first = m
		}
		if m.Status != "queued" || !strings.HasPrefix(m.ID, "msg_") || m.DeviceID != d.Device.ID || m.To != "628111222333@s.whatsapp.net" ||
			m.Chat != m.To || m.Direction != "out" || m.Type != "text" || m.CreatedAt == nil || m.SentAt != nil {
			t.Fatalf("send %d answered %+v", i, m)
		}
		if got := r.Header.Get("X-RateLimit-Limit"); got != "30" {
			t.Errorf("send %d: X-RateLimit-Limit = %q", i, got)
		}
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(30-i) {
			t.Errorf("send %d: X-RateLimit-Remaining = %q, want %d", i, got, 30-i)
		}
		reset, err := strconv.ParseInt(r.Header.Get("X-RateLimit-Reset"), 10, 64)
		if err != nil || reset < start.Unix() || reset > time.Now().Add(2*time.Minute).Unix() {
			t.Errorf("send %d: X-RateLimit-Reset = %q", i, r.Header.Get("X-RateLimit-Reset"))
		}
	}
	r := ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": d.Device.ID, "to": "628111222333", "text": "one too many"}, admin)
	r.fails(t, http.StatusTooManyRequests, "rate_limited")
	retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 60 {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	if r.Header.Get("X-RateLimit-Limit") != "30" || r.Header.Get("X-RateLimit-Remaining") != "0" || r.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("429 rate-limit headers: %v", r.Header)
	}

	// The refused send stored nothing.
	var list wireList[wireMessage]
	ts.do("GET", "/api/messages?limit=500&deviceId="+itoa(d.Device.ID), nil, admin).ok(t, http.StatusOK, &list)
	if len(list.Items) != 30 {
		t.Errorf("%d messages stored, want 30", len(list.Items))
	}
	var got wireMessage
	ts.do("GET", "/api/messages/"+first.ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.ID != first.ID || got.Text != "hello 1" {
		t.Errorf("get = %+v", got)
	}
}

func TestSendTextWait(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.do("PATCH", "/api/devices/"+itoa(d.Device.ID), map[string]any{"pacing": "off"}, admin).ok(t, http.StatusOK, nil)
	ts.pair(t, admin, d.Device.ID)

	for _, tt := range []struct {
		name  string
		path  string
		body  map[string]any
		field bool
	}{
		{"query", "/api/messages/send-text?wait=true", map[string]any{}, false},
		{"body", "/api/messages/send-text", map[string]any{"wait": true}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["deviceId"] = d.Device.ID
			tt.body["to"] = "628111222333"
			tt.body["text"] = "wait for me"
			r := ts.do("POST", tt.path, tt.body, admin)
			var m wireMessage
			r.ok(t, http.StatusOK, &m)
			if m.Status == "queued" || m.Status == "failed" || m.SentAt == nil {
				t.Errorf("waited send answered %+v", m)
			}
			if r.Header.Get("X-RateLimit-Limit") == "" {
				t.Error("waited send has no rate-limit headers")
			}
		})
	}
}

func TestSendTextBadInput(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.pair(t, admin, d.Device.ID)
	dev := d.Device.ID

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", `{"deviceId": 1, "to": `, 400, "invalid_json", ""},
		{"trailing garbage", `{"deviceId": 1} x`, 400, "invalid_json", ""},
		{"missing deviceId", map[string]any{"to": "628111222333", "text": "x"}, 400, "validation_failed", "deviceId"},
		{"non-numeric deviceId", map[string]any{"deviceId": "phone", "to": "628111222333", "text": "x"}, 400, "validation_failed", "deviceId"},
		{"fractional deviceId", map[string]any{"deviceId": 1.5, "to": "628111222333", "text": "x"}, 400, "validation_failed", "deviceId"},
		{"missing to", map[string]any{"deviceId": dev, "text": "x"}, 400, "validation_failed", "to"},
		{"bad phone", map[string]any{"deviceId": dev, "to": "call me maybe", "text": "x"}, 400, "invalid_recipient", ""},
		{"short phone", map[string]any{"deviceId": dev, "to": "123", "text": "x"}, 400, "invalid_recipient", ""},
		{"unknown server", map[string]any{"deviceId": dev, "to": "123456@example.com", "text": "x"}, 400, "invalid_recipient", ""},
		{"missing text", map[string]any{"deviceId": dev, "to": "628111222333"}, 400, "validation_failed", "text"},
		{"text not a string", map[string]any{"deviceId": dev, "to": "628111222333", "text": 7}, 400, "validation_failed", "text"},
		{"text too long", map[string]any{"deviceId": dev, "to": "628111222333", "text": strings.Repeat("a", 65537)}, 400, "validation_failed", "text"},
		{"wait not a boolean", map[string]any{"deviceId": dev, "to": "628111222333", "text": "x", "wait": "yes"}, 400, "validation_failed", "wait"},
		{"unknown device", map[string]any{"deviceId": 999999, "to": "628111222333", "text": "x"}, 404, "device_not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/messages/send-text", tt.body, admin)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	// Unknown fields are ignored; the longest text passes.
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": dev, "to": "628111222333", "text": strings.Repeat("a", 65536), "colour": "blue"}, admin).
		ok(t, http.StatusAccepted, nil)

	var list wireList[wireMessage]
	ts.do("GET", "/api/messages", nil, admin).ok(t, http.StatusOK, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d messages stored, want only the valid one", len(list.Items))
	}
}

func TestListMessages(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.createDevice(t, admin, "a", engineSim)
	b := ts.createDevice(t, admin, "b", engineSim)
	ts.pair(t, admin, a.Device.ID)
	ts.pair(t, admin, b.Device.ID)
	for i := range 3 {
		ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": a.Device.ID, "to": "628111222333", "text": "a" + strconv.Itoa(i)}, admin).ok(t, http.StatusAccepted, nil)
	}
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": b.Device.ID, "to": "628999000111", "text": "b"}, admin).ok(t, http.StatusAccepted, nil)

	var page wireList[wireMessage]
	ts.do("GET", "/api/messages?deviceId="+itoa(a.Device.ID)+"&limit=2", nil, admin).ok(t, http.StatusOK, &page)
	if len(page.Items) != 2 || page.NextCursor == nil {
		t.Fatalf("first page = %+v", page)
	}
	if page.Items[0].Text != "a2" || page.Items[1].Text != "a1" {
		t.Errorf("not newest first: %s, %s", page.Items[0].Text, page.Items[1].Text)
	}
	var rest wireList[wireMessage]
	ts.do("GET", "/api/messages?deviceId="+itoa(a.Device.ID)+"&limit=2&cursor="+url.QueryEscape(*page.NextCursor), nil, admin).ok(t, http.StatusOK, &rest)
	if len(rest.Items) != 1 || rest.Items[0].Text != "a0" || rest.NextCursor != nil {
		t.Errorf("second page = %+v", rest)
	}
	var byChat wireList[wireMessage]
	ts.do("GET", "/api/messages?chat=%2B62+899-9000-111", nil, admin).ok(t, http.StatusOK, &byChat)
	if len(byChat.Items) != 1 || byChat.Items[0].Text != "b" {
		t.Errorf("by chat = %+v", byChat)
	}
	var in wireList[wireMessage]
	ts.do("GET", "/api/messages?direction=in", nil, admin).ok(t, http.StatusOK, &in)
	if len(in.Items) != 0 {
		t.Errorf("direction=in lists %d", len(in.Items))
	}

	for _, tt := range []struct {
		query  string
		status int
		code   string
	}{
		{"direction=sideways", 400, "validation_failed"},
		{"status=lost", 400, "validation_failed"},
		{"limit=0", 400, "validation_failed"},
		{"limit=many", 400, "validation_failed"},
		{"deviceId=abc", 400, "validation_failed"},
		{"deviceId=999999", 404, "device_not_found"},
		{"chat=nobody%40example.com", 400, "invalid_recipient"},
		{"cursor=not-a-cursor", 400, "invalid_cursor"},
	} {
		ts.do("GET", "/api/messages?"+tt.query, nil, admin).fails(t, tt.status, tt.code)
	}
	ts.do("GET", "/api/messages/msg_nothing", nil, admin).fails(t, http.StatusNotFound, "message_not_found")

	// A device key lists its own device's messages only.
	var own wireList[wireMessage]
	ts.do("GET", "/api/messages", nil, apiKey(b.DeviceAPIKey)).ok(t, http.StatusOK, &own)
	if len(own.Items) != 1 || own.Items[0].DeviceID != b.Device.ID {
		t.Errorf("device key lists %+v", own.Items)
	}
	ts.do("GET", "/api/messages/"+page.Items[0].ID, nil, apiKey(b.DeviceAPIKey)).fails(t, http.StatusNotFound, "message_not_found")
}

func TestTestKeyMessages(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	test := apiKey(ts.createKey(t, admin, "ci", "test").APIKey)
	live := ts.createDevice(t, admin, "live", engineWhatsmeow)
	sandbox := ts.createDevice(t, test, "sandbox", "")
	ts.pair(t, test, sandbox.Device.ID)

	// Live devices cannot be paired without a phone; their history is put
	// in the store directly, interleaved with the sandbox sends.
	var liveMsg storage.Message
	for i := range 3 {
		liveMsg = storage.Message{
			ID: storage.NewMessageID(), WorkspaceID: acc.Workspace.ID, DeviceID: live.Device.ID, Direction: "out",
			Chat: "628111222333@s.whatsapp.net", To: "628111222333@s.whatsapp.net", Type: "text", Text: "live",
			Status: "sent", CreatedAt: time.Now().UTC(),
		}
		if err := ts.db.PutMessage(liveMsg); err != nil {
			t.Fatal(err)
		}
		ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": sandbox.Device.ID, "to": "628111222333", "text": "sandbox " + strconv.Itoa(i)}, test).ok(t, http.StatusAccepted, nil)
	}
	var all wireList[wireMessage]
	ts.do("GET", "/api/messages", nil, admin).ok(t, http.StatusOK, &all)
	if len(all.Items) != 6 {
		t.Fatalf("live key lists %d messages, want 6", len(all.Items))
	}
	// Pages of one: the test key walks through sandbox messages only.
	var texts []string
	cursor := ""
	for range 10 {
		var page wireList[wireMessage]
		ts.do("GET", "/api/messages?limit=1&cursor="+url.QueryEscape(cursor), nil, test).ok(t, http.StatusOK, &page)
		for _, m := range page.Items {
			if m.DeviceID != sandbox.Device.ID {
				t.Fatalf("test key sees message of device %d", m.DeviceID)
			}
			texts = append(texts, m.Text)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if strings.Join(texts, ",") != "sandbox 2,sandbox 1,sandbox 0" {
		t.Errorf("test key pages = %q", texts)
	}
	ts.do("GET", "/api/messages/"+liveMsg.ID, nil, test).fails(t, http.StatusNotFound, "message_not_found")
}
