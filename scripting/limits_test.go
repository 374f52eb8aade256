package scripting

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRunawayScriptsAreStopped: an infinite loop, unbounded recursion and a
// huge repeat are each stopped (no timing is asserted: a call that was
// not stopped would never return), the event goes on unchanged, and the
// same plugin and others keep working afterwards.
func TestRunawayScriptsAreStopped(t *testing.T) {
	tests := []struct {
		name    string
		trigger string // runs when e.data.text === "bad"
		kind    error
		msg     string
	}{
		{"infinite loop", `while (true) {}`, ErrTimeout, "ran longer than 50ms"},
		{"deep recursion", `(function f(n) { return f(n + 1) + 1 })(0)`, ErrStackOverflow, "Maximum call stack size (256)"},
		{"huge repeat", `e.data.big = "x".repeat(1e9)`, ErrException, "RangeError: Invalid string length"},
		{"huge array walked", `var a = []; a.length = 3e8; e.data.n = [...a].length`, ErrException, "RangeError: Invalid array length"},
		{"looping toString of a thrown value", `throw {toString() { for (;;) {} }}`, ErrTimeout, "ran longer"},
	}
	healthy := compile(t, `function onEvent(e) { e.data.ok = true; return e }`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(Spec{Name: "runaway.js", Source: `function onEvent(e) {
				if (e.data.text === "bad") { ` + tt.trigger + ` }
				e.data.fine = true
				return e
			}`}, Limits{}) // the default budget
			if err != nil {
				t.Fatal(err)
			}
			in := received(`{"text":"bad"}`)
			o := p.Call(in, testNow)
			if !errors.Is(o.Err, tt.kind) || !strings.Contains(o.Err.Message, tt.msg) {
				t.Fatalf("err = %v, want %v with %q", o.Err, tt.kind, tt.msg)
			}
			if o.Err.Line == 0 {
				t.Errorf("no position in %v", o.Err)
			}
			if len(o.Events) != 1 || !reflect.DeepEqual(o.Events[0], in) {
				t.Errorf("events %+v, want the event unchanged", o.Events)
			}
			// The same plugin handles the next event normally.
			next := p.Call(received(`{"text":"good"}`), testNow)
			if next.Err != nil && !errors.Is(next.Err, ErrTimeout) {
				t.Fatalf("next call: %v", next.Err)
			}
			if next.Err == nil && string(next.Events[0].Data) != `{"text":"good","fine":true}` {
				t.Errorf("next call data %s", next.Events[0].Data)
			}
			if o := healthy.Call(received(`{}`), testNow); o.Err != nil || string(o.Events[0].Data) != `{"ok":true}` {
				t.Errorf("another plugin afterwards: %v", o.Err)
			}
		})
	}
}

