package scripting

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
)

// goja cannot interrupt its built-ins (they are Go code) and has no memory
// limit, so a single call like "x".repeat(1e9) allocates gigabytes and runs
// for seconds whatever the time budget. The sandbox therefore replaces the
// built-ins that turn a small input into a huge result, or that walk an
// array's length (which a script can set to billions without allocating),
// with versions that refuse sizes past Limits.MaxStringLength or
// Limits.MaxArrayLength by throwing a RangeError. The package
// documentation lists what is guarded and what is not.

// removedGlobals are left out of the sandbox: binary buffers allocate their
// full size natively and no event needs them; weak references make runs
// depend on the garbage collector.
var removedGlobals = []string{
	"ArrayBuffer", "SharedArrayBuffer", "DataView", "Atomics",
	"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
	"Int32Array", "Uint32Array", "Float16Array", "Float32Array", "Float64Array",
	"BigInt64Array", "BigUint64Array", "WeakRef", "FinalizationRegistry",
}

// sandbox installs and implements the guards of one runtime.
type sandbox struct {
	vm         *goja.Runtime
	lim        Limits
	rangeError goja.Constructor
	typeError  goja.Constructor
	freeze     goja.Callable
}

func newSandbox(vm *goja.Runtime, lim Limits) (*sandbox, error) {
	s := &sandbox{vm: vm, lim: lim}
	var ok bool
	if s.rangeError, ok = goja.AssertConstructor(vm.Get("RangeError")); !ok {
		return nil, fmt.Errorf("sandbox: no RangeError")
	}
	if s.typeError, ok = goja.AssertConstructor(vm.Get("TypeError")); !ok {
		return nil, fmt.Errorf("sandbox: no TypeError")
	}
	if s.freeze, ok = goja.AssertFunction(vm.Get("Object").ToObject(vm).Get("freeze")); !ok {
		return nil, fmt.Errorf("sandbox: no Object.freeze")
	}
	return s, nil
}

// throw raises a JavaScript error made by ctor.
func (s *sandbox) throw(ctor goja.Constructor, format string, args ...any) {
	obj, err := ctor(nil, s.vm.ToValue(fmt.Sprintf(format, args...)))
	if err != nil {
		panic(err)
	}
	panic(obj)
}

func (s *sandbox) rangeErrorf(format string, args ...any) {
	s.throw(s.rangeError, format, args...)
}

func (s *sandbox) typeErrorf(format string, args ...any) {
	s.throw(s.typeError, format, args...)
}

// call runs fn from inside a native function, rethrowing what it throws.
func (s *sandbox) call(fn goja.Callable, this goja.Value, args ...goja.Value) goja.Value {
	v, err := fn(this, args...)
	if err != nil {
		panic(err)
	}
	return v
}

// method returns obj[name] as a function; install fails without it.
func method(obj *goja.Object, name string) (goja.Callable, error) {
	fn, ok := goja.AssertFunction(obj.Get(name))
	if !ok {
		return nil, fmt.Errorf("sandbox: %s is not a function", name)
	}
	return fn, nil
}

