package scripting

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/metrics"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// heapCheckInterval is how often the watchdog of a running call looks at
// the heap. Calls shorter than that (nearly all) never pay for a look.
const heapCheckInterval = time.Millisecond

// runtime is one goja runtime loaded with a plugin: not safe for
// concurrent use, so a Plugin hands each to one caller at a time.
type runtime struct {
	p       *Plugin
	vm      *goja.Runtime
	sb      *sandbox
	onEvent goja.Callable
	ctx     *goja.Object
	runner  goja.Callable
	work    func()
	watch   *watchdog
	state   *callState
	// broken: an interrupt or stack overflow left the script's globals
	// in an unknown state; the runtime is dropped rather than reused.
	broken bool
}

// callState is what one call accumulates through ctx.
type callState struct {
	event   *Event
	now     time.Time
	logs    []string
	replies []Reply
	target  *replyTarget
}

// replyTarget is what ctx.reply needs from the event's data.
type replyTarget struct {
	ID     string `json:"id"`
	Chat   string `json:"chat"`
	FromMe bool   `json:"fromMe"`
}

// newRuntime builds a sandboxed runtime, runs the plugin's top level in it
// and finds onEvent.
func newRuntime(p *Plugin) (*runtime, *Error) {
	vm := goja.New()
	rt := &runtime{p: p, vm: vm}
	// Source maps would be read from the file system by path.
	vm.SetParserOptions(parser.WithDisableSourceMaps)
	vm.SetMaxCallStackSize(p.lim.MaxCallStackSize)
	vm.SetTimeSource(rt.clock)
	rt.watch = newWatchdog(vm, p.lim)
	rt.runner, _ = goja.AssertFunction(vm.ToValue(func(goja.FunctionCall) goja.Value {
		rt.work()
		return goja.Undefined()
	}))
	sb, err := newSandbox(vm, p.lim)
	if err == nil {
		rt.sb = sb
		err = sb.install()
	}
	if err == nil {
		err = rt.buildCtx()
	}
	if err != nil {
		return nil, p.fail(ErrCompile, err.Error(), 0, 0)
	}

	rt.watch.start()
	_, err = vm.RunProgram(p.prog)
	var loadErr *Error
	if err != nil {
		// Described while still watched: describing may run script code.
		loadErr = rt.describe(err, rt.watch.reason())
	}
	rt.watch.stop()
	vm.ClearInterrupt()
	if loadErr != nil {
		if loadErr.Kind == ErrException {
			loadErr.Kind = ErrCompile
		}
		return nil, loadErr
	}
	fn, ok := goja.AssertFunction(vm.Get("onEvent"))
	if !ok {
		return nil, p.fail(ErrNoHandler, "the source must define function onEvent(event, ctx)", 0, 0)
	}
	rt.onEvent = fn
	return rt, nil
}

// clock is the runtime's time source: the time of the call in progress, so
// that new Date() inside a call agrees with ctx.now.
func (rt *runtime) clock() time.Time {
	if rt.state != nil {
		return rt.state.now
	}
	return time.Now()
}

// buildCtx makes the ctx object handed to every call: frozen, with the
// config deep-frozen, and the per-call parts (now, log, reply) reading the
// call in progress.
func (rt *runtime) buildCtx() error {
	vm := rt.vm
	ctx := vm.NewObject()
	config, err := parseJSON(vm, rt.p.config)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := rt.sb.deepFreeze(config); err != nil {
		return err
	}
	now := rt.sb.native("get now", 0, func(goja.FunctionCall) goja.Value {
		return vm.ToValue(rt.clock().UTC().Format(timeFormat))
	})
	for _, set := range []error{
		ctx.Set("config", config),
		ctx.DefineAccessorProperty("now", now, nil, goja.FLAG_FALSE, goja.FLAG_TRUE),
		ctx.Set("log", rt.sb.native("log", 0, rt.log)),
		ctx.Set("reply", rt.sb.native("reply", 1, rt.reply)),
		ctx.Set("localTime", rt.sb.native("localTime", 2, rt.localTime)),
	} {
		if set != nil {
			return set
		}
	}
	if _, err := rt.sb.freeze(goja.Undefined(), ctx); err != nil {
		return err
	}
	rt.ctx = ctx
	return nil
}

