package scripting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// Spec describes a plugin to compile.
type Spec struct {
	// ID identifies the plugin in reports and replies (plg_…); any string.
	ID string
	// Name names it in errors and logs, and is the file name in stack
	// traces.
	Name string
	// Source is the JavaScript source; it must define onEvent(event, ctx).
	Source string
	// Config is a JSON object given to the script as ctx.config; empty
	// means {}.
	Config json.RawMessage
	// Events lists the event types the plugin sees; empty (or "*") means
	// every type.
	Events []string
	// DeviceID limits the plugin to one device's events; 0 means all.
	DeviceID int64
}

// runtimesKept is how many idle runtimes a Plugin keeps for reuse; a
// workspace calls its plugins from one goroutine, so one is the norm.
const runtimesKept = 2

// Plugin is a compiled plugin. Compiling is done once; each call borrows a
// sandboxed runtime loaded with the program. Safe for concurrent use.
type Plugin struct {
	spec   Spec
	lim    Limits
	prog   *goja.Program
	config []byte
	types  []string // nil: every type
	idle   chan *runtime
}

// Compile checks and compiles a plugin and loads it once: the source must
// parse, its top level must run within the budget, it must define
// onEvent, and, if it defines validateConfig(config), that must accept the
// config. Failures are *Error with kind ErrSourceTooLarge, ErrCompile
// (with line and column), ErrNoHandler or ErrConfig.
func Compile(spec Spec, lim Limits) (*Plugin, error) {
	lim = lim.withDefaults()
	if spec.Name == "" {
		spec.Name = "plugin"
	}
	p := &Plugin{spec: spec, lim: lim, idle: make(chan *runtime, runtimesKept)}
	if len(spec.Source) > lim.MaxSourceBytes {
		return nil, p.fail(ErrSourceTooLarge, fmt.Sprintf("the source has %d bytes; at most %d are allowed", len(spec.Source), lim.MaxSourceBytes), 0, 0)
	}
	config, err := normalizeConfig(spec.Config, lim.MaxConfigBytes)
	if err != nil {
		return nil, p.fail(ErrConfig, err.Error(), 0, 0)
	}
	p.config = config
	if !slices.Contains(spec.Events, "*") && len(spec.Events) > 0 {
		p.types = slices.Clone(spec.Events)
	}
	if p.prog, err = compileSource(spec.Name, spec.Source); err != nil {
		return nil, p.compileError(err)
	}
	rt, e := newRuntime(p)
	if e != nil {
		return nil, e
	}
	if e := rt.validateConfig(); e != nil {
		return nil, e
	}
	p.put(rt)
	return p, nil
}

// compileSource parses (with source maps off: they would be read from the
// file system) and compiles in strict mode.
func compileSource(name, src string) (*goja.Program, error) {
	prg, err := parser.ParseFile(nil, name, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		return nil, err
	}
	return goja.CompileAST(prg, true)
}

// compileError locates a parse or compile error in the source.
func (p *Plugin) compileError(err error) *Error {
	var (
		list   parser.ErrorList
		one    *parser.Error
		syntax *goja.CompilerSyntaxError
		ref    *goja.CompilerReferenceError
	)
	switch {
	case errors.As(err, &list) && len(list) > 0:
		return p.fail(ErrCompile, "SyntaxError: "+list[0].Message, list[0].Position.Line, list[0].Position.Column)
	case errors.As(err, &one):
		return p.fail(ErrCompile, "SyntaxError: "+one.Message, one.Position.Line, one.Position.Column)
	case errors.As(err, &syntax):
		line, col := filePosition(syntax.File, syntax.Offset)
		return p.fail(ErrCompile, "SyntaxError: "+syntax.Message, line, col)
	case errors.As(err, &ref):
		line, col := filePosition(ref.File, ref.Offset)
		return p.fail(ErrCompile, "ReferenceError: "+ref.Message, line, col)
	}
	return p.fail(ErrCompile, err.Error(), 0, 0)
}

