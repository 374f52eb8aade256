package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/api/auth"
)

// guideDevice is a connected sandbox account with pacing off, so that its
// sends go out at once.
func (ts *testServer) guideDevice(t *testing.T, h cred, name string) wireGuideAccount {
	t.Helper()
	a := ts.createAccount(t, h, map[string]any{"provider": "sim", "displayName": name})
	ts.do("PATCH", "/api/devices/"+itoa(a.ID), map[string]any{"pacing": "off"}, h).ok(t, http.StatusOK, nil)
	ts.do("POST", "/api/devices/"+itoa(a.ID)+"/sandbox/scan", nil, h).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, h, a.ID, actors.StatusConnected)
	return a
}

// waitMessageStatus polls the guide's message list until message id has status want.
func (ts *testServer) waitMessageStatus(t *testing.T, h cred, query, id, want string) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		var list wireList[wireMessage]
		ts.do("GET", "/api/whatsapp/messages"+query, nil, h).ok(t, http.StatusOK, &list)
		for _, m := range list.Items {
			if m.ID == id {
				if m.Status != want {
					return fmt.Errorf("message %s is %s, want %s", id, m.Status, want)
				}
				return nil
			}
		}
		return fmt.Errorf("message %s not listed", id)
	})
}

func TestWhatsAppSendWithDeviceKey(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	a := ts.guideDevice(t, bearer(acc.Token), "primary")
	device := apiKey(a.DeviceAPIKey)

	// The guide's request: no sessionId.
	r := ts.do("POST", "/api/whatsapp/send", map[string]any{"recipient": "628123456789", "message": "Hello World!"}, device)
	var m wireMessage
	r.ok(t, http.StatusAccepted, &m)
	if !strings.HasPrefix(m.ID, "msg_") || m.Status != "queued" || m.DeviceID != a.ID || m.To != "628123456789@s.whatsapp.net" ||
		m.Text != "Hello World!" || m.Direction != "out" || m.Type != "text" {
		t.Fatalf("send answered %+v", m)
	}
	if r.Header.Get("X-RateLimit-Limit") != "30" || r.Header.Get("X-RateLimit-Remaining") != "29" || r.Header.Get("X-RateLimit-Reset") == "" {
		t.Errorf("rate-limit headers: %v", r.Header)
	}
	// The same lifecycle as /api/messages: it goes out and the contact reads it.
	ts.waitMessageStatus(t, device, "", m.ID, "read")
	var native wireMessage
	ts.do("GET", "/api/messages/"+m.ID, nil, device).ok(t, http.StatusOK, &native)
	if native.SentAt == nil || native.DeliveredAt == nil {
		t.Errorf("message as /api/messages sees it: %+v", native)
	}

	// wait answers once it is sent, as on /api/messages.
	ts.do("POST", "/api/whatsapp/send?wait=true", map[string]any{"recipient": "628123456789", "message": "and wait"}, device).ok(t, http.StatusOK, &m)
	if m.Status == "queued" || m.SentAt == nil {
		t.Errorf("waited send answered %+v", m)
	}

	// Its own device may be named, by id or by name; another is not found.
	other := ts.createAccount(t, apiKey(acc.APIKey), map[string]any{"provider": "sim", "displayName": "other"})
	for _, tt := range []struct {
		name      string
		sessionID any
		status    int
	}{
		{"own id", a.ID, http.StatusAccepted},
		{"own name", "primary", http.StatusAccepted},
		{"another device's id", other.ID, http.StatusNotFound},
		{"another device's name", "other", http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/whatsapp/send", map[string]any{"sessionId": tt.sessionID, "recipient": "628123456789", "message": "x"}, device)
			if tt.status == http.StatusNotFound {
				r.fails(t, http.StatusNotFound, "device_not_found")
				return
			}
			r.ok(t, tt.status, nil)
		})
	}
}