// timeFormat is how times reach scripts: RFC 3339 UTC with milliseconds,
// what Date.prototype.toISOString writes and new Date() reads.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// guarded runs f under the time and memory watchdog, as the body of a
// native call: JavaScript exceptions, interrupts and stack overflows come
// back as errors, already described.
func (rt *runtime) guarded(f func()) *Error {
	rt.work = f
	rt.watch.start()
	_, err := rt.runner(goja.Undefined())
	var e *Error
	if err != nil {
		// Describing an exception may run its toString: still watched.
		e = rt.describe(err, rt.watch.reason())
	}
	rt.watch.stop()
	rt.vm.ClearInterrupt()
	rt.work = nil
	return e
}

// describe turns an error of goja into an *Error of the plugin, with the
// position of the innermost frame of the plugin's own source.
func (rt *runtime) describe(err error, reason error) *Error {
	var (
		interrupted *goja.InterruptedError
		overflow    *goja.StackOverflowError
		exception   *goja.Exception
		own         *Error
	)
	switch {
	case errors.As(err, &own):
		return own
	case errors.As(err, &interrupted):
		rt.broken = true
		kind := reason
		if kind == nil {
			kind = ErrTimeout
		}
		line, col := rt.position(interrupted.Stack())
		return rt.p.fail(kind, budgetMessage(kind, rt.p.lim), line, col)
	case errors.As(err, &overflow):
		rt.broken = true
		line, col := rt.position(overflow.Stack())
		return rt.p.fail(ErrStackOverflow, fmt.Sprintf("RangeError: Maximum call stack size (%d) exceeded", rt.p.lim.MaxCallStackSize), line, col)
	case errors.As(err, &exception):
		line, col := rt.position(exception.Stack())
		msg := rt.exceptionMessage(exception)
		if why := rt.watch.reason(); why != nil {
			// Reading the message (a looping toString) used up the budget.
			rt.broken = true
			return rt.p.fail(why, budgetMessage(why, rt.p.lim), line, col)
		}
		return rt.p.fail(ErrException, msg, line, col)
	}
	return rt.p.fail(ErrException, err.Error(), 0, 0)
}

func budgetMessage(kind error, lim Limits) string {
	if kind == ErrMemory {
		return fmt.Sprintf("the heap grew by more than %d MiB during the call", lim.MaxHeapGrowth>>20)
	}
	return fmt.Sprintf("the call ran longer than %s", lim.Budget)
}

// exceptionMessage is String(thrown value), computed by the script's own
// toString under the watchdog; a throwing toString gives a generic text.
func (rt *runtime) exceptionMessage(ex *goja.Exception) string {
	msg := "uncaught exception"
	v := ex.Value()
	if v == nil {
		return msg
	}
	prev := rt.work
	rt.work = func() { msg = v.String() }
	if _, err := rt.runner(goja.Undefined()); err != nil {
		msg = "uncaught exception (its message could not be read)"
	}
	rt.work = prev
	return truncate(msg, 1<<10)
}

// position finds where in the plugin's source a stack points.
func (rt *runtime) position(stack []goja.StackFrame) (line, col int) {
	for i := range stack {
		if stack[i].SrcName() != rt.p.spec.Name {
			continue
		}
		if pos := stack[i].Position(); pos.Line > 0 {
			return pos.Line, pos.Column
		}
	}
	return 0, 0
}

// handle runs onEvent for one event. On success it returns the events that
// replace it; the call's logs and replies are in rt.state.
func (rt *runtime) handle(ev *Event, now time.Time) ([]Event, *Error) {
	rt.state = &callState{event: ev, now: now}
	var out []Event
	var failed *Error
	err := rt.guarded(func() {
		in, err := rt.eventValue(ev)
		if err != nil {
			failed = rt.p.fail(ErrInput, err.Error(), 0, 0)
			return
		}
		res, err := rt.onEvent(goja.Undefined(), in, rt.ctx)
		if err != nil {
			panic(err) // rethrown to guarded, which describes it
		}
		out, failed = rt.collect(res, ev)
	})
	if err != nil {
		return nil, err
	}
	return out, failed
}

// eventValue builds the event object a script receives.
func (rt *runtime) eventValue(ev *Event) (*goja.Object, error) {
	vm := rt.vm
	obj := vm.NewObject()
	data := ev.Data
	if len(data) == 0 || string(data) == "null" {
		data = json.RawMessage("{}")
	}
	dataValue, err := parseJSON(vm, data)
	if err != nil {
		return nil, err
	}
	if _, ok := dataValue.(*goja.Object); !ok || dataValue.(*goja.Object).ClassName() != "Object" {
		return nil, errors.New("data is not a JSON object")
	}
	sets := []error{obj.Set("id", ev.ID)}
	if ev.Seq > 0 {
		sets = append(sets, obj.Set("seq", int64(ev.Seq)))
	}
	sets = append(sets, obj.Set("type", ev.Type))
	if !ev.CreatedAt.IsZero() {
		sets = append(sets, obj.Set("createdAt", ev.CreatedAt.UTC().Format(timeFormat)))
	}
	sets = append(sets, obj.Set("workspaceId", ev.WorkspaceID))
	if ev.DeviceID != 0 {
		sets = append(sets, obj.Set("deviceId", ev.DeviceID))
	}
	sets = append(sets, obj.Set("data", dataValue))
	return obj, errors.Join(sets...)
}

