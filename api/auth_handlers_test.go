package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/api/auth"
)

// sessionCookieOf returns the Set-Cookie line for the session cookie.
func sessionCookieOf(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("bad Set-Cookie %q: %v", line, err)
		}
		if c.Name == sessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", sessionCookie, h.Values("Set-Cookie"))
	return nil
}

func TestRegister(t *testing.T) {
	ts := newTestServer(t)
	body := map[string]string{"name": "Ana", "email": "Ana@Example.com", "password": "long enough pw", "workspace": "Acme"}
	r := ts.do("POST", "/auth/register", body, nil)
	var acc wireAccount
	r.ok(t, http.StatusCreated, &acc)

	if acc.User.Email != "ana@example.com" || acc.User.Name != "Ana" || acc.Workspace.Name != "Acme" || acc.Workspace.ID == 0 {
		t.Errorf("account = %+v", acc)
	}
	if !strings.HasPrefix(acc.APIKey, "gw_live_") || !strings.HasPrefix(acc.APIKey, strings.TrimSuffix(acc.APIKeyPrefix, "...")) {
		t.Errorf("apiKey %q, prefix %q", acc.APIKey, acc.APIKeyPrefix)
	}
	if acc.ExpiresAt == nil || acc.ExpiresAt.Before(time.Now().Add(13*24*time.Hour)) {
		t.Errorf("expiresAt = %v, want about 14 days ahead", acc.ExpiresAt)
	}
	c := sessionCookieOf(t, r.Header)
	if c.Value != acc.Token || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie = %+v", c)
	}

	// The key, the bearer token and the cookie all authenticate.
	for name, h := range map[string]cred{"key": apiKey(acc.APIKey), "bearer": bearer(acc.Token), "cookie": cookie(acc.Token)} {
		var me struct {
			Workspace wireWorkspace `json:"workspace"`
			Key       struct {
				Type, Mode, Prefix string
			} `json:"key"`
			User *wireUser `json:"user"`
		}
		ts.do("GET", "/api/auth/me", nil, h).ok(t, http.StatusOK, &me)
		if me.Workspace.ID != acc.Workspace.ID || me.Key.Mode != "live" {
			t.Errorf("%s: me = %+v", name, me)
		}
		wantType := "session"
		if name == "key" {
			wantType = "workspace"
			if me.Key.Prefix != acc.APIKeyPrefix || me.User != nil {
				t.Errorf("key: me = %+v", me)
			}
		} else if me.User == nil || me.User.Email != "ana@example.com" {
			t.Errorf("%s: me.user = %+v", name, me.User)
		}
		if me.Key.Type != wantType {
			t.Errorf("%s: key.type = %q, want %q", name, me.Key.Type, wantType)
		}
	}

	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"duplicate e-mail, other case", map[string]string{"name": "B", "email": "ANA@example.com", "password": "long enough pw", "workspace": "W"}, 409, "email_taken", ""},
		{"weak password", map[string]string{"name": "B", "email": "b@example.com", "password": "short", "workspace": "W"}, 400, "validation_failed", "password"},
		{"bad e-mail", map[string]string{"name": "B", "email": "not an address", "password": "long enough pw", "workspace": "W"}, 400, "validation_failed", "email"},
		{"missing name", map[string]string{"email": "c@example.com", "password": "long enough pw", "workspace": "W"}, 400, "validation_failed", "name"},
		{"missing workspace", map[string]string{"name": "C", "email": "c@example.com", "password": "long enough pw"}, 400, "validation_failed", "workspace"},
		{"malformed JSON", `{"name": "C",`, 400, "invalid_json", ""},
		{"wrong type", `{"name": 5}`, 400, "validation_failed", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/auth/register", tt.body, nil)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", r.Env.Error.Field, tt.field)
			}
			if len(r.Header.Values("Set-Cookie")) != 0 {
				t.Errorf("refused sign-up set a cookie: %v", r.Header.Values("Set-Cookie"))
			}
		})
	}
	// Refused sign-ups stored nothing.
	if _, err := ts.db.GetUserByEmail("c@example.com"); err == nil {
		t.Error("a refused sign-up stored its user")
	}
}