func TestWhatsAppSendWithWorkspaceKey(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.guideDevice(t, admin, "user_123_device_primary")
	numeric := ts.guideDevice(t, admin, "42") // a name that looks like an id
	test := apiKey(ts.createKey(t, admin, "test", "test").APIKey)
	live := ts.createAccount(t, admin, map[string]any{"provider": "whatsmeow", "displayName": "live", "baileysDisclaimerAccepted": true})
	foreign := ts.guideDevice(t, apiKey(ts.register(t).APIKey), "foreign")

	tests := []struct {
		name      string
		cred      cred
		sessionID any
		device    int64 // the device that sends; 0: refused
		status    int
		code      string
	}{
		{"id as a number", admin, a.ID, a.ID, 202, ""},
		{"id as a string", admin, itoa(a.ID), a.ID, 202, ""},
		{"name, the guide's example", admin, "user_123_device_primary", a.ID, 202, ""},
		{"name with spaces around", admin, "  user_123_device_primary ", a.ID, 202, ""},
		{"a numeric name", admin, "42", numeric.ID, 202, ""},
		{"session token", bearer(acc.Token), "user_123_device_primary", a.ID, 202, ""},
		{"test key, sandbox device", test, a.ID, a.ID, 202, ""},
		{"missing", admin, nil, 0, 400, "validation_failed"},
		{"blank", admin, "  ", 0, 400, "validation_failed"},
		{"not a string or number", admin, true, 0, 400, "validation_failed"},
		{"unknown name", admin, "nobody", 0, 404, "device_not_found"},
		{"unknown id", admin, 999999, 0, 404, "device_not_found"},
		{"another workspace's device", admin, foreign.ID, 0, 404, "device_not_found"},
		{"another workspace's device by name", admin, "foreign", 0, 404, "device_not_found"},
		{"test key, live device", test, live.ID, 0, 404, "device_not_found"},
		{"test key, live device by name", test, "live", 0, 404, "device_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"recipient": "628123456789", "message": "Hello!"}
			if tt.sessionID != nil {
				body["sessionId"] = tt.sessionID
			}
			r := ts.do("POST", "/api/whatsapp/send", body, tt.cred)
			if tt.code != "" {
				r.fails(t, tt.status, tt.code)
				if tt.code == "validation_failed" && r.Env.Error.Field != "sessionId" {
					t.Errorf("field = %q, want sessionId", r.Env.Error.Field)
				}
				return
			}
			var m wireMessage
			r.ok(t, tt.status, &m)
			if m.DeviceID != tt.device {
				t.Errorf("sent from device %d, want %d", m.DeviceID, tt.device)
			}
		})
	}
}

// TestWhatsAppSharesAdmission checks that both surfaces admit sends through
// one limiter per device: 30 a minute, whichever surface asked.
func TestWhatsAppSharesAdmission(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.guideDevice(t, admin, "limited")
	device := apiKey(a.DeviceAPIKey)

	for i := 1; i <= 30; i++ {
		var r *response
		if i%2 == 0 {
			r = ts.do("POST", "/api/messages/send-text", map[string]any{"to": "628123456789", "text": "native " + strconv.Itoa(i)}, device)
		} else {
			r = ts.do("POST", "/api/whatsapp/send", map[string]any{"recipient": "628123456789", "message": "guide " + strconv.Itoa(i)}, device)
		}
		r.ok(t, http.StatusAccepted, nil)
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(30-i) {
			t.Fatalf("send %d: X-RateLimit-Remaining = %q, want %d", i, got, 30-i)
		}
	}
	r := ts.do("POST", "/api/whatsapp/send", map[string]any{"recipient": "628123456789", "message": "one too many"}, device)
	r.fails(t, http.StatusTooManyRequests, "rate_limited")
	if retry, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || retry < 1 {
		t.Errorf("Retry-After = %q", r.Header.Get("Retry-After"))
	}
	if r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429 X-RateLimit-Remaining = %q", r.Header.Get("X-RateLimit-Remaining"))
	}
	var list wireList[wireMessage]
	ts.do("GET", "/api/whatsapp/messages?limit=500", nil, device).ok(t, http.StatusOK, &list)
	if len(list.Items) != 30 {
		t.Errorf("%d messages stored, want 30", len(list.Items))
	}
}