// collect reads what onEvent returned: an event, null, or an array of
// events (null members are skipped).
func (rt *runtime) collect(res goja.Value, in *Event) ([]Event, *Error) {
	outputErr := func(format string, args ...any) ([]Event, *Error) {
		return nil, rt.p.fail(ErrOutput, fmt.Sprintf(format, args...), 0, 0)
	}
	switch {
	case res == nil || goja.IsUndefined(res):
		return outputErr("onEvent returned undefined; return the event, null to drop it, or an array of events")
	case goja.IsNull(res):
		return []Event{}, nil
	}
	obj, ok := res.(*goja.Object)
	if !ok {
		return outputErr("onEvent returned a %s; return the event, null to drop it, or an array of events", typeOf(res))
	}
	items := []goja.Value{obj}
	if obj.ClassName() == "Array" {
		n := obj.Get("length").ToInteger()
		if n > int64(rt.p.lim.MaxSplit) {
			return outputErr("onEvent returned %d events; at most %d are allowed", n, rt.p.lim.MaxSplit)
		}
		items = items[:0]
		for i := range n {
			items = append(items, obj.Get(fmt.Sprint(i)))
		}
	}
	out := make([]Event, 0, len(items))
	for i, item := range items {
		if isNullish(item) {
			continue
		}
		ev, err := rt.eventFrom(item, in)
		if err != nil {
			if len(items) > 1 || obj.ClassName() == "Array" {
				return outputErr("event %d: %v", i, err)
			}
			return outputErr("%v", err)
		}
		if len(out) > 0 {
			ev.ID = "" // a new event: the caller gives it an id
		}
		out = append(out, ev)
	}
	return out, nil
}

// eventFrom reads one returned event. Only type and data are the script's
// to change; the rest of the envelope is the gateway's and stays as given.
// A field left out keeps its value.
func (rt *runtime) eventFrom(v goja.Value, in *Event) (Event, error) {
	obj, ok := v.(*goja.Object)
	if !ok || obj.ClassName() != "Object" {
		return Event{}, fmt.Errorf("an event must be an object, not a %s", typeOf(v))
	}
	ev := *in
	if t := obj.Get("type"); !isNullish(t) {
		if !goja.IsString(t) || !ValidEventType(t.String()) {
			return Event{}, errors.New("type must be a string of lowercase letters, digits, '.', '_' or '-' (at most 64)")
		}
		ev.Type = t.String()
	}
	if d := obj.Get("data"); d != nil && !goja.IsUndefined(d) {
		data, ok, err := marshalValue(rt.vm, d, rt.p.lim.MaxEventBytes)
		switch {
		case err == errJSONTooLarge:
			return Event{}, fmt.Errorf("data is larger than %d bytes as JSON", rt.p.lim.MaxEventBytes)
		case err != nil:
			if te, isType := err.(jsonTypeError); isType {
				return Event{}, fmt.Errorf("data: %s", string(te))
			}
			return Event{}, err
		case !ok || len(data) == 0 || data[0] != '{':
			return Event{}, errors.New("data must be an object")
		}
		ev.Data = data
	}
	return ev, nil
}

// ValidEventType reports whether t can name an event type: 1 to 64 of
// [a-z0-9._-], starting with a letter or a digit.
func ValidEventType(t string) bool {
	if t == "" || len(t) > 64 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// typeOf names a value's type the way typeof does.
func typeOf(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case goja.IsString(v):
		return "string"
	case goja.IsNumber(v):
		return "number"
	case goja.IsBigInt(v):
		return "bigint"
	}
	switch x := v.(type) {
	case *goja.Symbol:
		return "symbol"
	case *goja.Object:
		if _, ok := goja.AssertFunction(x); ok {
			return "function"
		}
		if x.ClassName() == "Array" {
			return "array"
		}
		return "object"
	}
	return "boolean"
}

