package scripting

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// Only plain data crosses between Go and a script: JSON going in becomes
// ordinary JavaScript objects, arrays and primitives (never wrapped Go
// values, whose methods a script could reach), and values coming out are
// serialised with JSON.stringify's rules by a serialiser that stops at a
// byte budget instead of building an unbounded string.

// maxJSONDepth bounds the nesting of values converted either way, so that a
// hostile document cannot recurse the converter deep into the Go stack.
const maxJSONDepth = 64

// errJSONTooLarge is returned by the serialiser when its budget is spent.
var errJSONTooLarge = errors.New("larger than the limit")

// jsonTypeError is a value JSON cannot represent (a cycle, a BigInt); it
// becomes a TypeError, as in JSON.stringify.
type jsonTypeError string

func (e jsonTypeError) Error() string { return string(e) }

var reflectTypeBool = reflect.TypeOf(false)

// maxSafeInteger is the largest integer a float64 holds exactly.
const maxSafeInteger = 1<<53 - 1

// jsonReader turns JSON text into JavaScript values of one runtime,
// keeping the order of object keys (as JSON.parse does).
type jsonReader struct {
	vm    *goja.Runtime
	data  []byte
	pos   int
	depth int
}

// parseJSON converts one JSON document into a value of vm.
func parseJSON(vm *goja.Runtime, data []byte) (goja.Value, error) {
	r := jsonReader{vm: vm, data: data}
	v, err := r.value()
	if err != nil {
		return nil, err
	}
	r.space()
	if r.pos != len(r.data) {
		return nil, r.errorf("unexpected data after the value")
	}
	return v, nil
}

func (r *jsonReader) errorf(format string, args ...any) error {
	return fmt.Errorf("json at offset %d: %s", r.pos, fmt.Sprintf(format, args...))
}

func (r *jsonReader) space() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

func (r *jsonReader) value() (goja.Value, error) {
	r.space()
	if r.pos >= len(r.data) {
		return nil, r.errorf("unexpected end")
	}
	switch c := r.data[r.pos]; {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		return r.vm.ToValue(s), nil
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	case r.literal("true"):
		return r.vm.ToValue(true), nil
	case r.literal("false"):
		return r.vm.ToValue(false), nil
	case r.literal("null"):
		return goja.Null(), nil
	}
	return nil, r.errorf("unexpected character %q", r.data[r.pos])
}

func (r *jsonReader) literal(word string) bool {
	if len(r.data)-r.pos >= len(word) && string(r.data[r.pos:r.pos+len(word)]) == word {
		r.pos += len(word)
		return true
	}
	return false
}

func (r *jsonReader) enter() error {
	r.depth++
	if r.depth > maxJSONDepth {
		return r.errorf("nested deeper than %d", maxJSONDepth)
	}
	return nil
}

func (r *jsonReader) object() (goja.Value, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.pos++ // {
	obj := r.vm.NewObject()
	r.space()
	if r.pos < len(r.data) && r.data[r.pos] == '}' {
		r.pos++
		r.depth--
		return obj, nil
	}
	for {
		r.space()
		if r.pos >= len(r.data) || r.data[r.pos] != '"' {
			return nil, r.errorf("expected a key")
		}
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		r.space()
		if r.pos >= len(r.data) || r.data[r.pos] != ':' {
			return nil, r.errorf("expected ':'")
		}
		r.pos++
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		if err := setData(obj, key, v); err != nil {
			return nil, err
		}
		r.space()
		if r.pos >= len(r.data) {
			return nil, r.errorf("unexpected end")
		}
		switch r.data[r.pos] {
		case ',':
			r.pos++
		case '}':
			r.pos++
			r.depth--
			return obj, nil
		default:
			return nil, r.errorf("expected ',' or '}'")
		}
	}
}