func TestWhatsAppSendBadInput(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	a := ts.guideDevice(t, apiKey(acc.APIKey), "primary")
	device := apiKey(a.DeviceAPIKey)

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"malformed JSON", `{"recipient": `, 400, "invalid_json", ""},
		{"not an object", `["628123456789", "hi"]`, 400, "validation_failed", ""},
		{"missing recipient", map[string]any{"message": "x"}, 400, "validation_failed", "recipient"},
		{"blank recipient", map[string]any{"recipient": " ", "message": "x"}, 400, "validation_failed", "recipient"},
		{"bad recipient", map[string]any{"recipient": "call me maybe", "message": "x"}, 400, "invalid_recipient", ""},
		{"recipient not a string", map[string]any{"recipient": 628123456789, "message": "x"}, 400, "validation_failed", "recipient"},
		{"missing message", map[string]any{"recipient": "628123456789"}, 400, "validation_failed", "message"},
		{"message not a string", map[string]any{"recipient": "628123456789", "message": 7}, 400, "validation_failed", "message"},
		{"message too long", map[string]any{"recipient": "628123456789", "message": strings.Repeat("a", 65537)}, 400, "validation_failed", "message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/whatsapp/send", tt.body, device)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	var list wireList[wireMessage]
	ts.do("GET", "/api/whatsapp/messages", nil, device).ok(t, http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("%d messages stored by refused sends", len(list.Items))
	}
}

