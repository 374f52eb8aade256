package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDeviceCRUD(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)

	var created wireCreatedDevice
	ts.do("POST", "/api/devices", map[string]any{"name": "Sales", "engine": "sim", "rateLimit": map[string]int{"limit": 10, "windowSeconds": 60}}, admin).
		ok(t, http.StatusCreated, &created)
	d := created.Device
	if d.ID == 0 || d.Name != "Sales" || d.Engine != "sim" || d.Status != "DISCONNECTED" || d.Phone != nil ||
		d.PushName != nil || d.CreatedAt == nil || d.LastSeenAt != nil || d.RateLimit != (wireRateLimit{10, 60}) ||
		d.Pacing != "off" || d.DeviceAPIKeyPrefix != created.DeviceAPIKeyPrefix {
		t.Fatalf("created device = %+v", d)
	}
	wantKeyPrefix := fmt.Sprintf("dev_%d_", acc.Workspace.ID)
	if !strings.HasPrefix(created.DeviceAPIKey, wantKeyPrefix) || !strings.HasPrefix(created.DeviceAPIKeyPrefix, wantKeyPrefix) {
		t.Errorf("device key %q prefix %q", created.DeviceAPIKey, created.DeviceAPIKeyPrefix)
	}
	id := itoa(d.ID)

	var got wireDevice
	ts.do("GET", "/api/devices/"+id, nil, admin).ok(t, http.StatusOK, &got)
	if got.ID != d.ID || got.Name != "Sales" {
		t.Errorf("get = %+v", got)
	}
	var list wireList[wireDevice]
	ts.do("GET", "/api/devices", nil, admin).ok(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != d.ID || list.NextCursor != nil {
		t.Errorf("list = %+v", list)
	}

	ts.do("PATCH", "/api/devices/"+id, map[string]any{"name": "Support", "rateLimit": map[string]int{"limit": 5, "windowSeconds": 10}, "pacing": "careful"}, admin).
		ok(t, http.StatusOK, &got)
	if got.Name != "Support" || got.RateLimit != (wireRateLimit{5, 10}) || got.Pacing != "careful" {
		t.Errorf("patched = %+v", got)
	}
	ts.do("PATCH", "/api/devices/"+id, map[string]any{}, admin).ok(t, http.StatusOK, &got)
	if got.Name != "Support" || got.Pacing != "careful" {
		t.Errorf("empty patch changed the device: %+v", got)
	}

	var regen struct {
		DeviceAPIKey       string `json:"deviceApiKey"`
		DeviceAPIKeyPrefix string `json:"deviceApiKeyPrefix"`
	}
	ts.do("POST", "/api/devices/"+id+"/regenerate-key", nil, admin).ok(t, http.StatusOK, &regen)
	if !strings.HasPrefix(regen.DeviceAPIKey, wantKeyPrefix) || regen.DeviceAPIKey == created.DeviceAPIKey {
		t.Fatalf("regenerated = %+v", regen)
	}
	ts.do("GET", "/api/devices/"+id, nil, apiKey(created.DeviceAPIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key", "Invalid device API key")
	ts.do("GET", "/api/devices/"+id, nil, apiKey(regen.DeviceAPIKey)).ok(t, http.StatusOK, &got)
	if got.DeviceAPIKeyPrefix != regen.DeviceAPIKeyPrefix {
		t.Errorf("device prefix %q, want %q", got.DeviceAPIKeyPrefix, regen.DeviceAPIKeyPrefix)
	}

	// The id may be given as a numeric string path segment with leading zeros.
	ts.do("GET", "/api/devices/0"+id, nil, admin).ok(t, http.StatusOK, nil)

	var deleted struct {
		Deleted bool `json:"deleted"`
	}
	ts.do("DELETE", "/api/devices/"+id, nil, admin).ok(t, http.StatusOK, &deleted)
	if !deleted.Deleted {
		t.Error("deleted = false")
	}
	ts.do("GET", "/api/devices/"+id, nil, admin).fails(t, http.StatusNotFound, "device_not_found")
	ts.do("GET", "/api/auth/me", nil, apiKey(regen.DeviceAPIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key", "Invalid device API key")
	ts.do("DELETE", "/api/devices/"+id, nil, admin).fails(t, http.StatusNotFound, "device_not_found")
}

func TestDeviceValidation(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	existing := ts.createDevice(t, admin, "taken", engineSim)
	id := itoa(existing.Device.ID)

	create := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", `{"name":`, 400, "invalid_json", ""},
		{"not an object", `["name"]`, 400, "validation_failed", ""},
		{"missing name", map[string]any{}, 400, "validation_failed", "name"},
		{"empty body", "", 400, "validation_failed", "name"},
		{"blank name", map[string]any{"name": "   "}, 400, "validation_failed", "name"},
		{"long name", map[string]any{"name": strings.Repeat("x", 65)}, 400, "validation_failed", "name"},
		{"name not a string", map[string]any{"name": 42}, 400, "validation_failed", "name"},
		{"name taken", map[string]any{"name": "taken", "engine": "sim"}, 409, "name_taken", ""},
		{"unknown engine", map[string]any{"name": "x", "engine": "baileys"}, 400, "unknown_engine", ""},
		{"limit zero", map[string]any{"name": "x", "engine": "sim", "rateLimit": map[string]int{"limit": 0, "windowSeconds": 60}}, 400, "validation_failed", "rateLimit.limit"},
		{"limit too high", map[string]any{"name": "x", "engine": "sim", "rateLimit": map[string]int{"limit": 1001, "windowSeconds": 60}}, 400, "validation_failed", "rateLimit.limit"},
		{"window missing", map[string]any{"name": "x", "engine": "sim", "rateLimit": map[string]int{"limit": 5}}, 400, "validation_failed", "rateLimit.windowSeconds"},
		{"window too long", map[string]any{"name": "x", "engine": "sim", "rateLimit": map[string]int{"limit": 5, "windowSeconds": 86401}}, 400, "validation_failed", "rateLimit.windowSeconds"},
		{"rate limit wrong type", map[string]any{"name": "x", "engine": "sim", "rateLimit": "fast"}, 400, "validation_failed", "rateLimit"},
	}
	for _, tt := range create {
		t.Run("create "+tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/devices", tt.body, admin)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	patch := []struct {
		name  string
		body  any
		field string
	}{
		{"empty name", map[string]any{"name": ""}, "name"},
		{"bad pacing", map[string]any{"pacing": "fast"}, "pacing"},
		{"pacing not a name or object", map[string]any{"pacing": 5}, "pacing"},
		{"pacing null", map[string]any{"pacing": nil}, "pacing"},
		{"pacing setting out of range", map[string]any{"pacing": map[string]any{"gapMax": "2h"}}, "pacing.gapMax"},
		{"pacing settings that contradict", map[string]any{"pacing": map[string]any{"gapMin": "10s", "gapMax": "5s"}}, "pacing.gapMax"},
		{"unknown pacing setting", map[string]any{"pacing": map[string]any{"speed": 1}}, "pacing.speed"},
		{"pacing setting of the wrong type", map[string]any{"pacing": map[string]any{"dailyCap": "many"}}, "pacing.dailyCap"},
		{"pacing duration unreadable", map[string]any{"pacing": map[string]any{"chatSpacing": "soon"}}, "pacing.chatSpacing"},
		{"pacing profile unknown", map[string]any{"pacing": map[string]any{"profile": "reckless"}}, "pacing.profile"},
		{"valid name, bad pacing", map[string]any{"name": "renamed", "pacing": map[string]any{"typingJitter": 2}}, "pacing.typingJitter"},
		{"bad window", map[string]any{"rateLimit": map[string]int{"limit": 5, "windowSeconds": 0}}, "rateLimit.windowSeconds"},
	}
	for _, tt := range patch {
		t.Run("patch "+tt.name, func(t *testing.T) {
			r := ts.do("PATCH", "/api/devices/"+id, tt.body, admin)
			r.fails(t, http.StatusBadRequest, "validation_failed")
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	other := ts.createDevice(t, admin, "other", engineSim)
	ts.do("PATCH", "/api/devices/"+itoa(other.Device.ID), map[string]any{"name": "taken"}, admin).fails(t, http.StatusConflict, "name_taken")

	for _, path := range []string{"/api/devices/abc", "/api/devices/-1", "/api/devices/0", "/api/devices/999999"} {
		ts.do("GET", path, nil, admin).fails(t, http.StatusNotFound, "device_not_found")
	}

	// Nothing refused was stored, nothing refused was changed.
	var list wireList[wireDevice]
	ts.do("GET", "/api/devices", nil, admin).ok(t, http.StatusOK, &list)
	if len(list.Items) != 2 {
		t.Fatalf("%d devices stored, want 2", len(list.Items))
	}
	for _, d := range list.Items {
		if d.Pacing != "off" || d.RateLimit != (wireRateLimit{30, 60}) || d.Name == "renamed" {
			t.Errorf("device changed by a refused request: %+v", d)
		}
	}
}

func TestTestKeyIsolation(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	live := ts.createDevice(t, admin, "live", "")
	if live.Device.Engine != engineWhatsmeow {
		t.Fatalf("live keys default to %q, want whatsmeow", live.Device.Engine)
	}
	test := apiKey(ts.createKey(t, admin, "ci", "test").APIKey)

	sandbox := ts.createDevice(t, test, "sandbox", "")
	if sandbox.Device.Engine != engineSim {
		t.Errorf("test key created engine %q, want sim", sandbox.Device.Engine)
	}
	ts.do("POST", "/api/devices", map[string]any{"name": "sneaky", "engine": "whatsmeow"}, test).fails(t, http.StatusBadRequest, "engine_not_allowed")

	var list wireList[wireDevice]
	ts.do("GET", "/api/devices", nil, test).ok(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != sandbox.Device.ID {
		t.Errorf("test key lists %+v", list.Items)
	}
	liveID := itoa(live.Device.ID)
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/devices/" + liveID},
		{"PATCH", "/api/devices/" + liveID},
		{"DELETE", "/api/devices/" + liveID},
		{"POST", "/api/devices/" + liveID + "/connect"},
		{"GET", "/api/devices/" + liveID + "/qr"},
		{"GET", "/api/devices/" + liveID + "/events"},
		{"GET", "/api/messages?deviceId=" + liveID},
	} {
		ts.do(r.method, r.path, nil, test).fails(t, http.StatusNotFound, "device_not_found")
	}
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": live.Device.ID, "to": "628111222333", "text": "hi"}, test).
		fails(t, http.StatusNotFound, "device_not_found")

	// The live device is untouched and the admin sees both.
	ts.do("GET", "/api/devices", nil, admin).ok(t, http.StatusOK, &list)
	if len(list.Items) != 2 {
		t.Errorf("admin lists %d devices, want 2", len(list.Items))
	}
}

func TestDeviceKeyIsolation(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	mine := ts.createDevice(t, admin, "mine", engineSim)
	theirs := ts.createDevice(t, admin, "theirs", engineSim)
	dk := apiKey(mine.DeviceAPIKey)

	var list wireList[wireDevice]
	ts.do("GET", "/api/devices", nil, dk).ok(t, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != mine.Device.ID {
		t.Errorf("device key lists %+v", list.Items)
	}
	ts.do("GET", "/api/devices/"+itoa(mine.Device.ID), nil, dk).ok(t, http.StatusOK, nil)

	theirID := itoa(theirs.Device.ID)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/devices/" + theirID, nil},
		{"PATCH", "/api/devices/" + theirID, map[string]any{"name": "x"}},
		{"DELETE", "/api/devices/" + theirID, nil},
		{"POST", "/api/devices/" + theirID + "/connect", nil},
		{"POST", "/api/devices/" + theirID + "/regenerate-key", nil},
		{"POST", "/api/devices/" + theirID + "/sandbox/scan", nil},
		{"GET", "/api/devices/" + theirID + "/events", nil},
		{"GET", "/api/messages?deviceId=" + theirID, nil},
		{"POST", "/api/messages/send-text", map[string]any{"deviceId": theirID, "to": "628111222333", "text": "hi"}},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			ts.do(r.method, r.path, r.body, dk).fails(t, http.StatusNotFound, "device_not_found")
		})
	}
	ts.do("POST", "/api/devices", map[string]any{"name": "new"}, dk).fails(t, http.StatusForbidden, "forbidden")
	ts.do("GET", "/api/keys", nil, dk).fails(t, http.StatusForbidden, "forbidden")
	ts.do("POST", "/api/keys", map[string]any{"name": "k", "mode": "live"}, dk).fails(t, http.StatusForbidden, "forbidden")

	// Its own device needs no deviceId.
	ts.pair(t, dk, mine.Device.ID)
	var m wireMessage
	ts.do("POST", "/api/messages/send-text", map[string]any{"to": "628111222333", "text": "hi"}, dk).ok(t, http.StatusAccepted, &m)
	if m.DeviceID != mine.Device.ID {
		t.Errorf("sent from device %d, want %d", m.DeviceID, mine.Device.ID)
	}
	var theirsNow wireDevice
	ts.do("GET", "/api/devices/"+theirID, nil, admin).ok(t, http.StatusOK, &theirsNow)
	if theirsNow.Name != "theirs" || theirsNow.Status != "DISCONNECTED" {
		t.Errorf("other device changed: %+v", theirsNow)
	}
}

func TestCrossWorkspaceIDsAreNotFound(t *testing.T) {
	ts := newTestServer(t)
	a := ts.register(t)
	b := ts.register(t)
	ownerA := apiKey(a.APIKey)
	devA := ts.createDevice(t, ownerA, "a-phone", engineSim)
	ts.pair(t, ownerA, devA.Device.ID)
	var sent wireMessage
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": devA.Device.ID, "to": "628111222333", "text": "hi"}, ownerA).
		ok(t, http.StatusAccepted, &sent)
	var keysA wireList[wireKey]
	ts.do("GET", "/api/keys", nil, ownerA).ok(t, http.StatusOK, &keysA)

	id := itoa(devA.Device.ID)
	routes := []struct {
		method, path string
		body         any
		code         string
	}{
		{"GET", "/api/devices/" + id, nil, "device_not_found"},
		{"PATCH", "/api/devices/" + id, map[string]any{"name": "mine now"}, "device_not_found"},
		{"DELETE", "/api/devices/" + id, nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/connect", nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/disconnect", nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/logout", nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/regenerate-key", nil, "device_not_found"},
		{"GET", "/api/devices/" + id + "/qr", nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/pair-code", map[string]any{"phone": "628111222333"}, "device_not_found"},
		{"GET", "/api/devices/" + id + "/events", nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/sandbox/scan", nil, "device_not_found"},
		{"POST", "/api/devices/" + id + "/sandbox/inbound", map[string]any{"from": "628111222333", "text": "x"}, "device_not_found"},
		{"POST", "/api/devices/" + id + "/sandbox/fault", map[string]any{"kind": "disconnect"}, "device_not_found"},
		{"POST", "/api/messages/send-text", map[string]any{"deviceId": devA.Device.ID, "to": "628111222333", "text": "x"}, "device_not_found"},
		{"GET", "/api/messages?deviceId=" + id, nil, "device_not_found"},
		{"GET", "/api/messages/" + sent.ID, nil, "message_not_found"},
	}
	for _, k := range keysA.Items {
		routes = append(routes, struct {
			method, path string
			body         any
			code         string
		}{"DELETE", "/api/keys/" + itoa(k.ID), nil, "key_not_found"})
	}
	for _, who := range []struct {
		name string
		h    cred
	}{
		{"workspace key", apiKey(b.APIKey)},
		{"session", bearer(b.Token)},
		{"device key", apiKey(ts.createDevice(t, apiKey(b.APIKey), "b-phone", engineSim).DeviceAPIKey)},
	} {
		for _, r := range routes {
			t.Run(who.name+" "+r.method+" "+r.path, func(t *testing.T) {
				code := r.code
				if who.name == "device key" && strings.HasPrefix(r.path, "/api/keys") {
					ts.do(r.method, r.path, r.body, who.h).fails(t, http.StatusForbidden, "forbidden")
					return
				}
				ts.do(r.method, r.path, r.body, who.h).fails(t, http.StatusNotFound, code)
			})
		}
	}

	// Workspace A's things are intact.
	var d wireDevice
	ts.do("GET", "/api/devices/"+id, nil, ownerA).ok(t, http.StatusOK, &d)
	if d.Name != "a-phone" || d.Status != "CONNECTED" {
		t.Errorf("device of A = %+v", d)
	}
	ts.do("GET", "/api/auth/me", nil, apiKey(devA.DeviceAPIKey)).ok(t, http.StatusOK, nil)
	var keysAfter wireList[wireKey]
	ts.do("GET", "/api/keys", nil, ownerA).ok(t, http.StatusOK, &keysAfter)
	if len(keysAfter.Items) != len(keysA.Items) {
		t.Errorf("A has %d keys, had %d", len(keysAfter.Items), len(keysA.Items))
	}
	// B's lists show nothing of A.
	var list wireList[wireDevice]
	ts.do("GET", "/api/devices", nil, apiKey(b.APIKey)).ok(t, http.StatusOK, &list)
	for _, dev := range list.Items {
		if dev.ID == devA.Device.ID {
			t.Error("B lists A's device")
		}
	}
	var msgs wireList[wireMessage]
	ts.do("GET", "/api/messages", nil, apiKey(b.APIKey)).ok(t, http.StatusOK, &msgs)
	if len(msgs.Items) != 0 {
		t.Errorf("B lists %d messages", len(msgs.Items))
	}
}

func TestQRAndPairCode(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	id := itoa(d.Device.ID)

	ts.do("GET", "/api/devices/"+id+"/qr", nil, admin).fails(t, http.StatusNotFound, "no_qr")
	var connected wireDevice
	ts.do("POST", "/api/devices/"+id+"/connect", nil, admin).ok(t, http.StatusAccepted, &connected)
	if connected.ID != d.Device.ID {
		t.Errorf("connect answered %+v", connected)
	}
	ts.waitStatus(t, admin, d.Device.ID, "SCAN_QR")

	var qr wireQR
	ts.do("GET", "/api/devices/"+id+"/qr", nil, admin).ok(t, http.StatusOK, &qr)
	if qr.Code == "" || !strings.HasPrefix(qr.Image, "data:image/png;base64,") || qr.ExpiresAt == nil || !qr.ExpiresAt.After(time.Now().Add(-time.Minute)) {
		t.Errorf("qr = %+v", qr)
	}
	r := ts.do("GET", "/api/devices/"+id+"/qr?format=png", nil, admin)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(r.Body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("png answer: %d %s %q", r.Status, r.Header.Get("Content-Type"), r.Body[:min(len(r.Body), 16)])
	}
	ts.do("GET", "/api/devices/"+id+"/qr?format=svg", nil, admin).fails(t, http.StatusBadRequest, "validation_failed")

	r = ts.do("POST", "/api/devices/"+id+"/pair-code", map[string]any{}, admin)
	r.fails(t, http.StatusBadRequest, "validation_failed")
	if r.Env.Error.Field != "phone" {
		t.Errorf("field = %q", r.Env.Error.Field)
	}
	ts.do("POST", "/api/devices/"+id+"/pair-code", map[string]any{"phone": "call me"}, admin).fails(t, http.StatusBadRequest, "validation_failed")
	var code struct {
		Code string `json:"code"`
	}
	ts.do("POST", "/api/devices/"+id+"/pair-code", map[string]any{"phone": "+62 811-1222-333"}, admin).ok(t, http.StatusOK, &code)
	if code.Code == "" {
		t.Error("empty pairing code")
	}

	var after wireDevice
	ts.do("POST", "/api/devices/"+id+"/disconnect", nil, admin).ok(t, http.StatusOK, &after)
	if after.Status != "DISCONNECTED" {
		t.Errorf("after disconnect: %+v", after)
	}
	ts.do("GET", "/api/devices/"+id+"/qr", nil, admin).fails(t, http.StatusNotFound, "no_qr")
}

func TestLogoutDevice(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.pair(t, admin, d.Device.ID)
	var got wireDevice
	ts.do("GET", "/api/devices/"+itoa(d.Device.ID), nil, admin).ok(t, http.StatusOK, &got)
	if got.Phone == nil || *got.Phone == "" || got.LastSeenAt == nil {
		t.Errorf("paired device = %+v", got)
	}
	ts.do("POST", "/api/devices/"+itoa(d.Device.ID)+"/logout", nil, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, d.Device.ID, "LOGGED_OUT")
	ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": d.Device.ID, "to": "628111222333", "text": "hi"}, admin).
		fails(t, http.StatusConflict, "device_not_connected")
}