// define replaces obj[name] with a native function, named and
// non-enumerable like the built-in it replaces.
func (s *sandbox) define(obj *goja.Object, name string, impl func(goja.FunctionCall) goja.Value) error {
	length := 0
	if old, ok := obj.Get(name).(*goja.Object); ok {
		length = int(old.Get("length").ToInteger())
	}
	return obj.DefineDataProperty(name, s.native(name, length, impl), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// native makes a native function with a script-facing name and length
// (goja would show the Go function's name). Naming cannot fail on a fresh
// function object.
func (s *sandbox) native(name string, length int, impl func(goja.FunctionCall) goja.Value) *goja.Object {
	fn := s.vm.ToValue(impl).(*goja.Object)
	_ = s.nameFunction(fn, name, length)
	return fn
}

// lengthOf is ToLength(ToObject(v).length).
func (s *sandbox) lengthOf(v goja.Value) int64 {
	return max(v.ToObject(s.vm).Get("length").ToInteger(), 0)
}

// stringLength is the length of v's string value in UTF-16 code units.
func stringLength(v goja.Value) int64 {
	if str, ok := v.(goja.String); ok {
		return int64(str.Length())
	}
	return int64(len(v.String()))
}

// toString is ToString(v) as a string value (goja's ToString returns
// numbers and booleans as they are).
func (s *sandbox) toString(v goja.Value) goja.String {
	if str, ok := v.(goja.String); ok {
		return str
	}
	v = v.ToString()
	if str, ok := v.(goja.String); ok {
		return str
	}
	return goja.StringFromUTF16(utf16.Encode([]rune(v.String())))
}

func (s *sandbox) checkStringLength(n int64) {
	if n > int64(s.lim.MaxStringLength) {
		s.stringTooLong()
	}
}

// stringTooLong throws the RangeError of a string past MaxStringLength.
func (s *sandbox) stringTooLong() {
	s.rangeErrorf("Invalid string length: the sandbox allows at most %d characters", s.lim.MaxStringLength)
}

func (s *sandbox) checkArrayLength(n int64) {
	if n > int64(s.lim.MaxArrayLength) {
		s.rangeErrorf("Invalid array length: the sandbox allows at most %d elements", s.lim.MaxArrayLength)
	}
}

// install applies every guard to the runtime's globals.
func (s *sandbox) install() error {
	global := s.vm.GlobalObject()
	for _, name := range removedGlobals {
		if err := global.Delete(name); err != nil {
			return fmt.Errorf("sandbox: remove %s: %w", name, err)
		}
	}
	for _, step := range []func() error{s.guardStrings, s.guardArrays, s.guardCalls, s.guardJSON} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// guardStrings: repeat, padStart, padEnd, concat, replace and replaceAll
// refuse results past MaxStringLength; String.raw (which walks an
// array-like of any length) is removed.
func (s *sandbox) guardStrings() error {
	str := s.vm.Get("String").ToObject(s.vm)
	if err := str.Delete("raw"); err != nil {
		return err
	}
	proto := str.Get("prototype").ToObject(s.vm)
	orig := map[string]goja.Callable{}
	for _, name := range []string{"repeat", "padStart", "padEnd", "concat", "replace", "replaceAll"} {
		fn, err := method(proto, name)
		if err != nil {
			return err
		}
		orig[name] = fn
	}
	guards := map[string]func(goja.FunctionCall) goja.Value{
		"repeat": func(call goja.FunctionCall) goja.Value {
			if !isNullish(call.This) {
				n := call.Argument(0).ToInteger()
				if l := stringLength(call.This.ToString()); l > 0 && n > int64(s.lim.MaxStringLength)/l {
					s.stringTooLong()
				}
			}
			return s.call(orig["repeat"], call.This, call.Arguments...)
		},
		"padStart": s.padGuard(orig["padStart"]),
		"padEnd":   s.padGuard(orig["padEnd"]),
		"concat": func(call goja.FunctionCall) goja.Value {
			if isNullish(call.This) {
				return s.call(orig["concat"], call.This, call.Arguments...)
			}
			// Convert once, so that toString side effects run once.
			args := make([]goja.Value, len(call.Arguments))
			total := stringLength(call.This.ToString())
			for i, a := range call.Arguments {
				args[i] = a.ToString()
				total += stringLength(args[i])
				s.checkStringLength(total)
			}
			return s.call(orig["concat"], call.This, args...)
		},
		"replace":    s.replaceGuard(orig["replace"]),
		"replaceAll": s.replaceGuard(orig["replaceAll"]),
	}
	for name, g := range guards {
		if err := s.define(proto, name, g); err != nil {
			return err
		}
	}
	// String.prototype.replace hands RegExp patterns to this method, and a
	// script can call it directly.
	re := s.vm.Get("RegExp").ToObject(s.vm).Get("prototype").ToObject(s.vm)
	symReplace, ok := goja.AssertFunction(re.GetSymbol(goja.SymReplace))
	if !ok {
		return fmt.Errorf("sandbox: no RegExp.prototype[Symbol.replace]")
	}
	guarded := s.native("[Symbol.replace]", 2, func(call goja.FunctionCall) goja.Value {
		str := call.Argument(0).ToString()
		return s.call(symReplace, call.This, str, s.boundedReplacement(str, call.Argument(1)))
	})
	return re.DefineDataPropertySymbol(goja.SymReplace, guarded, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

func isNullish(v goja.Value) bool {
	return v == nil || goja.IsUndefined(v) || goja.IsNull(v)
}

func (s *sandbox) padGuard(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if !isNullish(call.This) {
			s.checkStringLength(call.Argument(0).ToInteger())
		}
		return s.call(orig, call.This, call.Arguments...)
	}
}

func (s *sandbox) replaceGuard(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		if isNullish(call.This) {
			return s.call(orig, call.This, call.Arguments...)
		}
		str := call.This.ToString()
		return s.call(orig, str, call.Argument(0), s.boundedReplacement(str, call.Argument(1)))
	}
}

// boundedReplacement turns a replacement (a string with $ patterns, or a
// function) into a function that counts what it adds to the result and
// throws once the result would pass MaxStringLength: the built-in would
// otherwise assemble it natively, unbounded.
func (s *sandbox) boundedReplacement(str goja.Value, replacement goja.Value) goja.Value {
	budget := int64(s.lim.MaxStringLength) - stringLength(str)
	fn, isFunc := goja.AssertFunction(replacement)
	var template string
	if !isFunc {
		template = replacement.String()
	}
	return s.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		var out goja.Value
		if isFunc {
			out = s.call(fn, goja.Undefined(), call.Arguments...).ToString()
		} else {
			out = s.vm.ToValue(substitute(template, call.Arguments))
		}
		budget -= stringLength(out)
		if budget < 0 {
			s.stringTooLong()
		}
		return out
	})
}

// substitute expands a replacement template for one match, as
// GetSubstitution does: args are those a replacer function receives
// (match, captures…, position, string[, groups]).
func substitute(template string, args []goja.Value) string {
	if !strings.Contains(template, "$") {
		return template
	}
	n := len(args)
	var groups *goja.Object
	if n > 0 {
		if g, ok := args[n-1].(*goja.Object); ok {
			groups = g
			n--
		}
	}
	if n < 3 {
		return template
	}
	matched := args[0].String()
	position := args[n-2].ToInteger()
	captures := args[1 : n-2]
	// $` and $' are the parts of the string around the match, whose
	// position counts UTF-16 units: slice the string value itself.
	around := func(before bool) string {
		whole, ok := args[n-1].(goja.String)
		if !ok {
			return ""
		}
		end := position + stringLength(args[0])
		if position < 0 || end > int64(whole.Length()) {
			return ""
		}
		if before {
			return whole.Substring(0, int(position)).String()
		}
		return whole.Substring(int(end), whole.Length()).String()
	}
	var b strings.Builder
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '$' || i+1 == len(template) {
			b.WriteByte(c)
			continue
		}
		next := template[i+1]
		switch {
		case next == '$':
			b.WriteByte('$')
			i++
		case next == '&':
			b.WriteString(matched)
			i++
		case next == '`':
			b.WriteString(around(true))
			i++
		case next == '\'':
			b.WriteString(around(false))
			i++
		case next >= '0' && next <= '9':
			// $n or $nn, the longest that names a capture.
			idx, width := int(next-'0'), 1
			if i+2 < len(template) && template[i+2] >= '0' && template[i+2] <= '9' {
				if two := idx*10 + int(template[i+2]-'0'); two >= 1 && two <= len(captures) {
					idx, width = two, 2
				}
			}
			if idx < 1 || idx > len(captures) {
				b.WriteByte(c)
				continue
			}
			if v := captures[idx-1]; !goja.IsUndefined(v) {
				b.WriteString(v.String())
			}
			i += width
		case next == '<' && groups != nil:
			end := strings.IndexByte(template[i+2:], '>')
			if end < 0 {
				b.WriteByte(c)
				continue
			}
			if v := groups.Get(template[i+2 : i+2+end]); v != nil && !goja.IsUndefined(v) {
				b.WriteString(v.String())
			}
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// guardArrays: the Array constructor refuses lengths past MaxArrayLength;
// every Array.prototype method refuses a receiver longer than that (they
// walk the length natively, holes included); join, toString and
// toLocaleString build their result within MaxStringLength; concat, flat
// and flatMap refuse results past MaxArrayLength; Array.from refuses
// array-likes past it. Iteration (for-of, spread, destructuring) goes
// through Array.prototype[Symbol.iterator], so it is covered too.
func (s *sandbox) guardArrays() error {
	arrayObj := s.vm.Get("Array").ToObject(s.vm)
	proto := arrayObj.Get("prototype").ToObject(s.vm)

	// Wrap every method first, from the originals.
	for _, name := range proto.GetOwnPropertyNames() {
		if name == "constructor" || name == "length" {
			continue
		}
		orig, ok := goja.AssertFunction(proto.Get(name))
		if !ok {
			continue
		}
		var impl func(goja.FunctionCall) goja.Value
		switch name {
		case "join":
			impl = func(call goja.FunctionCall) goja.Value { return s.join(call, "") }
		case "toLocaleString":
			impl = func(call goja.FunctionCall) goja.Value { return s.join(call, "toLocaleString") }
		case "concat":
			impl = s.concat(orig)
		case "flat":
			impl = s.flat(orig)
		case "flatMap":
			impl = s.flatMap(orig)
		default:
			impl = func(call goja.FunctionCall) goja.Value {
				s.checkArrayLength(s.lengthOf(call.This))
				return s.call(orig, call.This, call.Arguments...)
			}
		}
		if err := s.define(proto, name, impl); err != nil {
			return err
		}
	}
	values := proto.Get("values")
	if err := proto.DefineDataPropertySymbol(goja.SymIterator, values, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}

	from, err := method(arrayObj, "from")
	if err != nil {
		return err
	}
	if err := s.define(arrayObj, "from", func(call goja.FunctionCall) goja.Value {
		items := call.Argument(0)
		if obj, ok := items.(*goja.Object); ok {
			if it := obj.GetSymbol(goja.SymIterator); isNullish(it) {
				s.checkArrayLength(s.lengthOf(obj))
			}
		}
		return s.call(from, call.This, call.Arguments...)
	}); err != nil {
		return err
	}

	// The constructor: a native function standing in for Array (goja's
	// Proxy breaks instanceof), with the same prototype and statics.
	newArray, ok := goja.AssertConstructor(arrayObj)
	if !ok {
		return fmt.Errorf("sandbox: Array is not a constructor")
	}
	guarded := s.vm.ToValue(func(call goja.ConstructorCall) *goja.Object {
		if len(call.Arguments) == 1 && goja.IsNumber(call.Arguments[0]) {
			s.checkArrayLength(int64(call.Arguments[0].ToFloat()))
		}
		obj, err := newArray(call.NewTarget, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return obj
	}).(*goja.Object)
	if err := s.nameFunction(guarded, "Array", 1); err != nil {
		return err
	}
	if err := guarded.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		return err
	}
	for _, name := range []string{"from", "of", "isArray"} {
		if err := guarded.DefineDataProperty(name, arrayObj.Get(name), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
			return err
		}
	}
	species := s.native("get [Symbol.species]", 0, func(call goja.FunctionCall) goja.Value { return call.This })
	if err := guarded.DefineAccessorPropertySymbol(goja.SymSpecies, species, nil, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}
	if err := proto.DefineDataProperty("constructor", guarded, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE); err != nil {
		return err
	}
	return s.vm.GlobalObject().DefineDataProperty("Array", guarded, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// nameFunction gives a native function the name and length of the
// built-in it stands for (goja would show the Go function's name).
func (s *sandbox) nameFunction(fn *goja.Object, name string, length int) error {
	return errors.Join(
		fn.DefineDataProperty("name", s.vm.ToValue(name), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE),
		fn.DefineDataProperty("length", s.vm.ToValue(length), goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_FALSE),
	)
}

// join is Array.prototype.join (elemMethod "") and toLocaleString (each
// element's toLocaleString), built within MaxStringLength.
func (s *sandbox) join(call goja.FunctionCall, elemMethod string) goja.Value {
	obj := call.This.ToObject(s.vm)
	n := s.lengthOf(obj)
	s.checkArrayLength(n)
	sep := s.toString(s.vm.ToValue(","))
	if elemMethod == "" && !goja.IsUndefined(call.Argument(0)) {
		sep = s.toString(call.Argument(0))
	}
	sepLen := stringLength(sep)
	var b goja.StringBuilder
	var total int64
	for i := int64(0); i < n; i++ {
		if i > 0 {
			total += sepLen
			s.checkStringLength(total)
			b.WriteString(sep)
		}
		v := obj.Get(strconv.FormatInt(i, 10))
		if isNullish(v) {
			continue
		}
		if elemMethod != "" {
			fn, ok := goja.AssertFunction(v.ToObject(s.vm).Get(elemMethod))
			if !ok {
				s.typeErrorf("%s is not a function", elemMethod)
			}
			v = s.call(fn, v)
		}
		str := s.toString(v)
		total += int64(str.Length())
		s.checkStringLength(total)
		b.WriteString(str)
	}
	return b.String()
}

// isArray is IsArray for the values the guards inspect.
func isArray(v goja.Value) (*goja.Object, bool) {
	obj, ok := v.(*goja.Object)
	return obj, ok && obj.ClassName() == "Array"
}

func (s *sandbox) concat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		total := int64(1)
		if _, ok := isArray(call.This); ok {
			total = s.lengthOf(call.This)
		}
		for _, a := range call.Arguments {
			if arr, ok := isArray(a); ok {
				total += s.lengthOf(arr)
			} else {
				total++
			}
			s.checkArrayLength(total)
		}
		return s.call(orig, call.This, call.Arguments...)
	}
}

func (s *sandbox) flat(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		depth := int64(1)
		if d := call.Argument(0); !goja.IsUndefined(d) {
			depth = d.ToInteger()
		}
		count := int64(0)
		s.countFlat(call.This.ToObject(s.vm), depth, &count)
		return s.call(orig, call.This, call.Arguments...)
	}
}

// countFlat counts the elements flat(depth) would produce, throwing as
// soon as there are too many (a cyclic array flattened to Infinity
// included).
func (s *sandbox) countFlat(arr *goja.Object, depth int64, count *int64) {
	n := s.lengthOf(arr)
	s.checkArrayLength(n)
	for i := int64(0); i < n; i++ {
		v := arr.Get(strconv.FormatInt(i, 10))
		if inner, ok := isArray(v); ok && depth > 0 {
			s.countFlat(inner, depth-1, count)
			continue
		}
		*count++
		s.checkArrayLength(*count)
	}
}

func (s *sandbox) flatMap(orig goja.Callable) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		s.checkArrayLength(s.lengthOf(call.This))
		fn, ok := goja.AssertFunction(call.Argument(0))
		if !ok {
			return s.call(orig, call.This, call.Arguments...)
		}
		var total int64
		counted := s.vm.ToValue(func(inner goja.FunctionCall) goja.Value {
			v := s.call(fn, inner.This, inner.Arguments...)
			if arr, ok := isArray(v); ok {
				total += s.lengthOf(arr)
			} else {
				total++
			}
			s.checkArrayLength(total)
			return v
		})
		return s.call(orig, call.This, counted, call.Argument(1))
	}
}