func TestRegisterSecureCookieBehindTLSProxy(t *testing.T) {
	ts := newTestServer(t)
	r := ts.do("POST", "/auth/register", map[string]string{
		"name": "A", "email": "tls@example.com", "password": "long enough pw", "workspace": "W",
	}, headers("X-Forwarded-Proto", "https"))
	r.ok(t, http.StatusCreated, nil)
	if c := sessionCookieOf(t, r.Header); !c.Secure {
		t.Errorf("cookie behind TLS proxy not Secure: %+v", c)
	}
}

func TestSignupClosed(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.Signup = SignupClosed }))
	ts.do("POST", "/auth/register", map[string]string{
		"name": "A", "email": "a@example.com", "password": "long enough pw", "workspace": "W",
	}, nil).fails(t, http.StatusForbidden, "signup_closed")
	if _, err := ts.db.GetUserByEmail("a@example.com"); err == nil {
		t.Error("closed sign-up stored a user")
	}
}

func TestLoginLogout(t *testing.T) {
	ts := newTestServer(t)
	ts.do("POST", "/auth/register", map[string]string{
		"name": "A", "email": "login@example.com", "password": "long enough pw", "workspace": "W",
	}, nil).ok(t, http.StatusCreated, nil)

	var login struct {
		Token     string        `json:"token"`
		User      wireUser      `json:"user"`
		Workspace wireWorkspace `json:"workspace"`
		ExpiresAt *time.Time    `json:"expiresAt"`
	}
	r := ts.do("POST", "/auth/login", map[string]string{"email": " LOGIN@example.com ", "password": "long enough pw"}, nil)
	r.ok(t, http.StatusOK, &login)
	if !auth.LooksLikeSessionToken(login.Token) || login.User.Email != "login@example.com" || login.Workspace.ID == 0 || login.ExpiresAt == nil {
		t.Fatalf("login = %+v", login)
	}
	if c := sessionCookieOf(t, r.Header); c.Value != login.Token || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie = %+v", c)
	}
	var again struct {
		Token string `json:"token"`
	}
	ts.do("POST", "/auth/login", map[string]string{"email": "login@example.com", "password": "long enough pw"}, nil).ok(t, http.StatusOK, &again)
	if again.Token == login.Token {
		t.Error("two logins got the same token")
	}

	for _, body := range []map[string]string{
		{"email": "login@example.com", "password": "wrong password"},
		{"email": "nobody@example.com", "password": "long enough pw"},
		{"email": "not an address", "password": "long enough pw"},
	} {
		ts.do("POST", "/auth/login", body, nil).fails(t, http.StatusUnauthorized, "invalid_credentials", "Invalid e-mail or password")
	}
	r = ts.do("POST", "/auth/login", map[string]string{"email": "login@example.com"}, nil)
	r.fails(t, http.StatusBadRequest, "validation_failed")
	if r.Env.Error.Field != "password" {
		t.Errorf("field = %q", r.Env.Error.Field)
	}

	// Logout with the bearer token ends that session only.
	ts.do("POST", "/auth/logout", nil, bearer(login.Token)).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/auth/me", nil, bearer(login.Token)).fails(t, http.StatusUnauthorized, "invalid_session", "Session expired or invalid")
	ts.do("GET", "/api/auth/me", nil, bearer(again.Token)).ok(t, http.StatusOK, nil)

	// Logout with the cookie (from the dashboard's origin) clears it.
	r = ts.do("POST", "/auth/logout", nil, cookie(again.Token).with(headers("Sec-Fetch-Site", "same-origin")))
	r.ok(t, http.StatusOK, nil)
	if c := sessionCookieOf(t, r.Header); c.Value != "" || c.Expires.After(time.Now()) {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	ts.do("GET", "/api/auth/me", nil, cookie(again.Token)).fails(t, http.StatusUnauthorized, "invalid_session")

	// Logging out with nothing is fine.
	ts.do("POST", "/auth/logout", nil, nil).ok(t, http.StatusOK, nil)
}

