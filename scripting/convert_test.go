package scripting

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// nativeStringify is goja's own JSON.stringify, in a plain runtime.
func nativeStringify(t testing.TB, vm *goja.Runtime, v goja.Value) (string, bool) {
	t.Helper()
	stringify, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("stringify"))
	out, err := stringify(goja.Undefined(), v)
	if err != nil {
		t.Fatalf("native stringify: %v", err)
	}
	if goja.IsUndefined(out) {
		return "", false
	}
	return out.String(), true
}

// TestSerializerMatchesJSONStringify compares the budgeted serialiser with
// goja's JSON.stringify on values scripts make.
func TestSerializerMatchesJSONStringify(t *testing.T) {
	exprs := []string{
		`({b: 1, a: "x", 2: true, 1: null})`,
		`[1, -0, 0.1, 1e21, 1e-7, 123456789012345680000, NaN, Infinity, -Infinity]`,
		`"quote \" backslash \\ controls \u0000\u0001\b\f\n\r\t\u001f del \u007f é 日本 \u2028 😀"`,
		`({date: new Date(1700000000123), nested: {toJSON(k) { return "key:" + k }}})`,
		`[undefined, function() {}, Symbol("s"), , 1]`,
		`({u: undefined, f() {}, s: Symbol("x"), [Symbol("k")]: 1, ok: 1})`,
		`[new Number(3), new String("s"), new Boolean(false), Object(1n) instanceof Object]`,
		`({get g() { return [1, 2] }, m: new Map([[1, 2]]), set: new Set([1]), re: /x/g, err: new Error("e")})`,
		`Object.create({inherited: 1}, {own: {value: 2, enumerable: true}, hidden: {value: 3}})`,
		`(() => { class P { constructor() { this.x = 1 } get y() { return 2 } }; return new P() })()`,
		`({"__proto__": 1, "constructor": 2})`,
		`[[[[[]]]], {}, [{}], ""]`,
		`"plain"`,
		`42`,
		`null`,
		`true`,
	}
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			vm := goja.New()
			v, err := vm.RunString(expr)
			if err != nil {
				t.Fatal(err)
			}
			want, wantOK := nativeStringify(t, vm, v)
			got, ok, err := marshalValue(vm, v, 1<<20)
			if err != nil || ok != wantOK || string(got) != want {
				t.Errorf("got %s (%v, %v), want %s (%v)", got, ok, err, want, wantOK)
			}
		})
	}
}

func TestSerializerErrorsAndBudget(t *testing.T) {
	vm := goja.New()
	for expr, want := range map[string]error{
		`var a = {}; a.self = a; a`:     jsonTypeError("Converting circular structure to JSON"),
		`[1n]`:                          jsonTypeError("Do not know how to serialize a BigInt"),
		`"x".repeat(2000)`:              errJSONTooLarge,
		`new Array(600).fill("abc")`:    errJSONTooLarge,
		`({a: {toJSON() { throw 1 }}})`: nil, // a script error, reported as such
	} {
		v, err := vm.RunString(expr)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = marshalValue(vm, v, 1000)
		if want == nil {
			if _, ok := err.(*goja.Exception); !ok {
				t.Errorf("%s: err %v, want the script's exception", expr, err)
			}
			continue
		}
		if err != want {
			t.Errorf("%s: err %v, want %v", expr, err, want)
		}
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if _, err := parseJSON(vm, []byte(deep)); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("deep document: %v", err)
	}
}

// FuzzConvert: any JSON document converts into script values and back to
// the same value, exactly as goja's JSON.parse and JSON.stringify would
// have it; anything else is refused; and an identity plugin hands every
// JSON object back unchanged.
func FuzzConvert(f *testing.F) {
	for _, seed := range []string{
		`{"id":"msg_1","chat":"62811@s.whatsapp.net","text":"Halo 👋","isGroup":false,"timestamp":"2025-03-01T09:30:00Z","media":{"size":123,"mimetype":"image/jpeg"}}`,
		`{"a":[1,2.5,-0,1e400,-1e-400,12345678901234567890,null,true,false,"\u00e9\ud83d\ude00\ud800"],"__proto__":{"x":1},"":"","a":"dup"}`,
		`[]`, `"s"`, `0`, `-0.0e+0`, `{"s":"\u0000\n\"\\\/"}`, " {\t\"x\" : [ ] }\r\n",
		`{"a":01}`, `{"a":1,}`, `{'a':1}`, `[1 2]`, `{"a":"` + "\xff\xfe" + `"}`, `nul`, `"\x"`,
	} {
		f.Add([]byte(seed))
	}
	identity, err := Compile(Spec{Name: "identity.js", Source: `function onEvent(e) { return e }`}, roomy)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vm := goja.New()
		v, err := parseJSON(vm, data)
		valid := json.Valid(data)
		switch {
		case err != nil && strings.Contains(err.Error(), "nested deeper"):
			return
		case (err == nil) != valid:
			t.Fatalf("parse error %v, but json.Valid says %v", err, valid)
		case err != nil:
			return
		}
		got, ok, err := marshalValue(vm, v, 1<<20)
		if err != nil || !ok {
			t.Fatalf("marshal: %v %v", ok, err)
		}
		// The same as goja's own parse and stringify.
		native := goja.New()
		parse, _ := goja.AssertFunction(native.Get("JSON").ToObject(native).Get("parse"))
		parsed, err := parse(goja.Undefined(), native.ToValue(string(data)))
		if err == nil {
			if want, _ := nativeStringify(t, native, parsed); string(got) != want {
				t.Fatalf("got %s, JSON.stringify(JSON.parse(…)) gives %s", got, want)
			}
		}
		// The same value as encoding/json reads.
		var a, b any
		if json.Unmarshal(data, &a) == nil {
			if err := json.Unmarshal(got, &b); err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("round trip changed the value: %s → %s (%v)", data, got, err)
			}
		}
		// Through a plugin, an object comes back unchanged.
		if got[0] == '{' && len(data) <= identity.lim.MaxEventBytes {
			o := identity.Call(Event{ID: "evt_f", Type: "t", WorkspaceID: 1, Data: data}, testNow)
			if o.Err != nil {
				t.Fatalf("identity plugin: %v", o.Err)
			}
			if string(o.Events[0].Data) != string(got) {
				t.Fatalf("identity plugin gave %s, want %s", o.Events[0].Data, got)
			}
		}
	})
}
