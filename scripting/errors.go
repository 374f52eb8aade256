package scripting

import (
	"errors"
	"fmt"
)

// Kinds of plugin failure. Every error this package returns wraps one of
// them (test with errors.Is); most come inside an *Error that also says
// which plugin failed and where.
var (
	// ErrCompile: the source does not parse or compile, or running its top
	// level failed.
	ErrCompile = errors.New("compile error")
	// ErrNoHandler: the source defines no onEvent function.
	ErrNoHandler = errors.New("no onEvent function")
	// ErrSourceTooLarge: the source exceeds Limits.MaxSourceBytes.
	ErrSourceTooLarge = errors.New("source too large")
	// ErrConfig: the config is not a JSON object, is too large, or the
	// plugin's validateConfig rejected it.
	ErrConfig = errors.New("invalid config")
	// ErrException: the script threw.
	ErrException = errors.New("uncaught exception")
	// ErrTimeout: a call ran past its time budget and was interrupted.
	ErrTimeout = errors.New("time budget exceeded")
	// ErrStackOverflow: a call nested deeper than Limits.MaxCallStackSize.
	ErrStackOverflow = errors.New("call stack too deep")
	// ErrMemory: the heap grew by more than Limits.MaxHeapGrowth during a
	// call, which was interrupted.
	ErrMemory = errors.New("memory budget exceeded")
	// ErrOutput: onEvent returned something that is not an event, null or
	// an array of events, or events that are too large or too many.
	ErrOutput = errors.New("invalid result")
	// ErrInput: an event is not valid JSON or exceeds Limits.MaxEventBytes;
	// it is not given to plugins at all.
	ErrInput = errors.New("invalid event")
)

// Error is a plugin's failure with its place in the source, when known.
type Error struct {
	// Plugin is the plugin's name.
	Plugin string
	// Kind is one of the sentinel errors above.
	Kind error
	// Message says what went wrong, in the script's terms ("TypeError:
	// Cannot read property 'x' of undefined").
	Message string
	// Line and Column locate the failure in the source (1-based); zero
	// when unknown.
	Line, Column int
}

func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	msg := fmt.Sprintf("plugin %q: %v", e.Plugin, e.Kind)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Line > 0 {
		msg += fmt.Sprintf(" (line %d, column %d)", e.Line, e.Column)
	}
	return msg
}

func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Kind
}