func TestWhatsAppMessages(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.guideDevice(t, admin, "inbox")
	b := ts.guideDevice(t, admin, "other")
	device := apiKey(a.DeviceAPIKey)

	var sent wireMessage
	ts.do("POST", "/api/whatsapp/send", map[string]any{"recipient": "628123456789", "message": "out"}, device).ok(t, http.StatusAccepted, &sent)
	ts.do("POST", "/api/whatsapp/send", map[string]any{"sessionId": "other", "recipient": "628123456789", "message": "from b"}, admin).ok(t, http.StatusAccepted, nil)
	ts.do("POST", "/api/devices/"+itoa(a.ID)+"/sandbox/inbound", map[string]any{"from": "628555000111", "text": "in"}, admin).ok(t, http.StatusAccepted, nil)
	list := func(h cred, query string) []wireMessage {
		t.Helper()
		var l wireList[wireMessage]
		ts.do("GET", "/api/whatsapp/messages"+query, nil, h).ok(t, http.StatusOK, &l)
		return l.Items
	}
	waitFor(t, 5*time.Second, func() error {
		if n := len(list(device, "?direction=in")); n != 1 {
			return fmt.Errorf("%d inbound messages, want 1", n)
		}
		return nil
	})
	for _, tt := range []struct {
		name  string
		cred  cred
		query string
		want  []string // texts, newest first
	}{
		{"device key, all", device, "", []string{"in", "out"}},
		{"device key, inbound", device, "?direction=in", []string{"in"}},
		{"device key, by chat", device, "?chat=628123456789", []string{"out"}},
		{"workspace key by name", admin, "?sessionId=inbox", []string{"in", "out"}},
		{"workspace key by id", admin, "?sessionId=" + itoa(b.ID), []string{"from b"}},
		{"paged", device, "?limit=1", []string{"in"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var texts []string
			for _, m := range list(tt.cred, tt.query) {
				texts = append(texts, m.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tt.want, "|") {
				t.Errorf("texts = %q, want %q", texts, tt.want)
			}
		})
	}

	for _, tt := range []struct {
		name   string
		cred   cred
		query  string
		status int
		code   string
		field  string
	}{
		{"workspace key without sessionId", admin, "", 400, "validation_failed", "sessionId"},
		{"device key naming another device", device, "?sessionId=other", 404, "device_not_found", ""},
		{"bad direction", device, "?direction=up", 400, "validation_failed", "direction"},
		{"bad status", device, "?status=lost", 400, "validation_failed", "status"},
		{"bad chat", device, "?chat=nobody", 400, "invalid_recipient", ""},
		{"bad cursor", device, "?cursor=" + url.QueryEscape("not a cursor"), 400, "invalid_cursor", ""},
		{"bad limit", device, "?limit=0", 400, "validation_failed", "limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("GET", "/api/whatsapp/messages"+tt.query, nil, tt.cred)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}

	// Reading history needs no connection.
	ts.do("POST", "/api/devices/"+itoa(a.ID)+"/disconnect", nil, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, a.ID, actors.StatusDisconnected)
	if got := list(device, ""); len(got) != 2 {
		t.Errorf("%d messages listed while disconnected, want 2", len(got))
	}
}

// TestGuideTroubleshooting produces every error of the guide's
// Troubleshooting section on purpose, and checks its status and its text.
func TestGuideTroubleshooting(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	connected := ts.guideDevice(t, admin, "connected")
	fresh := ts.createAccount(t, admin, map[string]any{"provider": "sim", "displayName": "never scanned"})
	loggedOut := ts.guideDevice(t, admin, "logged out")
	ts.do("POST", "/api/devices/"+itoa(loggedOut.ID)+"/sandbox/fault", map[string]any{"kind": "logout"}, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, loggedOut.ID, actors.StatusLoggedOut)

	regenerated := ts.guideDevice(t, admin, "regenerated")
	ts.do("POST", "/api/accounts/"+itoa(regenerated.ID)+"/regenerate-key", nil, admin).ok(t, http.StatusOK, nil)
	deleted := ts.guideDevice(t, admin, "deleted")
	ts.do("DELETE", "/api/accounts/"+itoa(deleted.ID), nil, admin).ok(t, http.StatusOK, nil)
	unknown, err := auth.NewDeviceKey(acc.Workspace.ID)
	if err != nil {
		t.Fatal(err)
	}
	otherWorkspace, err := auth.NewDeviceKey(acc.Workspace.ID + 1000)
	if err != nil {
		t.Fatal(err)
	}
	good := connected.DeviceAPIKey
	typo := mistype(good, len(good)-10) // in the random part, before the checksum

	send := map[string]any{"recipient": "628123456789", "message": "Hello!"}
	tests := []struct {
		name    string
		cred    cred
		body    map[string]any
		status  int
		code    string
		message string
	}{
		// Invalid Device API Key: 401 Unauthorized - Invalid device API key.
		{"key not found in database", apiKey(unknown.Secret), send, 401, "invalid_api_key", "Invalid device API key"},
		{"key of another workspace's id", apiKey(otherWorkspace.Secret), send, 401, "invalid_api_key", "Invalid device API key"},
		{"key of a deleted device", apiKey(deleted.DeviceAPIKey), send, 401, "invalid_api_key", "Invalid device API key"},
		{"key has been regenerated", apiKey(regenerated.DeviceAPIKey), send, 401, "invalid_api_key", "Invalid device API key"},
		{"typo in the key", apiKey(typo), send, 401, "invalid_api_key", "Invalid device API key"},
		{"typo in the key, as a bearer", bearer(typo), send, 401, "invalid_api_key", "Invalid device API key"},

		// Device Not Connected: 401 Unauthorized - Device not connected.
		{"device never connected", apiKey(fresh.DeviceAPIKey), send, 401, "device_not_connected", "Device not connected"},
		{"device logged out", apiKey(loggedOut.DeviceAPIKey), send, 401, "device_not_connected", "Device not connected"},
		{"workspace key naming a device not connected", admin, map[string]any{"sessionId": "never scanned", "recipient": "628123456789", "message": "Hello!"},
			401, "device_not_connected", "Device not connected"},

		// Key Format Invalid: 401 Unauthorized - Invalid API key format.
		{"no known prefix", apiKey("abc123xyz789def456ghi789"), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"another product's prefix", apiKey("sk_live_abc123xyz789def456ghi789"), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"gw_ without live or test", apiKey("gw_prod_xyz789abc456def123"), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"prefix cut off", apiKey(strings.TrimPrefix(good, "dev_")), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"key cut short", apiKey(good[:len(good)-4]), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"extra character", apiKey(good + "x"), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"space inside", apiKey(good[:12] + " " + good[12:]), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"the guide's example key", apiKey("dev_1_abc123xyz789def456ghi789"), send, 401, "invalid_api_key_format", "Invalid API key format"},
		{"bearer that is no key", bearer("abc123xyz789def456ghi789"), send, 401, "invalid_api_key_format", "Invalid API key format"},

		// Both key types in one request (FAQ: not in the same request).
		{"device and workspace key together", apiKey(good).with(bearer(acc.APIKey)), send, 400, "conflicting_credentials", "Use one credential per request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/whatsapp/send", tt.body, tt.cred)
			r.fails(t, tt.status, tt.code, tt.message)
			if r.Header.Get("X-RateLimit-Limit") != "" {
				t.Error("a refused request carries rate-limit headers: it reached admission")
			}
		})
	}

	// The remedies work: the connected device's key, spaces around it included.
	ts.do("POST", "/api/whatsapp/send", send, apiKey("  "+good+" ")).ok(t, http.StatusAccepted, nil)
	// Reconnecting the logged-out device makes its key send again.
	ts.do("POST", "/api/devices/"+itoa(loggedOut.ID)+"/connect", nil, admin).ok(t, http.StatusAccepted, nil)
	ts.waitStatus(t, admin, loggedOut.ID, actors.StatusScanQR)
	ts.do("POST", "/api/devices/"+itoa(loggedOut.ID)+"/sandbox/scan", nil, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, loggedOut.ID, actors.StatusConnected)
	ts.do("POST", "/api/whatsapp/send", send, apiKey(loggedOut.DeviceAPIKey)).ok(t, http.StatusAccepted, nil)
}

// TestGuideClients runs the guide's Node.js and Python clients against the
// gateway: a device key in X-API-Key, {recipient, message}, a text sent
// through a sandbox device, and the JSON answer read back, success or error.
// The Node.js client sends an uploaded image with sendImage too.
func TestGuideClients(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.guideDevice(t, admin, "customer")
	device := apiKey(a.DeviceAPIKey)
	sb := &sandbox{ts: ts, admin: admin, ws: acc.Workspace.ID, dev: a.ID}

	clients := []struct {
		name        string
		interpreter string
		script      string
		image       bool // the client has sendImage
	}{
		{"node", "node", "whatsapp_client.mjs", true},
		{"python", "python3", "whatsapp_client.py", false},
	}
	for _, cl := range clients {
		t.Run(cl.name, func(t *testing.T) {
			bin, err := exec.LookPath(cl.interpreter)
			if err != nil {
				t.Skipf("%s is not installed, so the guide's %s client cannot run: %v", cl.interpreter, cl.name, err)
			}
			run := func(key string, args ...string) guideAnswer {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, append([]string{filepath.Join("testdata", cl.script)}, args...)...)
				cmd.Env = append(cmd.Environ(), "WA_GATEWAY_URL="+ts.base, "WA_DEVICE_API_KEY="+key)
				out, err := cmd.Output()
				if err != nil {
					var stderr []byte
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = ee.Stderr
					}
					t.Fatalf("%s %s: %v\n%s", cl.interpreter, cl.script, err, stderr)
				}
				var ans guideAnswer
				if err := json.Unmarshal(out, &ans); err != nil {
					t.Fatalf("client printed %q: %v", out, err)
				}
				return ans
			}

			text := "Hello from " + cl.name + "!"
			ans := run(a.DeviceAPIKey, "text", "628123456789", text)
			if !ans.Success || ans.Data == nil || !strings.HasPrefix(ans.Data.ID, "msg_") || ans.Data.Status != "queued" ||
				ans.Data.Text != text || ans.Data.To != "628123456789@s.whatsapp.net" {
				t.Fatalf("client read %+v", ans)
			}
			ts.waitMessageStatus(t, device, "", ans.Data.ID, "read")
			if got := sb.received(t, sb.waitStatus(t, ans.Data.ID, "read")); got.Type != engine.TypeText || got.Text != text {
				t.Errorf("the contact received %+v", got)
			}

			bad := run(mistype(a.DeviceAPIKey, len(a.DeviceAPIKey)-1), "text", "628123456789", "never sent")
			if bad.Success || bad.Error == nil || bad.Error.Code != "invalid_api_key" || bad.Error.Message != "Invalid device API key" {
				t.Fatalf("client read %+v for a mistyped key", bad)
			}

			if !cl.image {
				return
			}
			up := sb.upload(t, "photo.png", "image/png", pngBytes(t))
			img := run(a.DeviceAPIKey, "image", "628123456789", up.FileID, "Look!")
			if !img.Success || img.Data == nil || img.Data.Status != "queued" {
				t.Fatalf("client read %+v for an image", img)
			}
			if got := sb.received(t, sb.waitStatus(t, img.Data.ID, "read")); got.Type != engine.TypeImage || got.Text != "Look!" ||
				got.Media == nil || got.Media.MimeType != "image/png" {
				t.Errorf("the contact received %+v", got)
			}
		})
	}
}