// guardCalls: Function.prototype.apply, Reflect.apply and
// Reflect.construct refuse argument lists past MaxArrayLength (they copy an
// array-like of any length into a native slice).
func (s *sandbox) guardCalls() error {
	fnProto := s.vm.Get("Function").ToObject(s.vm).Get("prototype").ToObject(s.vm)
	apply, err := method(fnProto, "apply")
	if err != nil {
		return err
	}
	if err := s.define(fnProto, "apply", func(call goja.FunctionCall) goja.Value {
		if args := call.Argument(1); !isNullish(args) {
			s.checkArrayLength(s.lengthOf(args))
		}
		return s.call(apply, call.This, call.Arguments...)
	}); err != nil {
		return err
	}
	reflect := s.vm.Get("Reflect").ToObject(s.vm)
	for name, argIndex := range map[string]int{"apply": 2, "construct": 1} {
		orig, err := method(reflect, name)
		if err != nil {
			return err
		}
		if err := s.define(reflect, name, func(call goja.FunctionCall) goja.Value {
			if args := call.Argument(argIndex); !isNullish(args) {
				s.checkArrayLength(s.lengthOf(args))
			}
			return s.call(orig, call.This, call.Arguments...)
		}); err != nil {
			return err
		}
	}
	return nil
}

// guardJSON: JSON.stringify is the package's budgeted serialiser (same
// rules, MaxStringLength at most); JSON.rawJSON and JSON.isRawJSON, which
// it does not support, are removed.
func (s *sandbox) guardJSON() error {
	jsonObj := s.vm.Get("JSON").ToObject(s.vm)
	for _, name := range []string{"rawJSON", "isRawJSON"} {
		if err := jsonObj.Delete(name); err != nil {
			return err
		}
	}
	return s.define(jsonObj, "stringify", func(call goja.FunctionCall) goja.Value {
		w := jsonWriter{vm: s.vm, limit: s.lim.MaxStringLength, gap: gapOf(call.Argument(2))}
		switch r := call.Argument(1).(type) {
		case *goja.Object:
			if fn, ok := goja.AssertFunction(r); ok {
				w.replacer = fn
			} else if r.ClassName() == "Array" {
				w.props = s.propertyList(r)
			}
		}
		value := call.Argument(0)
		var holder *goja.Object
		if w.replacer != nil {
			holder = s.vm.NewObject()
			if err := setData(holder, "", value); err != nil {
				panic(err)
			}
		}
		ok, err := w.property(holder, "", value)
		switch {
		case err == errJSONTooLarge:
			s.stringTooLong()
		case err != nil:
			if te, isType := err.(jsonTypeError); isType {
				s.typeErrorf("%s", string(te))
			}
			panic(err)
		case !ok:
			return goja.Undefined()
		}
		return s.vm.ToValue(string(w.buf))
	})
}

