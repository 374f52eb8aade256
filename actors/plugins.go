package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/plugins"
	"github.com/wa-gateway/wa-gateway/scripting"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The plugin step of the event pipeline (API.md §7): each workspace's
// JavaScript plugins run, in order, over its events between the outbox and
// the log, so that webhooks, SSE and WebSocket all carry what they let
// through. A workspace's chain is compiled from storage, kept while the
// workspace's plugins revision stays the same, and only ever run by that
// workspace's actor: goja runtimes are not goroutine-safe.

// EventPluginDisabled is the type of the event that says the gateway
// disabled a plugin.
const EventPluginDisabled = "plugin.disabled"

const (
	// maxReplyBatches bounds the batches of ctx.reply sends in flight
	// across the gateway; a batch past it is refused rather than queued,
	// so that a flood of replies cannot pile up goroutines.
	maxReplyBatches = 16
	// replySendTimeout bounds one reply's admission.
	replySendTimeout = 10 * time.Second
)

// pluginDisabledData is the data of plugin.disabled.
type pluginDisabledData struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
	// Failures is how many calls failed in a row (0 when the plugin no
	// longer compiles).
	Failures int `json:"failures"`
}

// PluginStats counts what the plugin step did since the gateway started.
type PluginStats struct {
	// Calls counts onEvent calls; Failures those that failed (the event
	// went on unchanged); Dropped the events plugins removed; Disabled the
	// plugins the gateway disabled.
	Calls, Failures, Dropped, Disabled int64
	// RepliesSent counts ctx.reply sends admitted; RepliesRefused those
	// refused by the device's rate limit or because too many were in
	// flight; RepliesFailed those that failed otherwise (device gone or
	// not connected, invalid chat).
	RepliesSent, RepliesRefused, RepliesFailed int64
	// Time is the time spent running the workspaces' chains over batches
	// of events.
	Time time.Duration
}

// PluginStats returns the plugin step's counters.
func (g *Gateway) PluginStats() PluginStats {
	p, ok := g.processor.(*pluginProcessor)
	if !ok {
		return PluginStats{}
	}
	return PluginStats{
		Calls: p.calls.Load(), Failures: p.failures.Load(), Dropped: p.dropped.Load(), Disabled: p.disabled.Load(),
		RepliesSent: p.repliesSent.Load(), RepliesRefused: p.repliesRefused.Load(), RepliesFailed: p.repliesFailed.Load(),
		Time: time.Duration(p.busy.Load()),
	}
}

// errPluginChanged stops disabling a plugin that was changed, re-enabled
// or deleted since the chain that failed was loaded: the failures were
// another version's.
var errPluginChanged = errors.New("plugin changed since it was loaded")

// pluginProcessor is the eventProcessor that runs plugins.
type pluginProcessor struct {
	g      *Gateway
	limits scripting.Limits

	// mu guards the map only: each workspacePlugins is used by its
	// workspace's actor alone (Process is only called from there).
	mu         sync.Mutex
	workspaces map[int64]*workspacePlugins

	// replySlots holds one token per batch of replies being sent.
	replySlots chan struct{}
	// replying counts the goroutines sending replies, for Gateway.Stop.
	replying sync.WaitGroup

	calls, failures, dropped, disabled         atomic.Int64
	repliesSent, repliesRefused, repliesFailed atomic.Int64
	busy                                       atomic.Int64 // nanoseconds in Apply
}

// workspacePlugins is one workspace's loaded chain.
type workspacePlugins struct {
	log    *slog.Logger
	loaded bool
	rev    uint64
	chain  *scripting.Chain // nil: no enabled plugins
	// stored are the plugins as loaded, by id: a failure disables only
	// the version that failed.
	stored map[string]storage.Plugin
}

func newPluginProcessor(g *Gateway) *pluginProcessor {
	return &pluginProcessor{
		g:          g,
		limits:     scripting.DefaultLimits(),
		workspaces: make(map[int64]*workspacePlugins),
		replySlots: make(chan struct{}, maxReplyBatches),
	}
}

var _ eventProcessor = (*pluginProcessor)(nil)

func (p *pluginProcessor) state(ws int64) *workspacePlugins {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.workspaces[ws]
	if !ok {
		st = &workspacePlugins{log: p.g.log.With("workspace", ws)}
		p.workspaces[ws] = st
	}
	return st
}

// Process runs the workspace's chain over evs. Failed calls leave their
// events unchanged; plugins the chain gives up on are disabled and a
// plugin.disabled event is logged after the batch; replies go out as
// ordinary sends, off the workspace actor.
func (p *pluginProcessor) Process(ws int64, evs []storage.Event) []storage.Event {
	st := p.state(ws)
	notices := p.reload(ws, st)
	if st.chain == nil || st.chain.Len() == 0 || len(evs) == 0 {
		return append(evs, notices...)
	}
	in := make([]scripting.Event, len(evs))
	for i, e := range evs {
		in[i] = scripting.Event(e)
	}
	// A stopping gateway skips the remaining calls: events go on as they are.
	start := time.Now()
	out, replies, rep := st.chain.Apply(p.g.webhookCtx, in)
	p.busy.Add(int64(time.Since(start)))
	p.calls.Add(int64(rep.Calls))
	p.failures.Add(int64(len(rep.Failures)))
	p.dropped.Add(int64(rep.Dropped))

	logged := make([]storage.Event, 0, len(out)+len(notices)+len(rep.Disable))
	for _, e := range out {
		logged = append(logged, storage.Event(e))
	}
	logged = append(logged, notices...)
	for _, d := range rep.Disable {
		reason := fmt.Sprintf("failed %d times in a row; last: %v", d.Failures, d.Err)
		if ev, ok := p.disable(ws, st, d.PluginID, d.Plugin, reason, d.Failures); ok {
			logged = append(logged, ev)
		}
	}
	p.sendReplies(ws, st.log, replies)
	return logged
}

