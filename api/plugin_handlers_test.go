package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

type wirePlugin struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Bundled        *string         `json:"bundled"`
	Source         *string         `json:"source"`
	Config         json.RawMessage `json:"config"`
	Events         []string        `json:"events"`
	DeviceID       *int64          `json:"deviceId"`
	Enabled        bool            `json:"enabled"`
	DisabledReason *string         `json:"disabledReason"`
	Position       int64           `json:"position"`
	CreatedAt      *time.Time      `json:"createdAt"`
	UpdatedAt      *time.Time      `json:"updatedAt"`
}

type wirePluginTest struct {
	Events []struct {
		ID          *string         `json:"id"`
		Type        string          `json:"type"`
		CreatedAt   *time.Time      `json:"createdAt"`
		WorkspaceID int64           `json:"workspaceId"`
		DeviceID    *int64          `json:"deviceId"`
		Data        json.RawMessage `json:"data"`
	} `json:"events"`
	Replies []struct {
		DeviceID  int64  `json:"deviceId"`
		Chat      string `json:"chat"`
		Text      string `json:"text"`
		InReplyTo string `json:"inReplyTo"`
	} `json:"replies"`
	Logs       []string `json:"logs"`
	DurationMs *float64 `json:"durationMs"`
	Error      *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
		Line    *int   `json:"line"`
		Column  *int   `json:"column"`
	} `json:"error"`
}

// compileFailure is the error body of a compile_error.
type compileFailure struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
	} `json:"error"`
}

const upperSource = `function onEvent(event, ctx) {
  event.data.text = (event.data.text || "").toUpperCase()
  return event
}`

func (ts *testServer) createPlugin(t *testing.T, h cred, body map[string]any) wirePlugin {
	t.Helper()
	var p wirePlugin
	ts.do("POST", "/api/plugins", body, h).ok(t, http.StatusCreated, &p)
	return p
}