// filePosition is the line and column of an offset in a parsed file.
func filePosition(f *file.File, offset int) (int, int) {
	if f == nil {
		return 0, 0
	}
	pos := f.Position(offset)
	return pos.Line, pos.Column
}

// normalizeConfig checks that config is a JSON object within limit and
// returns it, {} when empty.
func normalizeConfig(config json.RawMessage, limit int) ([]byte, error) {
	trimmed := bytes.TrimSpace(config)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return []byte("{}"), nil
	}
	if len(trimmed) > limit {
		return nil, fmt.Errorf("config has %d bytes as JSON; at most %d are allowed", len(trimmed), limit)
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, errors.New("config must be a JSON object")
	}
	return trimmed, nil
}

func (p *Plugin) fail(kind error, msg string, line, col int) *Error {
	return &Error{Plugin: p.spec.Name, Kind: kind, Message: msg, Line: line, Column: col}
}

// Spec returns what the plugin was compiled from.
func (p *Plugin) Spec() Spec { return p.spec }

// ID returns the plugin's id.
func (p *Plugin) ID() string { return p.spec.ID }

// Name returns the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

// Matches reports whether the plugin wants ev, by type and device.
func (p *Plugin) Matches(ev *Event) bool {
	if p.spec.DeviceID != 0 && ev.DeviceID != p.spec.DeviceID {
		return false
	}
	return p.types == nil || slices.Contains(p.types, ev.Type)
}

// Call runs onEvent(event, ctx) once, with now as ctx.now (and as the
// clock of Date). It never fails as a Go call: a failure is in
// Outcome.Err, and then Outcome.Events is the event unchanged. Call does
// not check Matches.
func (p *Plugin) Call(ev Event, now time.Time) (out Outcome) {
	start := time.Now()
	defer func() { out.Duration = time.Since(start) }()
	unchanged := func(e *Error) Outcome {
		return Outcome{Events: []Event{ev}, Logs: out.Logs, Err: e}
	}
	if len(ev.Data) > p.lim.MaxEventBytes {
		return unchanged(p.fail(ErrInput, fmt.Sprintf("the event's data has %d bytes; plugins take at most %d", len(ev.Data), p.lim.MaxEventBytes), 0, 0))
	}
	rt, e := p.get()
	if e != nil {
		return unchanged(e)
	}
	defer func() {
		// A panic here is a bug of the script engine that a script
		// reached: the runtime is dropped and the event goes on.
		if x := recover(); x != nil {
			rt.broken = true
			out = unchanged(p.fail(ErrException, fmt.Sprintf("internal error of the script engine: %v", x), 0, 0))
		}
		rt.state = nil
		p.put(rt)
	}()
	events, e := rt.handle(&ev, now)
	out.Logs = rt.state.logs
	if e != nil {
		return unchanged(e)
	}
	out.Events, out.Replies = events, rt.state.replies
	return out
}

// get borrows an idle runtime or makes one.
func (p *Plugin) get() (*runtime, *Error) {
	select {
	case rt := <-p.idle:
		return rt, nil
	default:
		return newRuntime(p)
	}
}

// put returns a runtime for reuse, unless it is broken or enough are idle.
func (p *Plugin) put(rt *runtime) {
	if rt.broken {
		return
	}
	select {
	case p.idle <- rt:
	default:
	}
}

// validateConfig calls the script's validateConfig(config, ctx), when it
// has one; a throw rejects the config.
func (rt *runtime) validateConfig() *Error {
	fn, ok := goja.AssertFunction(rt.vm.Get("validateConfig"))
	if !ok {
		return nil
	}
	rt.state = &callState{event: &Event{}, now: time.Now()}
	defer func() { rt.state = nil }()
	e := rt.guarded(func() {
		if _, err := fn(goja.Undefined(), rt.ctx.Get("config"), rt.ctx); err != nil {
			panic(err)
		}
	})
	if e != nil && e.Kind == ErrException {
		e.Kind = ErrConfig
	}
	return e
}