func TestLoginThrottled(t *testing.T) {
	ts := newTestServer(t)
	ts.do("POST", "/auth/register", map[string]string{
		"name": "A", "email": "victim@example.com", "password": "long enough pw", "workspace": "W",
	}, nil).ok(t, http.StatusCreated, nil)
	wrong := map[string]string{"email": "victim@example.com", "password": "guess"}
	for range auth.AccountFailureLimit {
		ts.do("POST", "/auth/login", wrong, nil).fails(t, http.StatusUnauthorized, "invalid_credentials")
	}
	// Now even the right password is refused until the window passes.
	r := ts.do("POST", "/auth/login", map[string]string{"email": "victim@example.com", "password": "long enough pw"}, nil)
	r.fails(t, http.StatusTooManyRequests, "too_many_attempts")
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
}

func TestCSRFOnCookieRequests(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	c := cookie(acc.Token)
	host := strings.TrimPrefix(ts.base, "http://")
	tests := []struct {
		name   string
		method string
		h      cred
		want   int
	}{
		{"cookie POST without proof", "POST", c, http.StatusForbidden},
		{"cookie POST cross-site", "POST", c.with(headers("Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")), http.StatusForbidden},
		{"cookie POST foreign origin", "POST", c.with(headers("Origin", "https://evil.example")), http.StatusForbidden},
		{"cookie POST null origin", "POST", c.with(headers("Origin", "null")), http.StatusForbidden},
		{"cookie POST same-origin fetch metadata", "POST", c.with(headers("Sec-Fetch-Site", "same-origin")), http.StatusCreated},
		{"cookie POST user-initiated", "POST", c.with(headers("Sec-Fetch-Site", "none")), http.StatusCreated},
		{"cookie POST matching Origin", "POST", c.with(headers("Origin", "http://"+host)), http.StatusCreated},
		{"cookie GET without proof", "GET", c, http.StatusOK},
		{"bearer POST without proof", "POST", bearer(acc.Token), http.StatusCreated},
		{"key POST without proof", "POST", apiKey(acc.APIKey), http.StatusCreated},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == "POST" {
				body = map[string]string{"name": "k" + string(rune('a'+i)), "mode": "live"}
			}
			r := ts.do(tt.method, "/api/keys", body, tt.h)
			if r.Status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.want, r.Body)
			}
			if tt.want == http.StatusForbidden {
				r.fails(t, http.StatusForbidden, "csrf_failed")
			}
		})
	}
	// Refused requests created nothing.
	var keys wireList[wireKey]
	ts.do("GET", "/api/keys", nil, apiKey(acc.APIKey)).ok(t, http.StatusOK, &keys)
	if want := 1 + 5; len(keys.Items) != want {
		t.Errorf("%d keys, want %d", len(keys.Items), want)
	}
}

func TestCSRFPublicURLOrigin(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *Config) { c.PublicURL = "https://wa.example.com" }))
	acc := ts.register(t)
	ts.do("POST", "/api/keys", map[string]string{"name": "k", "mode": "live"},
		cookie(acc.Token).with(headers("Origin", "https://wa.example.com"))).ok(t, http.StatusCreated, nil)
}