// setData creates an own data property, as JSON.parse does: a key named
// __proto__ must not reach the prototype setter.
func setData(obj *goja.Object, key string, v goja.Value) error {
	if key == "__proto__" {
		return obj.DefineDataProperty(key, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	return obj.Set(key, v)
}

func (r *jsonReader) array() (goja.Value, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.pos++ // [
	var items []any
	r.space()
	if r.pos < len(r.data) && r.data[r.pos] == ']' {
		r.pos++
		r.depth--
		return r.vm.NewArray(), nil
	}
	for {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		r.space()
		if r.pos >= len(r.data) {
			return nil, r.errorf("unexpected end")
		}
		switch r.data[r.pos] {
		case ',':
			r.pos++
		case ']':
			r.pos++
			r.depth--
			return r.vm.NewArray(items...), nil
		default:
			return nil, r.errorf("expected ',' or ']'")
		}
	}
}

// str reads a string token. Strings without escapes (the common case) are
// taken as they are; the rest go through encoding/json, which knows every
// escape and replaces invalid UTF-8.
func (r *jsonReader) str() (string, error) {
	start := r.pos
	r.pos++ // opening quote
	escaped := false
	for r.pos < len(r.data) {
		switch c := r.data[r.pos]; {
		case c == '"':
			r.pos++
			raw := r.data[start:r.pos]
			if !escaped && utf8.Valid(raw) {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", r.errorf("bad string: %v", err)
			}
			return s, nil
		case c == '\\':
			escaped = true
			r.pos += 2
		case c < 0x20:
			return "", r.errorf("control character in string")
		default:
			r.pos++
		}
	}
	return "", r.errorf("unterminated string")
}

func (r *jsonReader) number() (goja.Value, error) {
	start := r.pos
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
			r.pos++
			continue
		}
		break
	}
	tok := string(r.data[start:r.pos])
	if !validJSONNumber(tok) {
		return nil, r.errorf("bad number %q", tok)
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, r.errorf("bad number %q", tok)
	}
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger && !(f == 0 && math.Signbit(f)) {
		return r.vm.ToValue(int64(f)), nil
	}
	return r.vm.ToValue(f), nil
}

// validJSONNumber checks the JSON number grammar, which is stricter than
// strconv's (no leading zeros, no leading '+', no bare '.').
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// jsonWriter serialises JavaScript values with JSON.stringify's rules
// (toJSON, replacer, boxed primitives, skipped functions and undefined,
// null for non-finite numbers, TypeError on cycles and BigInt) into at most
// limit bytes. Calls back into script code (toJSON, getters, replacer)
// run under the caller's time budget.
type jsonWriter struct {
	vm       *goja.Runtime
	buf      []byte
	limit    int
	stack    []*goja.Object
	replacer goja.Callable // nil: none
	props    []string      // nil: all enumerable own keys
	gap      string        // indentation unit; "" for compact output
	indent   string
}

// marshalValue serialises v with no replacer and no indentation. ok is
// false when v has no JSON form (undefined, a function, a symbol).
func marshalValue(vm *goja.Runtime, v goja.Value, limit int) (out []byte, ok bool, err error) {
	w := jsonWriter{vm: vm, limit: limit}
	ok, err = w.property(nil, "", v)
	return w.buf, ok, err
}

// property serialises the value v found under key in holder. holder is
// nil only for a top-level value serialised without a replacer (a replacer
// gets a holder object, as JSON.stringify gives it).
func (w *jsonWriter) property(holder *goja.Object, key string, v goja.Value) (bool, error) {
	if v == nil {
		return false, nil
	}
	if obj, ok := v.(*goja.Object); ok {
		if toJSON, ok := goja.AssertFunction(obj.Get("toJSON")); ok {
			var err error
			if v, err = toJSON(obj, w.vm.ToValue(key)); err != nil {
				return false, err
			}
		}
	} else if goja.IsBigInt(v) {
		if toJSON, ok := goja.AssertFunction(v.ToObject(w.vm).Get("toJSON")); ok {
			var err error
			if v, err = toJSON(v, w.vm.ToValue(key)); err != nil {
				return false, err
			}
		}
	}
	if w.replacer != nil {
		var err error
		if v, err = w.replacer(holder, w.vm.ToValue(key), v); err != nil {
			return false, err
		}
	}
	if obj, ok := v.(*goja.Object); ok {
		switch obj.ClassName() {
		case "Number":
			v = obj.ToNumber()
		case "String":
			v = obj.ToString()
		case "Boolean", "BigInt":
			v = w.vm.ToValue(obj.Export())
		}
	}
	switch x := v.(type) {
	case *goja.Object:
		if _, callable := goja.AssertFunction(x); callable {
			return false, nil
		}
		if x.ClassName() == "Array" {
			return true, w.array(x)
		}
		return true, w.object(x)
	case *goja.Symbol:
		return false, nil
	}
	switch {
	case goja.IsUndefined(v):
		return false, nil
	case goja.IsNull(v):
		return true, w.write("null")
	case goja.IsString(v):
		return true, w.quote(v.String())
	case goja.IsNumber(v):
		f := v.ToFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return true, w.write("null")
		}
		return true, w.write(v.String())
	case goja.IsBigInt(v):
		return false, jsonTypeError("Do not know how to serialize a BigInt")
	case v.ExportType() == reflectTypeBool:
		if v.ToBoolean() {
			return true, w.write("true")
		}
		return true, w.write("false")
	}
	return false, nil
}

