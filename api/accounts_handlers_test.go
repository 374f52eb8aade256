package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// wireGuideAccount is an account as the guide's clients read it.
type wireGuideAccount struct {
	ID                     int64      `json:"id"`
	Provider               string     `json:"provider"`
	Status                 string     `json:"status"`
	DisplayName            string     `json:"displayName"`
	Phone                  *string    `json:"phone"`
	DeviceAPIKey           string     `json:"deviceApiKey"`
	DeviceAPIKeyPrefix     string     `json:"deviceApiKeyPrefix"`
	DeviceAPIKeyLastUsedAt *time.Time `json:"deviceApiKeyLastUsedAt"`
	QRCode                 *string    `json:"qrCode"`
	CreatedAt              *time.Time `json:"createdAt"`
}

// createAccount creates an account through POST /api/accounts.
func (ts *testServer) createAccount(t *testing.T, h cred, body map[string]any) wireGuideAccount {
	t.Helper()
	var a wireGuideAccount
	ts.do("POST", "/api/accounts", body, h).ok(t, http.StatusCreated, &a)
	return a
}

// checkQRDataURL checks that s is a PNG as a data URL.
func checkQRDataURL(t *testing.T, s *string) {
	t.Helper()
	const prefix = "data:image/png;base64,"
	if s == nil || !strings.HasPrefix(*s, prefix) {
		t.Fatalf("qrCode = %v, want a PNG data URL", s)
	}
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*s, prefix))
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("qrCode is not a base64 PNG (err %v)", err)
	}
}

func TestCreateAccount(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	session := bearer(acc.Token)

	tests := []struct {
		name         string
		cred         cred
		body         map[string]any
		wantProvider string // as answered
		wantEngine   string // as stored
	}{
		{"the guide's request, with a session token", session,
			map[string]any{"provider": "baileys", "displayName": "My Business Account", "baileysDisclaimerAccepted": true}, "baileys", engineWhatsmeow},
		{"whatsmeow with a workspace key", apiKey(acc.APIKey),
			map[string]any{"provider": "whatsmeow", "displayName": "Support", "baileysDisclaimerAccepted": true}, "whatsmeow", engineWhatsmeow},
		{"no provider is whatsmeow", apiKey(acc.APIKey),
			map[string]any{"displayName": "Sales", "baileysDisclaimerAccepted": true}, "whatsmeow", engineWhatsmeow},
		{"sim needs no disclaimer", session,
			map[string]any{"provider": "sim", "displayName": "Sandbox"}, "sim", engineSim},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.createAccount(t, tt.cred, tt.body)
			if a.ID <= 0 || a.Provider != tt.wantProvider || a.Status != "connecting" || a.DisplayName != tt.body["displayName"] {
				t.Errorf("account = %+v", a)
			}
			checkQRDataURL(t, a.QRCode)

			// The key: the guide's format, its prefix as shown, stored as a hash only.
			parsed, err := auth.ParseKey(a.DeviceAPIKey)
			if err != nil || parsed.Kind != auth.KindDevice || parsed.WorkspaceID != acc.Workspace.ID {
				t.Fatalf("deviceApiKey %q: %+v, %v", a.DeviceAPIKey, parsed, err)
			}
			wantPrefix := a.DeviceAPIKey[:len("dev_")+len(itoa(acc.Workspace.ID))+1+12] + "..."
			if a.DeviceAPIKeyPrefix != wantPrefix {
				t.Errorf("deviceApiKeyPrefix = %q, want %q", a.DeviceAPIKeyPrefix, wantPrefix)
			}
			stored, err := ts.db.GetKeyByHash(auth.HashKey(a.DeviceAPIKey))
			if err != nil || stored.DeviceID != a.ID || stored.Kind != storage.KeyDevice || stored.Prefix != a.DeviceAPIKeyPrefix {
				t.Fatalf("stored key %+v, %v", stored, err)
			}

			// It is a device like any other, and its key works at once.
			var d wireDevice
			ts.do("GET", "/api/devices/"+itoa(a.ID), nil, apiKey(a.DeviceAPIKey)).ok(t, http.StatusOK, &d)
			if d.Name != tt.body["displayName"] || d.Engine != tt.wantEngine || d.Status != actors.StatusScanQR {
				t.Errorf("device = %+v", d)
			}
			var got wireGuideAccount
			ts.do("GET", "/api/accounts/"+itoa(a.ID), nil, session).ok(t, http.StatusOK, &got)
			if got.Provider != tt.wantEngine || got.Status != "connecting" || got.DeviceAPIKey != "" {
				t.Errorf("account read back as %+v", got)
			}
			checkQRDataURL(t, got.QRCode)
		})
	}

	// One key per device: as many device keys as accounts.
	keys, err := ts.db.ListKeys(acc.Workspace.ID)
	if err != nil {
		t.Fatal(err)
	}
	perDevice := map[int64]int{}
	for _, k := range keys {
		if k.Kind == storage.KeyDevice {
			perDevice[k.DeviceID]++
		}
	}
	if len(perDevice) != len(tests) {
		t.Errorf("%d devices with keys, want %d", len(perDevice), len(tests))
	}
	for id, n := range perDevice {
		if n != 1 {
			t.Errorf("device %d has %d keys", id, n)
		}
	}
}

