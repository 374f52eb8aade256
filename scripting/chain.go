package scripting

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"
)

// DefaultDisableAfter is how many failures in a row get a plugin disabled.
const DefaultDisableAfter = 5

// ChainOptions configure a Chain.
type ChainOptions struct {
	// Logger receives ctx.log lines (at debug level: they may quote
	// message text) and failures (at warn). Nil discards.
	Logger *slog.Logger
	// Now is the clock of ctx.now (default time.Now).
	Now func() time.Time
	// DisableAfter is how many failed calls in a row (throws, overruns,
	// invalid results; a success resets the count) make the chain stop
	// calling a plugin and report it in Report.Disable (default 5).
	DisableAfter int
	// MaxSplit caps how many events one event may become across the
	// whole chain (default: DefaultLimits().MaxSplit).
	MaxSplit int
}

// Chain runs a workspace's plugins, in order, over its events. It keeps
// each plugin's failure count between calls, so it is owned by one
// goroutine (the workspace's) and not safe for concurrent use.
type Chain struct {
	entries []*chainEntry
	opts    ChainOptions
}

type chainEntry struct {
	p        *Plugin
	failures int // in a row
	disabled bool
}

// NewChain makes a chain of plugins, run in the order given.
func NewChain(plugins []*Plugin, opts ChainOptions) *Chain {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = DefaultDisableAfter
	}
	if opts.MaxSplit <= 0 {
		opts.MaxSplit = DefaultLimits().MaxSplit
	}
	c := &Chain{opts: opts}
	for _, p := range plugins {
		c.entries = append(c.entries, &chainEntry{p: p})
	}
	return c
}

// Len is the number of plugins the chain still calls.
func (c *Chain) Len() int {
	n := 0
	for _, e := range c.entries {
		if !e.disabled {
			n++
		}
	}
	return n
}

// Failure is one failed call.
type Failure struct {
	PluginID string
	Plugin   string
	EventID  string
	Err      *Error
}

// Disable asks the caller to disable a plugin: it failed DisableAfter
// times in a row. The chain has stopped calling it; the caller records it
// (the plugin's enabled flag) and tells the workspace (plugin.disabled).
type Disable struct {
	PluginID string
	Plugin   string
	// Failures is the number of failures in a row; Err the last one.
	Failures int
	Err      *Error
}

// Report says what Apply did.
type Report struct {
	// Calls counts onEvent calls; Dropped the events given to Apply that
	// no longer exist after it.
	Calls   int
	Dropped int
	// Failures lists every failed call (the event went on unchanged).
	Failures []Failure
	// Disable lists the plugins to disable now.
	Disable []Disable
	// Skipped counts events not given to a plugin because they are not
	// valid events or are too large (not the plugin's failure).
	Skipped int
}

// Apply runs the chain over events, in order: each plugin sees the events
// the previous one let through (dropped, changed, split), filtered by its
// event types and device. It returns the events that remain, in order, the
// replies the plugins asked for, and a report. A failing call leaves its
// event unchanged. If ctx ends, the remaining calls are skipped and the
// events go on as they are.
func (c *Chain) Apply(ctx context.Context, events []Event) ([]Event, []Reply, Report) {
	var (
		out     = make([]Event, 0, len(events))
		replies []Reply
		report  Report
		now     = c.opts.Now()
	)
	for _, ev := range events {
		cur := []Event{ev}
		for _, entry := range c.entries {
			if entry.disabled || ctx.Err() != nil {
				continue
			}
			cur = c.run(entry, cur, now, &replies, &report)
		}
		if len(cur) == 0 {
			report.Dropped++
		}
		out = append(out, cur...)
	}
	return out, replies, report
}

// run gives one plugin the events of one original event.
func (c *Chain) run(entry *chainEntry, cur []Event, now time.Time, replies *[]Reply, report *Report) []Event {
	next := make([]Event, 0, len(cur))
	for i, ev := range cur {
		if entry.disabled || !entry.p.Matches(&ev) {
			next = append(next, ev)
			continue
		}
		report.Calls++
		o := entry.p.Call(ev, now)
		c.logLines(entry.p, ev.ID, o.Logs)
		// Events still to come from this plugin's input count towards the
		// split limit as they are.
		if o.Err == nil && len(next)+len(o.Events)+len(cur)-i-1 > c.opts.MaxSplit {
			o = Outcome{Events: []Event{ev}, Err: entry.p.fail(ErrOutput, "one event may become at most "+strconv.Itoa(c.opts.MaxSplit)+" events", 0, 0)}
		}
		switch {
		case o.Err != nil && errors.Is(o.Err, ErrInput):
			report.Skipped++
		case o.Err != nil:
			c.failed(entry, ev.ID, o.Err, report)
		default:
			entry.failures = 0
			*replies = append(*replies, o.Replies...)
		}
		next = append(next, o.Events...)
	}
	return next
}

func (c *Chain) failed(entry *chainEntry, eventID string, err *Error, report *Report) {
	entry.failures++
	report.Failures = append(report.Failures, Failure{PluginID: entry.p.ID(), Plugin: entry.p.Name(), EventID: eventID, Err: err})
	c.opts.Logger.Warn("plugin failed; event passed on unchanged", "plugin", entry.p.Name(), "pluginId", entry.p.ID(),
		"event", eventID, "failuresInARow", entry.failures, "err", err)
	if entry.failures >= c.opts.DisableAfter {
		entry.disabled = true
		report.Disable = append(report.Disable, Disable{PluginID: entry.p.ID(), Plugin: entry.p.Name(), Failures: entry.failures, Err: err})
	}
}

func (c *Chain) logLines(p *Plugin, eventID string, lines []string) {
	for _, line := range lines {
		c.opts.Logger.Debug("plugin log", "plugin", p.Name(), "pluginId", p.ID(), "event", eventID, "line", line)
	}
}