func TestAuthErrors(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	dev := ts.createDevice(t, apiKey(acc.APIKey), "phone", engineSim)
	gone := ts.createDevice(t, apiKey(acc.APIKey), "gone", engineSim)
	ts.do("DELETE", "/api/devices/"+itoa(gone.Device.ID), nil, apiKey(acc.APIKey)).ok(t, http.StatusOK, nil)

	unknownLive, _ := auth.NewWorkspaceKey(auth.KindLive)
	unknownDevice, _ := auth.NewDeviceKey(acc.Workspace.ID)
	unknownSession, _, _ := auth.NewSessionToken()

	tests := []struct {
		name    string
		h       cred
		path    string
		status  int
		code    string
		message string
	}{
		{"nothing", nil, "/api/auth/me", 401, "missing_credentials", "Missing API key"},
		{"key in the query string", nil, "/api/auth/me?api_key=" + acc.APIKey, 401, "missing_credentials", "Missing API key"},
		{"basic auth only", headers("Authorization", "Basic dXNlcjpwdw=="), "/api/auth/me", 401, "missing_credentials", "Missing API key"},
		{"X-API-Key garbage", apiKey("hello"), "/api/auth/me", 401, "invalid_api_key_format", "Invalid API key format"},
		{"X-API-Key session token", apiKey(acc.Token), "/api/auth/me", 401, "invalid_api_key_format", "Invalid API key format"},
		{"bearer garbage", bearer("hello"), "/api/auth/me", 401, "invalid_api_key_format", "Invalid API key format"},
		{"bearer empty", headers("Authorization", "Bearer"), "/api/auth/me", 401, "invalid_api_key_format", "Invalid API key format"},
		{"truncated live key", apiKey(acc.APIKey[:len(acc.APIKey)-3]), "/api/auth/me", 401, "invalid_api_key_format", "Invalid API key format"},
		{"unknown live key", apiKey(unknownLive.Secret), "/api/auth/me", 401, "invalid_api_key", "Invalid API key"},
		{"live key bad checksum", apiKey(flipLast(acc.APIKey)), "/api/auth/me", 401, "invalid_api_key", "Invalid API key"},
		{"unknown device key", apiKey(unknownDevice.Secret), "/api/auth/me", 401, "invalid_api_key", "Invalid device API key"},
		{"device key bad checksum", apiKey(flipLast(dev.DeviceAPIKey)), "/api/auth/me", 401, "invalid_api_key", "Invalid device API key"},
		{"device key of deleted device", apiKey(gone.DeviceAPIKey), "/api/auth/me", 401, "invalid_api_key", "Invalid device API key"},
		{"device key as bearer of deleted device", bearer(gone.DeviceAPIKey), "/api/auth/me", 401, "invalid_api_key", "Invalid device API key"},
		{"unknown session bearer", bearer(unknownSession), "/api/auth/me", 401, "invalid_session", "Session expired or invalid"},
		{"garbage cookie", cookie("nonsense"), "/api/auth/me", 401, "invalid_session", "Session expired or invalid"},
		{"unknown session cookie", cookie(unknownSession), "/api/auth/me", 401, "invalid_session", "Session expired or invalid"},
		{"conflicting credentials", apiKey(acc.APIKey).with(bearer(acc.Token)), "/api/auth/me", 400, "conflicting_credentials", "Use one credential per request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.do("GET", tt.path, nil, tt.h).fails(t, tt.status, tt.code, tt.message)
		})
	}

	// The same key in both headers is one credential; the header wins over a cookie.
	ts.do("GET", "/api/auth/me", nil, apiKey(acc.APIKey).with(bearer(acc.APIKey))).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/auth/me", nil, apiKey(acc.APIKey).with(cookie("nonsense"))).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/auth/me", nil, bearer(dev.DeviceAPIKey)).ok(t, http.StatusOK, nil)
	// The OpenAPI document needs no credential.
	if r := ts.do("GET", "/api/openapi.json", nil, nil); r.Status != http.StatusOK {
		t.Errorf("openapi.json: %d", r.Status)
	}
}

