package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestKeysLifecycle(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	dev := ts.createDevice(t, admin, "phone", engineSim)

	created := ts.createKey(t, admin, " CI deploy ", "live")
	if !strings.HasPrefix(created.APIKey, "gw_live_") || created.Name != "CI deploy" || created.Kind != "live" ||
		created.Mode != "live" || created.DeviceID != nil || created.CreatedAt == nil || created.LastUsedAt != nil {
		t.Fatalf("created = %+v", created)
	}
	ts.do("GET", "/api/auth/me", nil, apiKey(created.APIKey)).ok(t, http.StatusOK, nil)

	var keys wireList[wireKey]
	ts.do("GET", "/api/keys", nil, admin).ok(t, http.StatusOK, &keys)
	if len(keys.Items) != 3 || keys.NextCursor != nil {
		t.Fatalf("keys = %+v", keys)
	}
	byPrefix := map[string]wireKey{}
	for _, k := range keys.Items {
		if k.APIKey != "" {
			t.Errorf("list shows a secret: %+v", k)
		}
		byPrefix[k.Prefix] = k
	}
	if k := byPrefix[dev.DeviceAPIKeyPrefix]; k.Kind != "device" || k.Mode != "test" || k.DeviceID == nil || *k.DeviceID != dev.Device.ID {
		t.Errorf("device key listed as %+v", k)
	}
	if k := byPrefix[acc.APIKeyPrefix]; k.Kind != "live" || k.LastUsedAt == nil {
		// the first key made every call so far: its use shows before any flush
		t.Errorf("first key listed as %+v", k)
	}

	// Rotation: the old key dies at once, the new one works.
	var rotated struct {
		APIKey string `json:"apiKey"`
		Prefix string `json:"prefix"`
	}
	ts.do("POST", "/api/auth/rotate-key", nil, apiKey(created.APIKey)).ok(t, http.StatusOK, &rotated)
	if !strings.HasPrefix(rotated.APIKey, "gw_live_") || rotated.APIKey == created.APIKey {
		t.Fatalf("rotated = %+v", rotated)
	}
	ts.do("GET", "/api/auth/me", nil, apiKey(created.APIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key", "Invalid API key")
	ts.do("GET", "/api/auth/me", nil, apiKey(rotated.APIKey)).ok(t, http.StatusOK, nil)

	// Rotating a device key keeps it bound to its device.
	ts.do("POST", "/api/auth/rotate-key", nil, apiKey(dev.DeviceAPIKey)).ok(t, http.StatusOK, &rotated)
	ts.do("GET", "/api/auth/me", nil, apiKey(dev.DeviceAPIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key", "Invalid device API key")
	var me struct {
		DeviceID int64 `json:"deviceId"`
	}
	ts.do("GET", "/api/auth/me", nil, apiKey(rotated.APIKey)).ok(t, http.StatusOK, &me)
	if me.DeviceID != dev.Device.ID {
		t.Errorf("rotated device key bound to %d, want %d", me.DeviceID, dev.Device.ID)
	}
	var d wireDevice
	ts.do("GET", "/api/devices/"+itoa(dev.Device.ID), nil, admin).ok(t, http.StatusOK, &d)
	if d.DeviceAPIKeyPrefix != rotated.Prefix {
		t.Errorf("device shows key prefix %q, want %q", d.DeviceAPIKeyPrefix, rotated.Prefix)
	}

	// A session cannot be rotated.
	ts.do("POST", "/api/auth/rotate-key", nil, bearer(acc.Token)).fails(t, http.StatusBadRequest, "not_a_key")

	// Deleting: device keys refuse, others go, the calling key included.
	ts.do("GET", "/api/keys", nil, admin).ok(t, http.StatusOK, &keys)
	for _, k := range keys.Items {
		if k.Kind == "device" {
			ts.do("DELETE", "/api/keys/"+itoa(k.ID), nil, admin).fails(t, http.StatusConflict, "device_key",
				"Device keys are removed with their device; regenerate it instead")
		}
	}
	victim := ts.createKey(t, admin, "victim", "live")
	ts.do("DELETE", "/api/keys/"+itoa(victim.ID), nil, admin).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/auth/me", nil, apiKey(victim.APIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key")
	ts.do("DELETE", "/api/keys/"+itoa(victim.ID), nil, admin).fails(t, http.StatusNotFound, "key_not_found")
	ts.do("DELETE", "/api/keys/abc", nil, admin).fails(t, http.StatusNotFound, "key_not_found")

	self := ts.createKey(t, admin, "self", "live")
	ts.do("DELETE", "/api/keys/"+itoa(self.ID), nil, apiKey(self.APIKey)).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/auth/me", nil, apiKey(self.APIKey)).fails(t, http.StatusUnauthorized, "invalid_api_key")
}

func TestCreateKeyValidation(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	test := ts.createKey(t, admin, "test", "test")
	dev := ts.createDevice(t, admin, "phone", engineSim)

	tests := []struct {
		name   string
		h      cred
		body   any
		status int
		code   string
		field  string
	}{
		{"missing name", admin, map[string]string{"mode": "live"}, 400, "validation_failed", "name"},
		{"long name", admin, map[string]string{"name": strings.Repeat("n", 65), "mode": "live"}, 400, "validation_failed", "name"},
		{"missing mode", admin, map[string]string{"name": "k"}, 400, "validation_failed", "mode"},
		{"bad mode", admin, map[string]string{"name": "k", "mode": "prod"}, 400, "validation_failed", "mode"},
		{"test key makes live key", apiKey(test.APIKey), map[string]string{"name": "k", "mode": "live"}, 403, "forbidden", ""},
		{"device key", apiKey(dev.DeviceAPIKey), map[string]string{"name": "k", "mode": "live"}, 403, "forbidden", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/keys", tt.body, tt.h)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
		})
	}
	// A test key makes test keys and sees only test-mode keys.
	made := ts.createKey(t, apiKey(test.APIKey), "more tests", "test")
	if made.Kind != "test" || !strings.HasPrefix(made.APIKey, "gw_test_") {
		t.Errorf("made = %+v", made)
	}
	var keys wireList[wireKey]
	ts.do("GET", "/api/keys", nil, apiKey(test.APIKey)).ok(t, http.StatusOK, &keys)
	for _, k := range keys.Items {
		if k.Mode != "test" {
			t.Errorf("test key lists %+v", k)
		}
	}
	if len(keys.Items) != 3 { // two test keys and the sandbox device's key
		t.Errorf("test key lists %d keys, want 3", len(keys.Items))
	}
	// ... and cannot delete a live key it cannot see.
	var all wireList[wireKey]
	ts.do("GET", "/api/keys", nil, admin).ok(t, http.StatusOK, &all)
	for _, k := range all.Items {
		if k.Kind == "live" {
			ts.do("DELETE", "/api/keys/"+itoa(k.ID), nil, apiKey(test.APIKey)).fails(t, http.StatusNotFound, "key_not_found")
		}
	}
	// Device keys cannot list or delete keys.
	ts.do("GET", "/api/keys", nil, apiKey(dev.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")
	ts.do("DELETE", "/api/keys/"+itoa(test.ID), nil, apiKey(dev.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")
	// Nothing refused was stored: the live key, the test key, the device key and the one the test key made.
	ts.do("GET", "/api/keys", nil, admin).ok(t, http.StatusOK, &all)
	if len(all.Items) != 4 {
		t.Errorf("%d keys stored, want 4", len(all.Items))
	}
}

func TestKeyLastUsedIsCoalescedAndFlushedOnShutdown(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	extra := ts.createKey(t, apiKey(acc.APIKey), "extra", "live")
	before := time.Now().Add(-time.Second)
	ts.do("GET", "/api/auth/me", nil, apiKey(extra.APIKey)).ok(t, http.StatusOK, nil)

	stored, err := ts.db.GetKey(acc.Workspace.ID, extra.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.LastUsedAt.IsZero() {
		t.Fatalf("a request wrote lastUsedAt at once (%v); it should be coalesced", stored.LastUsedAt)
	}
	var keys wireList[wireKey]
	ts.do("GET", "/api/keys", nil, apiKey(acc.APIKey)).ok(t, http.StatusOK, &keys)
	for _, k := range keys.Items {
		if k.ID == extra.ID && (k.LastUsedAt == nil || k.LastUsedAt.Before(before)) {
			t.Errorf("list shows lastUsedAt %v, want the pending use", k.LastUsedAt)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	stored, err = ts.db.GetKey(acc.Workspace.ID, extra.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.LastUsedAt.Before(before) {
		t.Errorf("after shutdown lastUsedAt = %v, want the use", stored.LastUsedAt)
	}
}