// propertyList is JSON.stringify's allow-list from a replacer array:
// strings and numbers (boxed or not), without repeats.
func (s *sandbox) propertyList(arr *goja.Object) []string {
	n := s.lengthOf(arr)
	s.checkArrayLength(n)
	seen := map[string]bool{}
	list := []string{}
	for i := int64(0); i < n; i++ {
		v := arr.Get(strconv.FormatInt(i, 10))
		if obj, ok := v.(*goja.Object); ok {
			if c := obj.ClassName(); c != "String" && c != "Number" {
				continue
			}
		} else if !goja.IsString(v) && !goja.IsNumber(v) {
			continue
		}
		k := v.String()
		if !seen[k] {
			seen[k] = true
			list = append(list, k)
		}
	}
	return list
}

// deepFreeze makes v and everything reachable from it read-only.
func (s *sandbox) deepFreeze(v goja.Value) error {
	obj, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	for _, k := range obj.Keys() {
		if err := s.deepFreeze(obj.Get(k)); err != nil {
			return err
		}
	}
	_, err := s.freeze(goja.Undefined(), obj)
	return err
}

// regexpMatchTimeout bounds one match of a regular expression that goja
// hands to regexp2 (those with backreferences or lookaround): a
// backtracking engine that Interrupt cannot stop. A match that times out
// finds nothing. RE2-compatible expressions run in linear time and need no
// bound. regexp2 reads this default when an expression is compiled, and
// goja is its only user in the gateway.
const regexpMatchTimeout = 100 * time.Millisecond

func init() {
	regexp2.DefaultMatchTimeout = regexpMatchTimeout
}