// flipLast changes the last character of a key, breaking its checksum but
// not its shape.
func flipLast(k string) string {
	last := k[len(k)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return k[:len(k)-1] + string(repl)
}

func TestMeDeviceAndTestKeys(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	test := ts.createKey(t, apiKey(acc.APIKey), "ci", "test")
	dev := ts.createDevice(t, apiKey(test.APIKey), "sandbox", "")

	type me struct {
		Key struct {
			Type   string `json:"type"`
			Mode   string `json:"mode"`
			Prefix string `json:"prefix"`
		} `json:"key"`
		DeviceID *int64 `json:"deviceId"`
	}
	var m me
	ts.do("GET", "/api/auth/me", nil, apiKey(test.APIKey)).ok(t, http.StatusOK, &m)
	if m.Key.Type != "workspace" || m.Key.Mode != "test" || m.Key.Prefix != test.Prefix || m.DeviceID != nil {
		t.Errorf("test key me = %+v", m)
	}
	m = me{}
	ts.do("GET", "/api/auth/me", nil, apiKey(dev.DeviceAPIKey)).ok(t, http.StatusOK, &m)
	if m.Key.Type != "device" || m.Key.Mode != "test" || m.DeviceID == nil || *m.DeviceID != dev.Device.ID {
		t.Errorf("device key me = %+v", m)
	}
}

func TestCreateAccountForTheCommandLine(t *testing.T) {
	ts := newTestServer(t)
	spec := AccountSpec{Name: "Ops", Email: "ops@example.com", Password: "long enough pw", Workspace: "Ops"}
	acc, err := CreateAccount(t.Context(), ts.db, spec)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Workspace wireWorkspace `json:"workspace"`
	}
	ts.do("GET", "/api/auth/me", nil, apiKey(acc.APIKey)).ok(t, http.StatusOK, &me)
	if me.Workspace.ID != acc.Workspace.ID || acc.User.Role != "owner" {
		t.Errorf("me = %+v, account = %+v", me, acc)
	}
	ts.do("POST", "/auth/login", map[string]string{"email": "ops@example.com", "password": "long enough pw"}, nil).ok(t, http.StatusOK, nil)

	if _, err := CreateAccount(t.Context(), ts.db, spec); !errors.Is(err, errEmailTaken) {
		t.Errorf("second account with the e-mail: %v", err)
	}
	spec.Email, spec.Password = "other@example.com", "short"
	_, err = CreateAccount(t.Context(), ts.db, spec)
	if err == nil || !strings.Contains(err.Error(), "password must be between 8 and 128 characters") {
		t.Errorf("weak password: %v", err)
	}
}

// TestLoginThrottleBehindAProxy: behind a trusted proxy, failures count
// per client address from X-Forwarded-For, so one client's guessing does
// not lock out the others; without one, the header is ignored (anyone
// could send it) and the connection's address counts.
func TestLoginThrottleBehindAProxy(t *testing.T) {
	guess := func(ts *testServer, client string, n int) {
		t.Helper()
		for i := range n {
			// Spread over accounts, so that only the address limit is reached.
			body := map[string]string{"email": fmt.Sprintf("nobody%d@example.com", i%10), "password": "guess"}
			// What the client claims (left) is not what the proxy saw (right).
			spoofed := fmt.Sprintf("198.51.100.%d", i%250)
			ts.do("POST", "/auth/login", body, headers("X-Forwarded-For", spoofed+", "+client)).fails(t, http.StatusUnauthorized, "invalid_credentials")
		}
	}
	wrong := map[string]string{"email": "someone@example.com", "password": "guess"}

	proxied := newTestServer(t, withConfig(func(c *Config) { c.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8"} }))
	guess(proxied, "203.0.113.1", auth.IPFailureLimit)
	proxied.do("POST", "/auth/login", wrong, headers("X-Forwarded-For", "203.0.113.1")).fails(t, http.StatusTooManyRequests, "too_many_attempts")
	proxied.do("POST", "/auth/login", wrong, headers("X-Forwarded-For", "203.0.113.2")).fails(t, http.StatusUnauthorized, "invalid_credentials")
	// Through a second trusted proxy (10.x), the client is still found.
	proxied.do("POST", "/auth/login", wrong, headers("X-Forwarded-For", "203.0.113.1, 10.2.3.4")).fails(t, http.StatusTooManyRequests, "too_many_attempts")

	direct := newTestServer(t)
	guess(direct, "203.0.113.1", auth.IPFailureLimit)
	direct.do("POST", "/auth/login", wrong, headers("X-Forwarded-For", "203.0.113.2")).fails(t, http.StatusTooManyRequests, "too_many_attempts")

	if _, err := New(Config{Gateway: proxied.gw, DB: proxied.db, TrustedProxies: []string{"proxy.local"}}); err == nil {
		t.Error("New accepted a trusted proxy that is not an address")
	}
}