func (ts *testServer) pluginNames(t *testing.T, h cred) string {
	t.Helper()
	var list wireList[wirePlugin]
	ts.do("GET", "/api/plugins", nil, h).ok(t, http.StatusOK, &list)
	if list.NextCursor != nil {
		t.Errorf("plugin list has a next cursor")
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	return strings.Join(names, ",")
}

func TestPluginsLifecycle(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	dev := ts.createDevice(t, admin, "phone", engineSim)

	upper := ts.createPlugin(t, admin, map[string]any{"name": " upper ", "source": upperSource, "events": []string{"message.received"}})
	if !strings.HasPrefix(upper.ID, "plg_") || upper.Name != "upper" || upper.Source == nil || *upper.Source != upperSource ||
		upper.Bundled != nil || !upper.Enabled || upper.Position != 1 || string(upper.Config) != "{}" ||
		strings.Join(upper.Events, ",") != "message.received" || upper.DeviceID != nil || upper.CreatedAt == nil {
		t.Fatalf("created %+v", upper)
	}
	groups := ts.createPlugin(t, admin, map[string]any{"bundled": "ignore-groups", "deviceId": fmt.Sprint(dev.Device.ID),
		"config": map[string]any{"allow": []string{"120363000000000001@g.us"}}, "events": []string{"*"}, "enabled": false})
	if groups.Name != "ignore-groups" || groups.Bundled == nil || *groups.Bundled != "ignore-groups" || groups.Source != nil ||
		groups.DeviceID == nil || *groups.DeviceID != dev.Device.ID || groups.Enabled || groups.Position != 2 ||
		string(groups.Config) != `{"allow":["120363000000000001@g.us"]}` || len(groups.Events) != 0 {
		t.Fatalf("created %+v", groups)
	}
	first := ts.createPlugin(t, admin, map[string]any{"name": "first", "source": "function onEvent(e) { return e }", "position": 1})
	if names := ts.pluginNames(t, admin); names != "first,upper,ignore-groups" {
		t.Errorf("order %s", names)
	}
	var got wirePlugin
	ts.do("GET", "/api/plugins/"+upper.ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.ID != upper.ID || got.Name != "upper" {
		t.Errorf("get %+v", got)
	}
	rev, err := ts.db.PluginRevision(acc.Workspace.ID)
	if err != nil || rev != 3 {
		t.Fatalf("revision %d, %v", rev, err)
	}

	// PATCH: only what is given changes; null clears deviceId and config.
	var patched wirePlugin
	ts.do("PATCH", "/api/plugins/"+groups.ID, `{"name":"groups","position":0}`, admin).fails(t, http.StatusBadRequest, "validation_failed")
	ts.do("PATCH", "/api/plugins/"+groups.ID, `{"name":"groups","deviceId":null,"config":null,"enabled":true,"position":1}`, admin).ok(t, http.StatusOK, &patched)
	if patched.Name != "groups" || patched.DeviceID != nil || string(patched.Config) != "{}" || !patched.Enabled ||
		patched.Position != 1 || *patched.Bundled != "ignore-groups" || patched.UpdatedAt == nil {
		t.Fatalf("patched %+v", patched)
	}
	// A new position moves the plugin there; the others shift.
	if names := ts.pluginNames(t, admin); names != "groups,first,upper" {
		t.Errorf("order after patch %s", names)
	}
	// Switching a bundled plugin to a source, and back.
	ts.do("PATCH", "/api/plugins/"+groups.ID, map[string]any{"source": upperSource}, admin).ok(t, http.StatusOK, &patched)
	if patched.Bundled != nil || patched.Source == nil {
		t.Errorf("switched to source: %+v", patched)
	}
	ts.do("PATCH", "/api/plugins/"+groups.ID, map[string]any{"bundled": "ignore-own-messages", "events": []string{"message.received"}}, admin).ok(t, http.StatusOK, &patched)
	if patched.Bundled == nil || *patched.Bundled != "ignore-own-messages" || patched.Source != nil || len(patched.Events) != 1 {
		t.Errorf("switched to bundled: %+v", patched)
	}

	// A plugin the gateway disabled comes back with enabled: true, its
	// reason cleared.
	if _, err := ts.db.UpdatePlugin(acc.Workspace.ID, upper.ID, func(p *storage.Plugin) error {
		p.Enabled, p.DisabledReason = false, "failed 5 times in a row: TypeError"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ts.do("GET", "/api/plugins/"+upper.ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.Enabled || got.DisabledReason == nil || !strings.Contains(*got.DisabledReason, "TypeError") {
		t.Fatalf("disabled: %+v", got)
	}
	ts.do("PATCH", "/api/plugins/"+upper.ID, `{"enabled":true}`, admin).ok(t, http.StatusOK, &got)
	if !got.Enabled || got.DisabledReason != nil {
		t.Errorf("re-enabled: %+v", got)
	}

	ts.do("DELETE", "/api/plugins/"+first.ID, nil, admin).ok(t, http.StatusOK, nil)
	ts.do("GET", "/api/plugins/"+first.ID, nil, admin).fails(t, http.StatusNotFound, "plugin_not_found", "Plugin not found")
	ts.do("DELETE", "/api/plugins/"+first.ID, nil, admin).fails(t, http.StatusNotFound, "plugin_not_found")
	if names := ts.pluginNames(t, admin); names != "groups,upper" {
		t.Errorf("after delete %s", names)
	}
	if rev2, _ := ts.db.PluginRevision(acc.Workspace.ID); rev2 <= rev {
		t.Errorf("revision did not move: %d → %d", rev, rev2)
	}
}

func TestPluginValidation(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"neither source nor bundled", map[string]any{"name": "x"}, 400, "validation_failed", "source"},
		{"both", map[string]any{"name": "x", "source": upperSource, "bundled": "ignore-groups"}, 400, "validation_failed", "source"},
		{"empty source", map[string]any{"name": "x", "source": "  "}, 400, "validation_failed", "source"},
		{"source too large", map[string]any{"name": "x", "source": strings.Repeat(" ", 64<<10+1)}, 400, "validation_failed", "source"},
		{"unknown bundled", map[string]any{"bundled": "no-such"}, 400, "validation_failed", "bundled"},
		{"no name", map[string]any{"source": upperSource}, 400, "validation_failed", "name"},
		{"long name", map[string]any{"name": strings.Repeat("n", 65), "source": upperSource}, 400, "validation_failed", "name"},
		{"bad event type", map[string]any{"name": "x", "source": upperSource, "events": []string{"Message Received"}}, 400, "validation_failed", "events"},
		{"events not a list", `{"name":"x","source":"function onEvent(e){return e}","events":"message.received"}`, 400, "validation_failed", "events"},
		{"config not an object", map[string]any{"name": "x", "source": upperSource, "config": []int{1}}, 400, "validation_failed", "config"},
		{"bad position", map[string]any{"name": "x", "source": upperSource, "position": -1}, 400, "validation_failed", "position"},
		{"bad device", map[string]any{"name": "x", "source": upperSource, "deviceId": "abc"}, 400, "validation_failed", "deviceId"},
		{"unknown device", map[string]any{"name": "x", "source": upperSource, "deviceId": 424242}, 404, "device_not_found", ""},
		{"no onEvent", map[string]any{"name": "x", "source": "function handle(e) { return e }"}, 400, "compile_error", ""},
		{"config refused", map[string]any{"bundled": "out-of-hours-reply", "config": map[string]any{"timezone": "Asia/Jakarta"}}, 400, "invalid_config", ""},
		{"bad time zone", map[string]any{"bundled": "out-of-hours-reply", "config": map[string]any{"timezone": "Mars/Base", "hours": map[string]any{}, "text": "x"}}, 400, "invalid_config", ""},
		{"malformed", `{"name":`, 400, "invalid_json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/plugins", tt.body, admin)
			r.fails(t, tt.status, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("field %q, want %q: %s", r.Env.Error.Field, tt.field, r.Body)
			}
		})
	}
	if names := ts.pluginNames(t, admin); names != "" {
		t.Errorf("failed creates stored %s", names)
	}
	r := ts.do("POST", "/api/plugins", map[string]any{"bundled": "out-of-hours-reply", "config": map[string]any{"timezone": "UTC", "hours": map[string]any{"mon": "09:00-17:00"}}}, admin)
	r.fails(t, http.StatusBadRequest, "invalid_config")
	if !strings.Contains(r.Env.Error.Message, "text is required") {
		t.Errorf("message %q does not say why", r.Env.Error.Message)
	}
}

// TestPluginCompileErrorsNameThePlace: a source that does not compile, or
// whose top level throws, is refused with its line and column, on create
// and on update, and nothing is stored.
func TestPluginCompileErrorsNameThePlace(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	tests := []struct {
		name      string
		source    string
		line, col int
		msg       string
	}{
		{"syntax", "function onEvent(event) {\n  return event +;\n}", 2, 17, "SyntaxError"},
		{"top level throws", "function onEvent(e) { return e }\nnull.x", 2, 6, "TypeError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do("POST", "/api/plugins", map[string]any{"name": "broken", "source": tt.source}, admin)
			r.fails(t, http.StatusBadRequest, "compile_error")
			var body compileFailure
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Error.Line != tt.line || body.Error.Column != tt.col || !strings.Contains(body.Error.Message, tt.msg) ||
				!strings.Contains(body.Error.Message, fmt.Sprintf("line %d, column %d", tt.line, tt.col)) {
				t.Errorf("error %+v, want line %d column %d with %q", body.Error, tt.line, tt.col, tt.msg)
			}
		})
	}
	if names := ts.pluginNames(t, admin); names != "" {
		t.Fatalf("stored %s", names)
	}

	p := ts.createPlugin(t, admin, map[string]any{"name": "good", "source": upperSource})
	r := ts.do("PATCH", "/api/plugins/"+p.ID, map[string]any{"source": "function onEvent(e) {\n  return e +;\n}", "name": "renamed"}, admin)
	r.fails(t, http.StatusBadRequest, "compile_error")
	var body compileFailure
	if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Line != 2 {
		t.Errorf("patch error %s", r.Body)
	}
	var got wirePlugin
	ts.do("GET", "/api/plugins/"+p.ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.Name != "good" || *got.Source != upperSource {
		t.Errorf("a refused patch changed the plugin: %+v", got)
	}
}

func TestPluginAccess(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	dev := ts.createDevice(t, admin, "phone", engineSim)
	test := ts.createKey(t, admin, "test", "test")
	p := ts.createPlugin(t, admin, map[string]any{"name": "mine", "source": upperSource})
	other := ts.register(t)
	foreign := ts.createPlugin(t, apiKey(other.APIKey), map[string]any{"name": "theirs", "source": upperSource})

	dryRun := map[string]any{"source": upperSource, "event": map[string]any{"type": "message.received", "data": map[string]any{"text": "hi"}}}
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/plugins", nil},
		{"POST", "/api/plugins", map[string]any{"name": "x", "source": upperSource}},
		{"GET", "/api/plugins/bundled", nil},
		{"GET", "/api/plugins/" + p.ID, nil},
		{"PATCH", "/api/plugins/" + p.ID, map[string]any{"name": "y"}},
		{"DELETE", "/api/plugins/" + p.ID, nil},
		{"POST", "/api/plugins/test", dryRun},
	}
	for _, rt := range routes {
		ts.do(rt.method, rt.path, rt.body, apiKey(dev.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")
		r := ts.do(rt.method, rt.path, rt.body, apiKey(test.APIKey))
		switch rt.path {
		case "/api/plugins/test", "/api/plugins/bundled":
			r.ok(t, http.StatusOK, nil)
		default:
			r.fails(t, http.StatusForbidden, "forbidden")
		}
	}
	// Sessions manage plugins like workspace keys.
	ts.do("GET", "/api/plugins/"+p.ID, nil, bearer(acc.Token)).ok(t, http.StatusOK, nil)
	// Another workspace's plugin, or no plugin id at all, is not found.
	for _, path := range []string{"/api/plugins/" + foreign.ID, "/api/plugins/wh_nope", "/api/plugins/plg_x"} {
		ts.do("GET", path, nil, admin).fails(t, http.StatusNotFound, "plugin_not_found")
		ts.do("PATCH", path, map[string]any{"name": "stolen"}, admin).fails(t, http.StatusNotFound, "plugin_not_found")
		ts.do("DELETE", path, nil, admin).fails(t, http.StatusNotFound, "plugin_not_found")
	}
	if names := ts.pluginNames(t, apiKey(other.APIKey)); names != "theirs" {
		t.Errorf("the other workspace has %s", names)
	}
}

func TestPluginLimit(t *testing.T) {
	ts := newTestServer(t)
	admin := apiKey(ts.register(t).APIKey)
	for i := range maxPlugins {
		ts.createPlugin(t, admin, map[string]any{"name": fmt.Sprintf("p%d", i), "source": "function onEvent(e) { return e }"})
	}
	ts.do("POST", "/api/plugins", map[string]any{"name": "one too many", "source": upperSource}, admin).
		fails(t, http.StatusConflict, "plugin_limit")
}

func TestBundledPlugins(t *testing.T) {
	ts := newTestServer(t)
	admin := apiKey(ts.register(t).APIKey)
	var list wireList[struct {
		Name    string          `json:"name"`
		Summary string          `json:"summary"`
		Events  []string        `json:"events"`
		Config  json.RawMessage `json:"config"`
	}]
	ts.do("GET", "/api/plugins/bundled", nil, admin).ok(t, http.StatusOK, &list)
	var names []string
	for _, b := range list.Items {
		names = append(names, b.Name)
		if b.Summary == "" || b.Events == nil || len(b.Config) == 0 {
			t.Errorf("bundled %+v", b)
		}
		// Each can be enabled with its example config.
		ts.createPlugin(t, admin, map[string]any{"bundled": b.Name, "config": b.Config, "events": b.Events})
	}
	want := "drop-status-broadcasts,flatten-for-crm,ignore-groups,ignore-own-messages,keyword-router,out-of-hours-reply,redact-phone-numbers"
	if strings.Join(names, ",") != want {
		t.Errorf("bundled %s, want %s", strings.Join(names, ","), want)
	}
}

func TestPluginDryRun(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	received := map[string]any{"id": "evt_sample", "type": "message.received", "deviceId": 3, "createdAt": "2025-01-06T12:30:00Z",
		"data": map[string]any{"id": "msg_1", "chat": "628111222333@s.whatsapp.net", "text": "hello", "timestamp": "2025-01-06T12:30:00Z"}}
	run := func(t *testing.T, body map[string]any) wirePluginTest {
		t.Helper()
		var out wirePluginTest
		ts.do("POST", "/api/plugins/test", body, admin).ok(t, http.StatusOK, &out)
		if out.DurationMs == nil || *out.DurationMs < 0 || out.Logs == nil || out.Replies == nil {
			t.Fatalf("result %+v", out)
		}
		return out
	}

	t.Run("transform, logs and reply", func(t *testing.T) {
		out := run(t, map[string]any{"event": received, "config": map[string]any{"greeting": "Halo"}, "source": `function onEvent(e, ctx) {
			ctx.log("got", e.data.text)
			ctx.reply(ctx.config.greeting + "!")
			e.data.text = e.data.text.toUpperCase()
			return [e, {type: "custom.copy", data: {copy: true}}]
		}`})
		if out.Error != nil || len(out.Events) != 2 {
			t.Fatalf("%+v", out)
		}
		e := out.Events[0]
		if *e.ID != "evt_sample" || e.Type != "message.received" || e.WorkspaceID != acc.Workspace.ID || e.DeviceID == nil || *e.DeviceID != 3 ||
			!e.CreatedAt.Equal(time.Date(2025, 1, 6, 12, 30, 0, 0, time.UTC)) || !strings.Contains(string(e.Data), `"text":"HELLO"`) {
			t.Errorf("event %+v %s", e, e.Data)
		}
		if out.Events[1].ID != nil || out.Events[1].Type != "custom.copy" || string(out.Events[1].Data) != `{"copy":true}` {
			t.Errorf("split event %+v", out.Events[1])
		}
		if len(out.Logs) != 1 || out.Logs[0] != "got hello" {
			t.Errorf("logs %q", out.Logs)
		}
		if len(out.Replies) != 1 || out.Replies[0].Text != "Halo!" || out.Replies[0].Chat != "628111222333@s.whatsapp.net" ||
			out.Replies[0].DeviceID != 3 || out.Replies[0].InReplyTo != "msg_1" {
			t.Errorf("replies %+v", out.Replies)
		}
	})

	t.Run("drop", func(t *testing.T) {
		out := run(t, map[string]any{"event": received, "source": "function onEvent(e) { return null }"})
		if out.Error != nil || len(out.Events) != 0 {
			t.Errorf("%+v", out)
		}
	})

	t.Run("bundled with a time", func(t *testing.T) {
		config := map[string]any{"timezone": "Asia/Jakarta", "hours": map[string]any{"mon-fri": "09:00-17:00"}, "text": "Closed now"}
		out := run(t, map[string]any{"event": received, "bundled": "out-of-hours-reply", "config": config, "now": "2025-01-06T12:30:00Z"})
		if out.Error != nil || len(out.Replies) != 1 || out.Replies[0].Text != "Closed now" {
			t.Errorf("%+v", out)
		}
	})

	t.Run("failures leave the event unchanged", func(t *testing.T) {
		for _, tt := range []struct {
			source, kind string
			line         int
		}{
			{"function onEvent(e) {\n  var n = 0\n  for (;;) { n++ }\n}", "timeout", 3},
			{"function onEvent(e) {\n  throw new Error('nope')\n}", "exception", 2},
			{"function onEvent(e) {\n  return (function f() { return f() })()\n}", "stack_overflow", 2},
			{"function onEvent(e) {\n  return 42\n}", "invalid_result", 0},
		} {
			out := run(t, map[string]any{"event": received, "source": tt.source})
			if out.Error == nil || out.Error.Kind != tt.kind || len(out.Events) != 1 || !strings.Contains(string(out.Events[0].Data), `"text":"hello"`) {
				t.Errorf("%s: %+v", tt.kind, out)
				continue
			}
			if tt.line > 0 && (out.Error.Line == nil || *out.Error.Line != tt.line || out.Error.Column == nil) {
				t.Errorf("%s: at %+v", tt.kind, out.Error)
			}
		}
	})

	t.Run("refused requests", func(t *testing.T) {
		for _, tt := range []struct {
			body        map[string]any
			code, field string
		}{
			{map[string]any{"source": upperSource}, "validation_failed", "event"},
			{map[string]any{"source": upperSource, "event": []int{1}}, "validation_failed", "event"},
			{map[string]any{"source": upperSource, "event": map[string]any{"data": map[string]any{}}}, "validation_failed", "event.type"},
			{map[string]any{"source": upperSource, "event": map[string]any{"type": "x", "data": []int{1}}}, "validation_failed", "event.data"},
			{map[string]any{"source": upperSource, "event": map[string]any{"type": "x", "createdAt": "yesterday"}}, "validation_failed", "event.createdAt"},
			{map[string]any{"source": upperSource, "event": received, "now": "noon"}, "validation_failed", "now"},
			{map[string]any{"event": received}, "validation_failed", "source"},
			{map[string]any{"source": "function onEvent(e) {", "event": received}, "compile_error", ""},
		} {
			r := ts.do("POST", "/api/plugins/test", tt.body, admin)
			r.fails(t, http.StatusBadRequest, tt.code)
			if r.Env.Error.Field != tt.field {
				t.Errorf("%v: field %q, want %q", tt.body, r.Env.Error.Field, tt.field)
			}
		}
	})
	if names := ts.pluginNames(t, admin); names != "" {
		t.Errorf("a dry run stored %s", names)
	}
}
