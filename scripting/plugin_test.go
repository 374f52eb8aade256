package scripting

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// roomy limits keep tests that expect success from failing on a loaded
// machine; the tests of the budget itself use the defaults.
var roomy = Limits{Budget: 5 * time.Second}

var testNow = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

func compile(t *testing.T, src string) *Plugin {
	t.Helper()
	p, err := Compile(Spec{ID: "plg_test", Name: "test.js", Source: src}, roomy)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func received(data string) Event {
	return Event{
		ID: "evt_1", Type: "message.received", CreatedAt: testNow, WorkspaceID: 7, DeviceID: 3,
		Data: json.RawMessage(data),
	}
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(t *testing.T, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got is not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	return reflect.DeepEqual(g, w)
}

func TestOnEventContract(t *testing.T) {
	in := received(`{"id":"msg_1","chat":"62811@s.whatsapp.net","text":"hi","isGroup":false}`)
	tests := []struct {
		name string
		src  string
		want []Event // Data compared as JSON
	}{
		{"unchanged", `function onEvent(e) { return e }`, []Event{in}},
		{"changed data", `function onEvent(e) { e.data.text = e.data.text.toUpperCase(); e.data.n = [1, {a: null}]; return e }`,
			[]Event{withData(in, `{"id":"msg_1","chat":"62811@s.whatsapp.net","text":"HI","isGroup":false,"n":[1,{"a":null}]}`)}},
		{"dropped", `function onEvent(e) { return null }`, []Event{}},
		{"empty array drops", `function onEvent(e) { return [] }`, []Event{}},
		{"split", `function onEvent(e) { return [e, {type: "custom.copy", data: {copy: true}}, null] }`,
			[]Event{in, {Type: "custom.copy", CreatedAt: in.CreatedAt, WorkspaceID: 7, DeviceID: 3, Data: json.RawMessage(`{"copy":true}`)}}},
		{"new type", `function onEvent(e) { e.type = "message.flat"; return e }`, []Event{withType(in, "message.flat")}},
		{"left-out fields kept", `function onEvent(e) { return {} }`, []Event{in}},
		{"envelope is the gateway's", `function onEvent(e) {
			e.id = "evt_forged"; e.workspaceId = 99; e.deviceId = 98; e.createdAt = "2000-01-01T00:00:00Z"; e.seq = 5; e.extra = 1
			return e }`, []Event{in}},
		{"toJSON and undefined members", `function onEvent(e) { return {data: {when: new Date(0), f: function() {}, u: undefined, nan: NaN}} }`,
			[]Event{withData(in, `{"when":"1970-01-01T00:00:00.000Z","nan":null}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := compile(t, tt.src).Call(in, testNow)
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if len(o.Events) != len(tt.want) {
				t.Fatalf("got %d events, want %d: %+v", len(o.Events), len(tt.want), o.Events)
			}
			for i, got := range o.Events {
				want := tt.want[i]
				if !jsonEqual(t, got.Data, want.Data) {
					t.Errorf("event %d data %s, want %s", i, got.Data, want.Data)
				}
				got.Data, want.Data = nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("event %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
}

func withData(e Event, data string) Event {
	e.Data = json.RawMessage(data)
	return e
}

func withType(e Event, typ string) Event {
	e.Type = typ
	return e
}

func TestInvalidResults(t *testing.T) {
	in := received(`{"chat":"c"}`)
	tests := []struct{ name, src, msg string }{
		{"undefined", `function onEvent(e) { e.data.x = 1 }`, "returned undefined"},
		{"number", `function onEvent(e) { return 5 }`, "returned a number"},
		{"string", `function onEvent(e) { return "e" }`, "returned a string"},
		{"function", `function onEvent(e) { return onEvent }`, "must be an object, not a function"},
		{"bad type", `function onEvent(e) { e.type = "Bad Type"; return e }`, "type must be"},
		{"type not a string", `function onEvent(e) { e.type = 5; return e }`, "type must be"},
		{"data null", `function onEvent(e) { e.data = null; return e }`, "data must be an object"},
		{"data array", `function onEvent(e) { e.data = [1]; return e }`, "data must be an object"},
		{"data cycle", `function onEvent(e) { e.data.self = e.data; return e }`, "circular"},
		{"data BigInt", `function onEvent(e) { e.data.n = 10n; return e }`, "BigInt"},
		{"data too large", `function onEvent(e) { e.data.big = "x".repeat(300000); return e }`, "larger than"},
		{"too many events", `function onEvent(e) { return new Array(17).fill(e) }`, "at most 16"},
		{"array member not an event", `function onEvent(e) { return [e, 5] }`, "event 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := compile(t, tt.src).Call(in, testNow)
			if !errors.Is(o.Err, ErrOutput) || !strings.Contains(o.Err.Message, tt.msg) {
				t.Fatalf("err = %v, want ErrOutput containing %q", o.Err, tt.msg)
			}
			if len(o.Events) != 1 || !reflect.DeepEqual(o.Events[0], in) {
				t.Errorf("events = %+v, want the event unchanged", o.Events)
			}
		})
	}
}

func TestInvalidInputIsNotGiven(t *testing.T) {
	p := compile(t, `function onEvent(e) { return null }`)
	for _, data := range []string{`[1]`, `"x"`, `{"a":`, `{"s":"` + strings.Repeat("x", 300<<10) + `"}`} {
		in := received(data)
		o := p.Call(in, testNow)
		if !errors.Is(o.Err, ErrInput) || len(o.Events) != 1 {
			t.Errorf("data %.20s: err %v, %d events; want ErrInput and the event unchanged", data, o.Err, len(o.Events))
		}
	}
	// Missing data is an empty object.
	o := compile(t, `function onEvent(e) { e.data.seen = Object.keys(e.data).length === 0; return e }`).Call(received(""), testNow)
	if o.Err != nil || string(o.Events[0].Data) != `{"seen":true}` {
		t.Errorf("empty data: %v %s", o.Err, o.Events[0].Data)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name      string
		spec      Spec
		kind      error
		msg       string
		line, col int
	}{
		{"syntax", Spec{Source: "function onEvent(e) {\n  return e +;\n}"}, ErrCompile, "SyntaxError", 2, 13},
		{"redeclared", Spec{Source: "let a = 1;\nlet a = 2;\nfunction onEvent(e) { return e }"}, ErrCompile, "already been declared", 2, 5},
		{"top level throws", Spec{Source: "function onEvent(e) { return e }\n\n   throw new Error('at load')"}, ErrCompile, "Error: at load", 3, 10},
		{"strict mode", Spec{Source: "undeclared = 1\nfunction onEvent(e) { return e }"}, ErrCompile, "undeclared is not defined", 1, 1},
		{"no onEvent", Spec{Source: "function handle(e) { return e }"}, ErrNoHandler, "onEvent", 0, 0},
		{"onEvent not a function", Spec{Source: "var onEvent = 5"}, ErrNoHandler, "onEvent", 0, 0},
		{"too large", Spec{Source: strings.Repeat(" ", 64<<10+1)}, ErrSourceTooLarge, "65537 bytes", 0, 0},
		{"config not an object", Spec{Source: "function onEvent(e) { return e }", Config: json.RawMessage(`[1]`)}, ErrConfig, "JSON object", 0, 0},
		{"config not JSON", Spec{Source: "function onEvent(e) { return e }", Config: json.RawMessage(`{a:1}`)}, ErrConfig, "JSON object", 0, 0},
		{"config too large", Spec{Source: "function onEvent(e) { return e }", Config: json.RawMessage(`{"a":"` + strings.Repeat("x", 16<<10) + `"}`)}, ErrConfig, "at most", 0, 0},
		{"config rejected", Spec{Source: "function onEvent(e) { return e }\nfunction validateConfig(c) {\n  if (!c.timezone) throw new Error('timezone is required')\n}", Config: json.RawMessage(`{}`)},
			ErrConfig, "Error: timezone is required", 3, 26},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name = "bad.js"
			_, err := Compile(tt.spec, roomy)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("err = %v, want kind %v with %q", err, tt.kind, tt.msg)
			}
			if e.Plugin != "bad.js" || e.Line != tt.line || e.Column != tt.col {
				t.Errorf("err at %s %d:%d, want bad.js %d:%d", e.Plugin, e.Line, e.Column, tt.line, tt.col)
			}
		})
	}
	// A config the plugin accepts compiles.
	if _, err := Compile(Spec{Source: "function onEvent(e) { return e }\nfunction validateConfig(c) { if (!c.timezone) throw new Error('x') }",
		Config: json.RawMessage(`{"timezone":"UTC"}`)}, roomy); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestRuntimeErrorPosition(t *testing.T) {
	p := compile(t, "function helper(d) {\n  return d.missing.field\n}\nfunction onEvent(e) {\n  return helper(e.data)\n}")
	o := p.Call(received(`{}`), testNow)
	if !errors.Is(o.Err, ErrException) || o.Err.Line != 2 || o.Err.Column != 20 || o.Err.Plugin != "test.js" {
		t.Fatalf("err = %#v", o.Err)
	}
	if !strings.Contains(o.Err.Message, "TypeError: Cannot read property 'field' of undefined") {
		t.Errorf("message %q", o.Err.Message)
	}
	o = compile(t, "function onEvent(e) {\n  throw 'plain'\n}").Call(received(`{}`), testNow)
	if o.Err == nil || o.Err.Message != "plain" || o.Err.Line != 2 {
		t.Errorf("thrown string: %#v", o.Err)
	}
}

func TestSandboxSurface(t *testing.T) {
	const src = `function onEvent(e, ctx) {
		var g = globalThis, out = {}
		for (const name of ["require", "process", "console", "setTimeout", "setInterval", "fetch", "XMLHttpRequest",
			"ArrayBuffer", "SharedArrayBuffer", "Uint8Array", "Float64Array", "DataView", "Atomics", "WeakRef"]) {
			out[name] = typeof g[name]
		}
		out.raw = typeof String.raw
		out.rawJSON = typeof JSON.rawJSON
		out.ctxFrozen = Object.isFrozen(ctx) && Object.isFrozen(ctx.config) && Object.isFrozen(ctx.config.nested)
		try { ctx.config.nested.x = 2; out.configWritable = true } catch (err) { out.configWritable = false }
		out.ctxKeys = Object.keys(ctx).sort().join(",")
		out.globals = Object.keys(g).join(",")
		return {data: out}
	}`
	p, err := Compile(Spec{Name: "s.js", Source: src, Config: json.RawMessage(`{"nested":{"x":1}}`)}, roomy)
	if err != nil {
		t.Fatal(err)
	}
	o := p.Call(received(`{}`), testNow)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	var got map[string]any
	if err := json.Unmarshal(o.Events[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range got {
		switch k {
		case "ctxFrozen":
			if v != true {
				t.Errorf("ctx or config not frozen")
			}
		case "configWritable":
			if v != false {
				t.Errorf("config written to")
			}
		case "ctxKeys":
			if v != "config,localTime,log,now,reply" {
				t.Errorf("ctx has %v", v)
			}
		case "globals":
			if v != "onEvent" {
				t.Errorf("enumerable globals: %v", v)
			}
		default:
			if v != "undefined" {
				t.Errorf("%s is %v, want undefined", k, v)
			}
		}
	}
}

func TestCtx(t *testing.T) {
	p, err := Compile(Spec{ID: "plg_ctx", Name: "ctx.js", Config: json.RawMessage(`{"greeting":"Halo"}`), Source: `function onEvent(e, ctx) {
		ctx.log("text", 1, {a: [true]}, null, undefined)
		if (e.data.text === "logs") { for (var i = 0; i < 40; i++) ctx.log("line " + i); ctx.log("x".repeat(5000)) }
		e.data.now = ctx.now
		e.data.date = new Date().toISOString()
		e.data.dateNow = Date.now()
		e.data.greeting = ctx.config.greeting
		if (e.data.text === "reply") ctx.reply(ctx.config.greeting + ", " + e.data.pushName)
		return e
	}`}, roomy)
	if err != nil {
		t.Fatal(err)
	}
	in := received(`{"id":"msg_9","chat":"62811@s.whatsapp.net","text":"reply","pushName":"Budi"}`)
	o := p.Call(in, testNow)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	want := `{"id":"msg_9","chat":"62811@s.whatsapp.net","text":"reply","pushName":"Budi","now":"2025-03-01T09:30:00.000Z",` +
		`"date":"2025-03-01T09:30:00.000Z","dateNow":1740821400000,"greeting":"Halo"}`
	if !jsonEqual(t, o.Events[0].Data, []byte(want)) {
		t.Errorf("data %s, want %s", o.Events[0].Data, want)
	}
	if len(o.Logs) != 1 || o.Logs[0] != `text 1 {"a":[true]} null undefined` {
		t.Errorf("logs %q", o.Logs)
	}
	wantReply := Reply{PluginID: "plg_ctx", Plugin: "ctx.js", EventID: "evt_1", DeviceID: 3, Chat: "62811@s.whatsapp.net", InReplyTo: "msg_9", Text: "Halo, Budi"}
	if len(o.Replies) != 1 || o.Replies[0] != wantReply {
		t.Errorf("replies %+v, want %+v", o.Replies, wantReply)
	}

	o = p.Call(received(`{"text":"logs"}`), testNow)
	if o.Err != nil || len(o.Logs) != 32 || o.Logs[31] != "line 30" {
		t.Errorf("log cap: %v, %d lines, last %q", o.Err, len(o.Logs), o.Logs[len(o.Logs)-1])
	}
	long := compile(t, `function onEvent(e, ctx) { ctx.log("é".repeat(3000)); return e }`).Call(received(`{}`), testNow)
	if len(long.Logs) != 1 || len(long.Logs[0]) > 1024 || !strings.HasSuffix(long.Logs[0], "…") || !strings.HasPrefix(long.Logs[0], "éé") {
		t.Errorf("long line: %d bytes %q…", len(long.Logs[0]), long.Logs[0][:10])
	}
}

func TestReplyRules(t *testing.T) {
	tests := []struct {
		name, src string
		event     Event
		msg       string
	}{
		{"not a string", `ctx.reply(5)`, received(`{"chat":"c"}`), "must be a string"},
		{"empty", `ctx.reply("  ")`, received(`{"chat":"c"}`), "text is empty"},
		{"too long", `ctx.reply("x".repeat(4097))`, received(`{"chat":"c"}`), "at most 4096"},
		{"too many", `for (var i = 0; i < 4; i++) ctx.reply("x")`, received(`{"chat":"c"}`), "at most 3 replies"},
		{"not a message", `ctx.reply("x")`, Event{ID: "evt_2", Type: "device.status", WorkspaceID: 7, DeviceID: 3, Data: json.RawMessage(`{"chat":"c"}`)}, "message.received"},
		{"no chat", `ctx.reply("x")`, received(`{"text":"t"}`), "message.received events with a chat"},
		{"own message", `ctx.reply("x")`, received(`{"chat":"c","fromMe":true}`), "own messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := compile(t, `function onEvent(e, ctx) { `+tt.src+`; return e }`).Call(tt.event, testNow)
			if !errors.Is(o.Err, ErrException) || !strings.Contains(o.Err.Message, tt.msg) {
				t.Fatalf("err = %v, want %q", o.Err, tt.msg)
			}
			if len(o.Replies) != 0 {
				t.Errorf("a failed call left replies: %+v", o.Replies)
			}
		})
	}
}

func TestLocalTime(t *testing.T) {
	p := compile(t, `function onEvent(e, ctx) {
		var a = ctx.localTime(undefined, "Asia/Jakarta")
		var b = ctx.localTime("2025-07-01T12:00:00Z", "America/New_York")
		var c = ctx.localTime(new Date(0))
		var d = ctx.localTime(86400000, null)
		var bad = ""
		try { ctx.localTime(0, "Mars/Olympus") } catch (err) { bad = String(err) }
		return {data: {a: a, b: [b.hour, b.offsetMinutes, b.weekday, b.iso], c: c.iso, d: d.day, bad: bad}}
	}`)
	o := p.Call(received(`{}`), testNow)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	want := `{"a":{"year":2025,"month":3,"day":1,"hour":16,"minute":30,"second":0,"weekday":6,"timeZone":"Asia/Jakarta","offsetMinutes":420,"iso":"2025-03-01T16:30:00.000+07:00","epochMs":1740821400000},` +
		`"b":[8,-240,2,"2025-07-01T08:00:00.000-04:00"],"c":"1970-01-01T00:00:00.000Z","d":2,"bad":"RangeError: ctx.localTime: unknown time zone \"Mars/Olympus\""}`
	if !jsonEqual(t, o.Events[0].Data, []byte(want)) {
		t.Errorf("got %s\nwant %s", o.Events[0].Data, want)
	}
}

func TestConcurrentCalls(t *testing.T) {
	p := compile(t, `var calls = 0; function onEvent(e) { calls++; e.data.n = e.data.n * 2; return e }`)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				n := i*100 + j
				o := p.Call(received(`{"n":`+strconv.Itoa(n)+`}`), testNow)
				if o.Err != nil {
					errs <- o.Err
					return
				}
				if string(o.Events[0].Data) != `{"n":`+strconv.Itoa(2*n)+`}` {
					errs <- errors.New("wrong result " + string(o.Events[0].Data))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