func TestCreateAccountRefusals(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	test := apiKey(ts.createKey(t, admin, "test", "test").APIKey)
	taken := ts.createAccount(t, admin, map[string]any{"provider": "sim", "displayName": "Taken"})

	tests := []struct {
		name   string
		cred   cred
		body   any
		status int
		code   string
		field  string
	}{
		{"live provider without the disclaimer", admin, map[string]any{"provider": "baileys", "displayName": "A"}, 400, "disclaimer_required", ""},
		{"default provider without the disclaimer", admin, map[string]any{"displayName": "A"}, 400, "disclaimer_required", ""},
		{"disclaimer refused", admin, map[string]any{"provider": "whatsmeow", "displayName": "A", "baileysDisclaimerAccepted": false}, 400, "disclaimer_required", ""},
		{"disclaimer not a boolean", admin, map[string]any{"provider": "whatsmeow", "displayName": "A", "baileysDisclaimerAccepted": "yes"}, 400, "validation_failed", "baileysDisclaimerAccepted"},
		{"unknown provider", admin, map[string]any{"provider": "twilio", "displayName": "A", "baileysDisclaimerAccepted": true}, 400, "validation_failed", "provider"},
		{"missing displayName", admin, map[string]any{"provider": "sim"}, 400, "validation_failed", "displayName"},
		{"blank displayName", admin, map[string]any{"provider": "sim", "displayName": "   "}, 400, "validation_failed", "displayName"},
		{"displayName too long", admin, map[string]any{"provider": "sim", "displayName": strings.Repeat("n", 65)}, 400, "validation_failed", "displayName"},
		{"malformed JSON", admin, `{"displayName": `, 400, "invalid_json", ""},
		{"name taken", admin, map[string]any{"provider": "sim", "displayName": "Taken"}, 409, "name_taken", ""},
		{"test key asking for a live provider", test, map[string]any{"provider": "baileys", "displayName": "A", "baileysDisclaimerAccepted": true}, 400, "engine_not_allowed", ""},
		{"device key", apiKey(taken.DeviceAPIKey), map[string]any{"provider": "sim", "displayName": "A"}, 403, "forbidden", ""},
		{"no credential", nil, map[string]any{"provider": "sim", "displayName": "A"}, 401, "missing_credentials", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/accounts", tt.body, tt.cred)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	devices, err := ts.gw.Devices(context.Background(), acc.Workspace.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(devices) != 1 {
		t.Errorf("%d devices after refusals, want only the first one", len(devices))
	}

	// A test key makes sandbox accounts, by default too.
	a := ts.createAccount(t, test, map[string]any{"displayName": "Test default"})
	if a.Provider != engineSim {
		t.Errorf("test key account provider = %q, want sim", a.Provider)
	}
}

func TestAccountsReadAndDelete(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	test := apiKey(ts.createKey(t, admin, "test", "test").APIKey)
	sandbox := ts.createAccount(t, admin, map[string]any{"provider": "sim", "displayName": "Sandbox"})
	live := ts.createAccount(t, admin, map[string]any{"provider": "whatsmeow", "displayName": "Live", "baileysDisclaimerAccepted": true})
	other := ts.register(t)
	foreign := ts.createAccount(t, apiKey(other.APIKey), map[string]any{"provider": "sim", "displayName": "Foreign"})

	// Scanning connects it; the account says so in lower case and has no QR any more.
	ts.do("POST", "/api/devices/"+itoa(sandbox.ID)+"/sandbox/scan", nil, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, sandbox.ID, actors.StatusConnected)
	r := ts.do("GET", "/api/accounts/"+itoa(sandbox.ID), nil, admin)
	var got wireGuideAccount
	r.ok(t, http.StatusOK, &got)
	if got.Status != "connected" || got.QRCode != nil || got.Phone == nil || got.DeviceAPIKeyLastUsedAt != nil {
		t.Errorf("connected account = %+v", got)
	}
	if !bytes.Contains(r.Env.Data, []byte(`"qrCode":null`)) {
		t.Errorf("qrCode is not null on the wire: %s", r.Env.Data)
	}

	// Using the device key shows as its last use.
	ts.do("GET", "/api/auth/me", nil, apiKey(sandbox.DeviceAPIKey)).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/accounts/"+itoa(sandbox.ID), nil, admin).ok(t, http.StatusOK, &got)
	if got.DeviceAPIKeyLastUsedAt == nil {
		t.Error("deviceApiKeyLastUsedAt is null after the key was used")
	}

	ids := func(h cred) map[int64]wireGuideAccount {
		t.Helper()
		var list wireList[wireGuideAccount]
		ts.do("GET", "/api/accounts", nil, h).ok(t, http.StatusOK, &list)
		out := map[int64]wireGuideAccount{}
		for _, a := range list.Items {
			if a.DeviceAPIKey != "" || a.QRCode != nil {
				t.Errorf("list shows a key or a QR: %+v", a)
			}
			out[a.ID] = a
		}
		return out
	}
	all := ids(admin)
	if len(all) != 2 || all[sandbox.ID].Status != "connected" || all[live.ID].Status != "connecting" ||
		all[live.ID].Provider != engineWhatsmeow || all[sandbox.ID].DeviceAPIKeyLastUsedAt == nil {
		t.Errorf("workspace key lists %+v", all)
	}
	if seen := ids(test); len(seen) != 1 || seen[sandbox.ID].ID == 0 {
		t.Errorf("test key lists %+v, want the sandbox account only", seen)
	}
	if seen := ids(apiKey(live.DeviceAPIKey)); len(seen) != 1 || seen[live.ID].ID == 0 {
		t.Errorf("device key lists %+v, want its own account only", seen)
	}

	for _, tt := range []struct {
		name string
		cred cred
		path string
	}{
		{"another workspace's account", admin, "/api/accounts/" + itoa(foreign.ID)},
		{"a live account with a test key", test, "/api/accounts/" + itoa(live.ID)},
		{"another account with a device key", apiKey(live.DeviceAPIKey), "/api/accounts/" + itoa(sandbox.ID)},
		{"a non-numeric id", admin, "/api/accounts/primary"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts.do("GET", tt.path, nil, tt.cred).fails(t, http.StatusNotFound, "device_not_found")
			ts.do("DELETE", tt.path, nil, tt.cred).fails(t, http.StatusNotFound, "device_not_found")
			ts.do("POST", tt.path+"/regenerate-key", nil, tt.cred).fails(t, http.StatusNotFound, "device_not_found")
		})
	}
	// A device key reads its own account but cannot delete it.
	ts.do("GET", "/api/accounts/"+itoa(live.ID), nil, apiKey(live.DeviceAPIKey)).ok(t, http.StatusOK, nil)
	ts.do("DELETE", "/api/accounts/"+itoa(live.ID), nil, apiKey(live.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")

	// Deleting takes the key with it.
	var deleted struct {
		Deleted bool `json:"deleted"`
	}
	ts.do("DELETE", "/api/accounts/"+itoa(live.ID), nil, bearer(acc.Token)).ok(t, http.StatusOK, &deleted)
	if !deleted.Deleted {
		t.Error("delete answered deleted: false")
	}
	ts.do("GET", "/api/accounts/"+itoa(live.ID), nil, admin).fails(t, http.StatusNotFound, "device_not_found")
	ts.do("GET", "/api/auth/me", nil, apiKey(live.DeviceAPIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key", "Invalid device API key")
	if _, err := ts.db.GetKeyByHash(auth.HashKey(live.DeviceAPIKey)); err == nil {
		t.Error("the deleted account's key is still stored")
	}
}

func TestRegenerateAccountKey(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	a := ts.createAccount(t, bearer(acc.Token), map[string]any{"provider": "sim", "displayName": "Rotating"})

	r := ts.do("POST", "/api/accounts/"+itoa(a.ID)+"/regenerate-key", nil, bearer(acc.Token))
	var answer struct {
		Success bool `json:"success"`
		Data    struct {
			DeviceAPIKey string `json:"deviceApiKey"`
			Prefix       string `json:"prefix"`
		} `json:"data"`
		Message string `json:"message"`
	}
	if r.Status != http.StatusOK {
		t.Fatalf("regenerate: %d %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &answer); err != nil {
		t.Fatal(err)
	}
	if !answer.Success || answer.Message != "Device API key regenerated successfully" ||
		answer.Data.DeviceAPIKey == a.DeviceAPIKey || !strings.HasPrefix(answer.Data.DeviceAPIKey, "dev_"+itoa(acc.Workspace.ID)+"_") ||
		answer.Data.Prefix != answer.Data.DeviceAPIKey[:len(answer.Data.Prefix)-3]+"..." {
		t.Fatalf("regenerate answered %s", r.Body)
	}

	// The old key is dead at once; the new one is bound to the same device.
	ts.do("GET", "/api/auth/me", nil, apiKey(a.DeviceAPIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key", "Invalid device API key")
	var me struct {
		DeviceID int64 `json:"deviceId"`
	}
	ts.do("GET", "/api/auth/me", nil, apiKey(answer.Data.DeviceAPIKey)).ok(t, http.StatusOK, &me)
	if me.DeviceID != a.ID {
		t.Errorf("new key bound to device %d, want %d", me.DeviceID, a.ID)
	}
	var got wireGuideAccount
	ts.do("GET", "/api/accounts/"+itoa(a.ID), nil, bearer(acc.Token)).ok(t, http.StatusOK, &got)
	if got.DeviceAPIKeyPrefix != answer.Data.Prefix {
		t.Errorf("account shows prefix %q, want %q", got.DeviceAPIKeyPrefix, answer.Data.Prefix)
	}

	// Still one key for the device.
	keys, err := ts.db.ListKeys(acc.Workspace.ID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, k := range keys {
		if k.DeviceID == a.ID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("device has %d keys after regeneration, want 1", n)
	}

	// A device key cannot regenerate itself.
	ts.do("POST", "/api/accounts/"+itoa(a.ID)+"/regenerate-key", nil, apiKey(answer.Data.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")
}

// TestAwaitQRGivesUp checks the other ending of the wait for the first QR
// code: a device that shows none by the deadline gets qrCode null.
func TestAwaitQRGivesUp(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	d := ts.createDevice(t, apiKey(acc.APIKey), "idle", engineSim) // never connected: no QR will come
	sub := ts.gw.Subscribe(acc.Workspace.ID, actors.SubscribeFilter{DeviceID: d.Device.ID})
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	dev, err := ts.gw.Device(ctx, acc.Workspace.ID, d.Device.ID)
	if err != nil {
		t.Fatal(err)
	}
	if qr := ts.srv.awaitQR(ctx, sub, dev); qr != nil {
		t.Errorf("awaitQR = %q, want nil", *qr)
	}
}