// guideAnswer is the JSON a guide client prints.
type guideAnswer struct {
	Success bool `json:"success"`
	Data    *struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Text   string `json:"text"`
		To     string `json:"to"`
	} `json:"data"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// mistype changes the character of key at i into another base62 one.
func mistype(key string, i int) string {
	b := []byte(key)
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

func TestWhatsAppSendMedia(t *testing.T) {
	const bodyLimit = 16 << 10
	ts := newTestServer(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true; c.BodyLimit = bodyLimit }))
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.guideDevice(t, admin, "media")
	device := apiKey(a.DeviceAPIKey)
	sb := &sandbox{ts: ts, admin: admin, ws: acc.Workspace.ID, dev: a.ID}
	img := pngBytes(t)
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(img)
	}))
	defer media.Close()
	photo := sb.upload(t, "photo.png", "image/png", img)
	report := sb.upload(t, "q3.pdf", "application/pdf", pdfBytes())
	clip := sb.upload(t, "clip.mp4", "video/mp4", mp4Bytes())
	song := sb.upload(t, "song.mp3", "audio/mpeg", mp3Bytes())
	const to = "628123456789"

	tests := []struct {
		name     string
		path     string
		cred     cred
		body     map[string]any
		kind     engine.MessageType
		mimeType string
		caption  string
	}{
		{"image by fileId, the guide's sendImage", "/api/whatsapp/send/image", device,
			map[string]any{"recipient": to, "fileId": photo.FileID, "caption": "Look!"}, engine.TypeImage, "image/png", "Look!"},
		{"image by url", "/api/whatsapp/send/image", device,
			map[string]any{"recipient": to, "url": media.URL + "/photo.png"}, engine.TypeImage, "image/png", ""},
		{"image by base64", "/api/whatsapp/send/image", device,
			map[string]any{"recipient": to, "base64": base64.StdEncoding.EncodeToString(img)}, engine.TypeImage, "image/png", ""},
		{"image by base64 larger than a JSON body", "/api/whatsapp/send/image", device,
			map[string]any{"recipient": to, "base64": base64.StdEncoding.EncodeToString(append(pngBytes(t), make([]byte, bodyLimit)...))}, engine.TypeImage, "image/png", ""},
		{"document with a workspace key", "/api/whatsapp/send/document", admin,
			map[string]any{"sessionId": "media", "recipient": to, "fileId": report.FileID, "caption": "Q3"}, engine.TypeDocument, "application/pdf", "Q3"},
		{"video", "/api/whatsapp/send/video", device,
			map[string]any{"recipient": to, "fileId": clip.FileID, "caption": "clip"}, engine.TypeVideo, "video/mp4", "clip"},
		{"audio", "/api/whatsapp/send/audio", device,
			map[string]any{"recipient": to, "fileId": song.FileID}, engine.TypeAudio, "audio/mpeg", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", tt.path, tt.body, tt.cred)
			var m wireMessage
			r.ok(t, http.StatusAccepted, &m)
			if m.Status != "queued" || m.DeviceID != a.ID || m.Type != string(tt.kind) || r.Header.Get("X-RateLimit-Limit") != "30" {
				t.Fatalf("send answered %+v, headers %v", m, r.Header)
			}
			got := sb.received(t, sb.waitStatus(t, m.ID, "read"))
			if got.Type != tt.kind || got.Text != tt.caption || got.Media == nil || got.Media.MimeType != tt.mimeType || len(got.Media.Data) == 0 {
				t.Errorf("the contact received %+v", got)
			}
		})
	}

	before := sb.messageCount(t)
	fresh := ts.createAccount(t, admin, map[string]any{"provider": "sim", "displayName": "fresh"})
	for _, tt := range []struct {
		name   string
		path   string
		cred   cred
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"no media", "/api/whatsapp/send/image", device, map[string]any{"recipient": to, "caption": "x"}, 400, "validation_failed", "url"},
		{"two sources", "/api/whatsapp/send/image", device, map[string]any{"recipient": to, "fileId": photo.FileID, "url": media.URL}, 400, "validation_failed", "url"},
		{"unknown fileId", "/api/whatsapp/send/image", device, map[string]any{"recipient": to, "fileId": "file_nothere"}, 404, "file_not_found", ""},
		{"a pdf as an image", "/api/whatsapp/send/image", device, map[string]any{"recipient": to, "fileId": report.FileID}, 400, "media_type_mismatch", ""},
		{"audio with a caption", "/api/whatsapp/send/audio", device, map[string]any{"recipient": to, "fileId": song.FileID, "caption": "x"}, 400, "validation_failed", "caption"},
		{"missing recipient", "/api/whatsapp/send/video", device, map[string]any{"fileId": clip.FileID}, 400, "validation_failed", "recipient"},
		{"workspace key without sessionId", "/api/whatsapp/send/document", admin, map[string]any{"recipient": to, "fileId": report.FileID}, 400, "validation_failed", "sessionId"},
		{"device not connected", "/api/whatsapp/send/image", apiKey(fresh.DeviceAPIKey), map[string]any{"recipient": to, "fileId": photo.FileID}, 401, "device_not_connected", ""},
		{"a text over the JSON body limit", "/api/whatsapp/send", device, map[string]any{"recipient": to, "message": strings.Repeat("a", bodyLimit)}, 413, "payload_too_large", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", tt.path, tt.body, tt.cred)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	if got := sb.messageCount(t); got != before {
		t.Errorf("%d messages after refused sends, want %d", got, before)
	}
}

func TestWhatsAppContacts(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	a := ts.guideDevice(t, admin, "book")
	device := apiKey(a.DeviceAPIKey)
	ts.do("POST", "/api/whatsapp/send?wait=true", map[string]any{"recipient": "628111222333", "message": "hi"}, device).ok(t, http.StatusOK, nil)
	ts.do("POST", "/api/devices/"+itoa(a.ID)+"/sandbox/inbound", map[string]any{"from": "4915112345678", "pushName": "Bob", "text": "hey"}, admin).ok(t, http.StatusAccepted, nil)

	type contact struct {
		JID      string `json:"jid"`
		Phone    string `json:"phone"`
		PushName string `json:"pushName"`
	}
	var native wireList[contact]
	waitFor(t, 5*time.Second, func() error {
		native = wireList[contact]{}
		ts.do("GET", "/api/contacts?deviceId="+itoa(a.ID), nil, admin).ok(t, http.StatusOK, &native)
		if len(native.Items) != 2 {
			return fmt.Errorf("%d contacts, want 2", len(native.Items))
		}
		return nil
	})
	for _, tt := range []struct {
		name  string
		cred  cred
		query string
	}{
		{"device key", device, ""},
		{"workspace key by name", admin, "?sessionId=book"},
		{"session by id", bearer(acc.Token), "?sessionId=" + itoa(a.ID)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got wireList[contact]
			ts.do("GET", "/api/whatsapp/contacts"+tt.query, nil, tt.cred).ok(t, http.StatusOK, &got)
			if fmt.Sprint(got.Items) != fmt.Sprint(native.Items) {
				t.Errorf("contacts = %+v, want those of /api/contacts: %+v", got.Items, native.Items)
			}
		})
	}
	if native.Items[0].PushName != "Bob" || native.Items[1].Phone != "628111222333" {
		t.Errorf("contacts = %+v", native.Items)
	}

	ts.do("GET", "/api/whatsapp/contacts", nil, admin).fails(t, http.StatusBadRequest, "validation_failed")
	ts.do("GET", "/api/whatsapp/contacts?sessionId=nobody", nil, admin).fails(t, http.StatusNotFound, "device_not_found")
	ts.do("POST", "/api/devices/"+itoa(a.ID)+"/disconnect", nil, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, a.ID, actors.StatusDisconnected)
	ts.do("GET", "/api/whatsapp/contacts", nil, device).fails(t, http.StatusUnauthorized, "device_not_connected", "Device not connected")
}