func (w *jsonWriter) write(s string) error {
	if len(w.buf)+len(s) > w.limit {
		return errJSONTooLarge
	}
	w.buf = append(w.buf, s...)
	return nil
}

func (w *jsonWriter) push(obj *goja.Object) error {
	for _, o := range w.stack {
		if o.SameAs(obj) {
			return jsonTypeError("Converting circular structure to JSON")
		}
	}
	if len(w.stack) >= maxJSONDepth {
		return jsonTypeError(fmt.Sprintf("nested deeper than %d", maxJSONDepth))
	}
	w.stack = append(w.stack, obj)
	w.indent += w.gap
	return nil
}

func (w *jsonWriter) pop() {
	w.stack = w.stack[:len(w.stack)-1]
	w.indent = w.indent[:len(w.indent)-len(w.gap)]
}

// newline starts a member on its own line when indenting.
func (w *jsonWriter) newline(indent string) error {
	if w.gap == "" {
		return nil
	}
	return w.write("\n" + indent)
}

func (w *jsonWriter) object(obj *goja.Object) error {
	if err := w.push(obj); err != nil {
		return err
	}
	defer w.pop()
	keys := w.props
	if keys == nil {
		keys = obj.Keys()
	}
	if err := w.write("{"); err != nil {
		return err
	}
	colon := ":"
	if w.gap != "" {
		colon = ": "
	}
	n := 0
	for _, k := range keys {
		mark := len(w.buf)
		if n > 0 {
			if err := w.write(","); err != nil {
				return err
			}
		}
		if err := w.newline(w.indent); err != nil {
			return err
		}
		if err := w.quote(k); err != nil {
			return err
		}
		if err := w.write(colon); err != nil {
			return err
		}
		ok, err := w.property(obj, k, obj.Get(k))
		if err != nil {
			return err
		}
		if !ok {
			w.buf = w.buf[:mark] // undefined members are left out
			continue
		}
		n++
	}
	if n > 0 {
		if err := w.newline(w.indent[:len(w.indent)-len(w.gap)]); err != nil {
			return err
		}
	}
	return w.write("}")
}

func (w *jsonWriter) array(arr *goja.Object) error {
	if err := w.push(arr); err != nil {
		return err
	}
	defer w.pop()
	n := arr.Get("length").ToInteger()
	if err := w.write("["); err != nil {
		return err
	}
	for i := int64(0); i < n; i++ {
		if i > 0 {
			if err := w.write(","); err != nil {
				return err
			}
		}
		if err := w.newline(w.indent); err != nil {
			return err
		}
		key := strconv.FormatInt(i, 10)
		ok, err := w.property(arr, key, arr.Get(key))
		if err != nil {
			return err
		}
		if !ok {
			if err := w.write("null"); err != nil {
				return err
			}
		}
	}
	if n > 0 {
		if err := w.newline(w.indent[:len(w.indent)-len(w.gap)]); err != nil {
			return err
		}
	}
	return w.write("]")
}

// quote writes s as a JSON string, escaping what JSON.stringify escapes.
func (w *jsonWriter) quote(s string) error {
	if len(w.buf)+len(s)+2 > w.limit {
		return errJSONTooLarge
	}
	w.buf = append(w.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		w.buf = append(w.buf, s[start:i]...)
		switch c {
		case '"':
			w.buf = append(w.buf, '\\', '"')
		case '\\':
			w.buf = append(w.buf, '\\', '\\')
		case '\b':
			w.buf = append(w.buf, '\\', 'b')
		case '\f':
			w.buf = append(w.buf, '\\', 'f')
		case '\n':
			w.buf = append(w.buf, '\\', 'n')
		case '\r':
			w.buf = append(w.buf, '\\', 'r')
		case '\t':
			w.buf = append(w.buf, '\\', 't')
		default:
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	w.buf = append(w.buf, s[start:]...)
	w.buf = append(w.buf, '"')
	if len(w.buf) > w.limit {
		return errJSONTooLarge
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// gapOf is JSON.stringify's indentation argument: a number of spaces (at
// most 10) or the first 10 characters of a string.
func gapOf(space goja.Value) string {
	if obj, ok := space.(*goja.Object); ok {
		switch obj.ClassName() {
		case "Number":
			space = obj.ToNumber()
		case "String":
			space = obj.ToString()
		}
	}
	switch {
	case goja.IsNumber(space):
		n := min(max(space.ToInteger(), 0), 10)
		return strings.Repeat(" ", int(n))
	case goja.IsString(space):
		s := []rune(space.String())
		return string(s[:min(len(s), 10)])
	}
	return ""
}