// reload compiles the workspace's chain again when its plugins changed. It
// returns the plugin.disabled events of plugins that no longer compile.
// When storage cannot be read, the chain loaded before keeps running.
func (p *pluginProcessor) reload(ws int64, st *workspacePlugins) []storage.Event {
	rev, err := p.g.db.PluginRevision(ws)
	if err != nil {
		st.log.Error("read plugins revision", "err", err)
		return nil
	}
	if st.loaded && rev == st.rev {
		return nil
	}
	if rev == 0 { // the workspace never had a plugin
		st.loaded, st.rev, st.chain, st.stored = true, 0, nil, nil
		return nil
	}
	stored, rev, err := p.g.db.ListPlugins(ws)
	if err != nil {
		st.log.Error("load plugins", "err", err)
		return nil
	}
	defs := make([]plugins.Definition, 0, len(stored))
	byID := make(map[string]storage.Plugin, len(stored))
	for _, sp := range stored {
		byID[sp.ID] = sp
		defs = append(defs, plugins.Definition{
			ID: sp.ID, Name: sp.Name, Bundled: sp.Bundled, Source: sp.Source, Config: sp.Config,
			Events: sp.Events, DeviceID: sp.DeviceID, Enabled: sp.Enabled,
		})
	}
	chain, failed := plugins.NewChain(defs, p.limits, scripting.ChainOptions{Logger: st.log})
	st.loaded, st.rev, st.chain, st.stored = true, rev, chain, byID
	if chain.Len() > 0 || len(failed) > 0 {
		st.log.Info("plugins loaded", "running", chain.Len(), "failed", len(failed), "revision", rev)
	}
	var notices []storage.Event
	for _, f := range failed {
		if ev, ok := p.disable(ws, st, f.PluginID, f.Plugin, "no longer loads: "+f.Err.Error(), 0); ok {
			notices = append(notices, ev)
		}
	}
	return notices
}

// disable records that the gateway disabled a plugin and returns the
// plugin.disabled event to log. Nothing is done when the plugin changed
// since it was loaded (its new version has not failed) or is gone.
func (p *pluginProcessor) disable(ws int64, st *workspacePlugins, id, name, reason string, failures int) (storage.Event, bool) {
	loaded, known := st.stored[id]
	_, err := p.g.db.UpdatePlugin(ws, id, func(sp *storage.Plugin) error {
		if !known || !sp.Enabled || !sp.UpdatedAt.Equal(loaded.UpdatedAt) {
			return errPluginChanged
		}
		sp.Enabled, sp.DisabledReason, sp.UpdatedAt = false, reason, time.Now().UTC()
		return nil
	})
	switch {
	case errors.Is(err, errPluginChanged), errors.Is(err, storage.ErrNotFound):
		st.log.Info("failing plugin changed meanwhile; left as it is", "plugin", name, "pluginId", id)
		return storage.Event{}, false
	case err != nil:
		// The chain stops calling it anyway; storage says otherwise until
		// the next reload, which tries again if it still fails.
		st.log.Error("disable plugin", "plugin", name, "pluginId", id, "err", err)
		return storage.Event{}, false
	}
	p.disabled.Add(1)
	st.log.Warn("plugin disabled", "plugin", name, "pluginId", id, "reason", reason)
	ev, err := newEvent(ws, 0, EventPluginDisabled, pluginDisabledData{ID: id, Name: name, Reason: reason, Failures: failures})
	if err != nil {
		st.log.Error("plugin.disabled event", "err", err)
		return storage.Event{}, false
	}
	return ev, true
}

// sendReplies sends a batch's ctx.reply texts, in order, as ordinary sends
// (admitted against the device's rate limit, queued and paced), from a
// goroutine of their own so that the workspace actor never waits on a
// device. A refused reply is counted and logged, never retried: the
// plugin asked once, for this event.
func (p *pluginProcessor) sendReplies(ws int64, log *slog.Logger, replies []scripting.Reply) {
	if len(replies) == 0 {
		return
	}
	select {
	case p.replySlots <- struct{}{}:
	default:
		p.repliesRefused.Add(int64(len(replies)))
		log.Warn("plugin replies refused: too many in flight", "count", len(replies))
		return
	}
	p.replying.Add(1)
	go func() {
		defer p.replying.Done()
		defer func() { <-p.replySlots }()
		for _, r := range replies {
			p.sendReply(ws, log, r)
		}
	}()
}

func (p *pluginProcessor) sendReply(ws int64, log *slog.Logger, r scripting.Reply) {
	log = log.With("plugin", r.Plugin, "pluginId", r.PluginID, "event", r.EventID, "device", r.DeviceID)
	to, err := engine.ParseRecipient(r.Chat)
	if err != nil {
		p.repliesFailed.Add(1)
		log.Warn("plugin reply not sent", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(p.g.webhookCtx, replySendTimeout)
	defer cancel()
	res, err := p.g.Send(ctx, ws, SendRequest{DeviceID: r.DeviceID, To: to, Type: engine.TypeText, Text: r.Text, QuotedID: r.InReplyTo})
	var limited *RateLimitedError
	switch {
	case err == nil:
		p.repliesSent.Add(1)
		log.Debug("plugin reply queued", "message", res.Message.ID)
	case errors.As(err, &limited):
		p.repliesRefused.Add(1)
		log.Warn("plugin reply refused by the device's rate limit", "retryAfter", limited.State.RetryAfter)
	default:
		p.repliesFailed.Add(1)
		log.Warn("plugin reply not sent", "err", err)
	}
}