// log is ctx.log(...values): one line, values separated by spaces,
// non-strings as JSON.
func (rt *runtime) log(call goja.FunctionCall) goja.Value {
	st := rt.state
	if st == nil || len(st.logs) >= rt.p.lim.MaxLogLines {
		return goja.Undefined()
	}
	limit := rt.p.lim.MaxLogLineBytes
	var b strings.Builder
	for i, v := range call.Arguments {
		if i > 0 {
			b.WriteByte(' ')
		}
		if b.Len() > limit {
			break
		}
		if goja.IsString(v) {
			b.WriteString(v.String())
			continue
		}
		out, ok, err := marshalValue(rt.vm, v, limit)
		switch {
		case err == errJSONTooLarge:
			b.Write(out)
		case err != nil || !ok:
			b.WriteString(typeOf(v))
		default:
			b.Write(out)
		}
	}
	st.logs = append(st.logs, truncate(b.String(), limit))
	return goja.Undefined()
}

// truncate cuts s to at most n bytes on a character boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// reply is ctx.reply(text): it records a send to the chat of the
// message.received event being handled.
func (rt *runtime) reply(call goja.FunctionCall) goja.Value {
	st := rt.state
	if st == nil {
		rt.sb.typeErrorf("ctx.reply can only be called while handling an event")
	}
	text := call.Argument(0)
	if !goja.IsString(text) {
		rt.sb.typeErrorf("ctx.reply(text): text must be a string, not a %s", typeOf(text))
	}
	s := text.String()
	switch n := utf8.RuneCountInString(s); {
	case strings.TrimSpace(s) == "":
		rt.sb.typeErrorf("ctx.reply(text): text is empty")
	case n > rt.p.lim.MaxReplyChars:
		rt.sb.rangeErrorf("ctx.reply(text): text has %d characters; at most %d are allowed", n, rt.p.lim.MaxReplyChars)
	}
	if len(st.replies) >= rt.p.lim.MaxReplies {
		rt.sb.rangeErrorf("ctx.reply: at most %d replies per event", rt.p.lim.MaxReplies)
	}
	if st.target == nil {
		st.target = &replyTarget{}
		if st.event.Type == "message.received" {
			_ = json.Unmarshal(st.event.Data, st.target) // unreadable data leaves no chat: refused below
		}
	}
	switch {
	case st.event.Type != "message.received" || st.target.Chat == "":
		rt.sb.typeErrorf("ctx.reply can only answer message.received events with a chat")
	case st.target.FromMe:
		rt.sb.typeErrorf("ctx.reply does not answer the device's own messages")
	}
	st.replies = append(st.replies, Reply{
		PluginID:  rt.p.spec.ID,
		Plugin:    rt.p.spec.Name,
		EventID:   st.event.ID,
		DeviceID:  st.event.DeviceID,
		Chat:      st.target.Chat,
		InReplyTo: st.target.ID,
		Text:      s,
	})
	return goja.Undefined()
}

// watchdog interrupts a call that runs past its budget or makes the heap
// grow past the limit. One per runtime, re-armed for each call.
type watchdog struct {
	vm  *goja.Runtime
	lim Limits

	mu       sync.Mutex
	timer    *time.Timer
	running  bool
	deadline time.Time
	heapBase uint64 // 0 until the first look
	why      error  // ErrTimeout or ErrMemory once it interrupted
	sample   []metrics.Sample
}

func newWatchdog(vm *goja.Runtime, lim Limits) *watchdog {
	w := &watchdog{vm: vm, lim: lim, sample: []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}}
	w.timer = time.AfterFunc(time.Hour, w.tick)
	w.timer.Stop()
	return w
}

func (w *watchdog) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running, w.why, w.heapBase = true, nil, 0
	w.deadline = time.Now().Add(w.lim.Budget)
	w.timer.Reset(min(heapCheckInterval, w.lim.Budget))
}

// stop disarms the watchdog; no Interrupt happens after it returns. It
// reports why the watchdog interrupted, if it did.
func (w *watchdog) stop() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running = false
	w.timer.Stop()
	return w.why
}

func (w *watchdog) reason() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.why
}

func (w *watchdog) tick() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running || w.why != nil {
		return
	}
	left := time.Until(w.deadline)
	if left <= 0 {
		w.why = ErrTimeout
		w.vm.Interrupt(ErrTimeout)
		return
	}
	metrics.Read(w.sample)
	if w.sample[0].Value.Kind() == metrics.KindUint64 {
		heap := w.sample[0].Value.Uint64()
		switch {
		case w.heapBase == 0:
			w.heapBase = heap
		case heap > w.heapBase && heap-w.heapBase > w.lim.MaxHeapGrowth:
			w.why = ErrMemory
			w.vm.Interrupt(ErrMemory)
			return
		}
	}
	w.timer.Reset(min(heapCheckInterval, left))
}