func TestHeapGrowthIsStopped(t *testing.T) {
	// The budget is long enough that only the heap watchdog can stop it.
	p, err := Compile(Spec{Name: "hog.js", Source: `function onEvent(e) {
		var keep = []
		for (;;) keep.push(new Array(1000).fill("x" + keep.length))
	}`}, Limits{Budget: time.Minute, MaxHeapGrowth: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	o := p.Call(received(`{}`), testNow)
	if !errors.Is(o.Err, ErrMemory) || !strings.Contains(o.Err.Message, "8 MiB") {
		t.Fatalf("err = %v, want ErrMemory", o.Err)
	}
}

func TestTopLevelIsBudgeted(t *testing.T) {
	_, err := Compile(Spec{Name: "slow.js", Source: "for (;;) {}\nfunction onEvent(e) { return e }"}, Limits{})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

// TestGuardedBuiltins: each guarded built-in refuses an oversized call with
// a RangeError, and keeps its usual result otherwise.
func TestGuardedBuiltins(t *testing.T) {
	refused := []string{
		`"ab".repeat(600000)`,
		`"x".padStart(2e6)`,
		`"x".padEnd(2e6, "ab")`,
		`var s = "x".repeat(600000); s.concat(s)`,
		`"x".repeat(1000).replace(/x/g, "y".repeat(2000))`,
		`"x".repeat(1000).replaceAll("x", () => "y".repeat(2000))`,
		`/x/g[Symbol.replace]("x".repeat(1000), "$&".repeat(2000))`,
		`new Array(1e6)`,
		`Array(70000)`,
		`var a = []; a.length = 1e9; a.fill(0)`,
		`var a = []; a.length = 1e9; a.indexOf(1)`,
		`var a = []; a[1e9] = 1; for (const x of a) {}`,
		`Array.from({length: 1e9})`,
		`Array.prototype.join.call({length: 1e9})`,
		`new Array(60000).fill("x".repeat(100)).join("")`,
		`String(new Array(60000).fill("x".repeat(100)))`,
		`var a = new Array(40000).fill(0); a.concat(a)`,
		`var a = new Array(1000).fill(0); new Array(1000).fill(a).flat()`,
		`var a = [1]; a.push(a); a.flat(Infinity)`,
		`new Array(1000).fill(0).flatMap(() => new Array(1000).fill(0))`,
		`Math.max.apply(null, {length: 1e9})`,
		`Reflect.apply(Math.max, null, {length: 1e9})`,
		`Reflect.construct(Date, {length: 1e9})`,
		`JSON.stringify(new Array(60000).fill("x".repeat(100)))`,
		`var big = "x".repeat(1e6); JSON.stringify({a: big, b: big})`,
	}
	for _, expr := range refused {
		t.Run(expr, func(t *testing.T) {
			o := compile(t, `function onEvent(e) { `+expr+`; return e }`).Call(received(`{}`), testNow)
			if !errors.Is(o.Err, ErrException) || !strings.HasPrefix(o.Err.Message, "RangeError: Invalid") {
				t.Fatalf("err = %v, want a RangeError", o.Err)
			}
		})
	}

	kept := map[string]string{
		`"ab".repeat(3)`: `"ababab"`,
		`"5".padStart(3, "0") + "x".padEnd(3, "-")`:                                               `"005x--"`,
		`"a".concat("b", 1, null)`:                                                                `"ab1null"`,
		`"abcabc".replace(/b/g, "[$&|$'|$` + "`" + `]")`:                                          `"a[b|cabc|a]ca[b|c|abca]c"`,
		`"a-b".replace(/(?<x>a)-(b)/, "$2$<x>$1$3$0$$$")`:                                         `"baa$3$0$$"`,
		`"aaa".replace("a", (m, at) => at + m)`:                                                   `"0aaa"`,
		`"x.x".replaceAll(".", "$$")`:                                                             `"x$x"`,
		`[1, [2, [3, [4]]]].flat(Infinity).join("-")`:                                             `"1-2-3-4"`,
		`[1, 2].flatMap(x => [x, x * 10])`:                                                        `[1,10,2,20]`,
		`[1, null, undefined, "a", {}].join()`:                                                    `"1,,,a,[object Object]"`,
		`[1.5, 2].toLocaleString()`:                                                               `"1.5,2"`,
		`String([1, [2, 3]])`:                                                                     `"1,2,3"`,
		`[new Array(3).length, Array(2, 3).length, Array.of(7).length]`:                           `[3,2,1]`,
		`[[] instanceof Array, Array.isArray(new Array()), [].constructor === Array, Array.name]`: `[true,true,true,"Array"]`,
		`class L extends Array {}; var l = new L(); l.push(1); [l instanceof L, l instanceof Array, l.length, l.map(x => x).constructor === L]`: `[true,true,1,true]`,
		`[..."abc", ...[1, 2]]`:                    `["a","b","c",1,2]`,
		`Array.from({length: 3}, (_, i) => i * 2)`: `[0,2,4]`,
		`Math.max.apply(null, [1, 5, 2])`:          `5`,
		`Reflect.apply(Math.min, null, [4, 3])`:    `3`,
		`[1, 2].concat([3], 4)`:                    `[1,2,3,4]`,
		`JSON.stringify({a: [1, "x", null, undefined, () => 1], n: NaN, s: new String("q"), d: new Date(0)})`: `"{\"a\":[1,\"x\",null,null,null],\"n\":null,\"s\":\"q\",\"d\":\"1970-01-01T00:00:00.000Z\"}"`,
		`JSON.stringify({b: 1, a: [2]}, null, 2)`:                                                             `"{\n  \"b\": 1,\n  \"a\": [\n    2\n  ]\n}"`,
		`JSON.stringify([{a: 1, b: 2}], ["a"])`:                                                               `"[{\"a\":1}]"`,
		`JSON.stringify({a: 1, b: "x"}, (k, v) => typeof v === "number" ? v * 10 : v)`:                        `"{\"a\":10,\"b\":\"x\"}"`,
		`[JSON.stringify(undefined), JSON.stringify(() => 1)]`:                                                `[null,null]`,
	}
	for expr, want := range kept {
		t.Run(expr, func(t *testing.T) {
			o := compile(t, `function onEvent(e) { e.data.v = (function() { `+lastExpr(expr)+` })(); return e }`).Call(received(`{}`), testNow)
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if got := string(o.Events[0].Data); got != `{"v":`+want+`}` {
				t.Errorf("got %s, want {\"v\":%s}", got, want)
			}
		})
	}
}

// lastExpr turns "a; b" into "a; return b".
func lastExpr(src string) string {
	i := strings.LastIndex(src, "; ")
	if i < 0 {
		return "return " + src
	}
	return src[:i+2] + "return " + src[i+2:]
}
