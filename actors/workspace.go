package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/storage"
)

// Event log housekeeping.
const (
	// DefaultEventRetention is how long logged events are kept when the
	// configuration does not say; MinEventRetention is the least allowed
	// (API.md §6: resuming works for at least 24 h).
	DefaultEventRetention = 72 * time.Hour
	MinEventRetention     = 24 * time.Hour

	// compactEvery is how often a workspace removes expired events and
	// deliveries; the first run is within a minute of the start, jittered
	// so that workspaces started together do not compact together.
	compactEvery = time.Hour
	// maxDeliveriesKept bounds each webhook's deliveries log, whatever
	// the retention.
	maxDeliveriesKept = 10_000
	// drainPage is how many outbox entries one write logs during a drain.
	drainPage = 500
	// drainRetry is the wait before logging again after a failed write.
	drainRetry = time.Second
	// maxWebhooks bounds the webhooks of one workspace.
	maxWebhooks = 100
)

// rootActor supervises one workspace actor per workspace and routes
// ensureDevice and ensureWorkspace to it.
type rootActor struct {
	g          *Gateway
	workspaces map[int64]*actor.PID
}

func (r *rootActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.workspaces = make(map[int64]*actor.PID)
	case ensureDevice:
		pid, err := r.workspace(ctx, m.device.WorkspaceID)
		if err != nil {
			ctx.Respond(reply{err: err})
			return
		}
		ctx.RequestWithCustomSender(pid, m, ctx.Sender())
	case ensureWorkspace:
		pid, err := r.workspace(ctx, m.ws)
		ctx.Respond(reply{val: pid, err: err})
	case *actor.Terminated:
		for ws, pid := range r.workspaces {
			if pid.Equal(m.Who) {
				delete(r.workspaces, ws)
			}
		}
	}
}

func (r *rootActor) workspace(ctx actor.Context, ws int64) (*actor.PID, error) {
	if pid, ok := r.workspaces[ws]; ok {
		return pid, nil
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newWorkspaceActor(r.g, ws) },
		actor.WithSupervisor(deviceSupervisor()))
	pid, err := ctx.SpawnNamed(props, fmt.Sprintf("ws-%d", ws))
	if err != nil {
		return nil, fmt.Errorf("spawn workspace %d: %w", ws, err)
	}
	r.workspaces[ws] = pid
	return pid, nil
}

// workspaceActor is the single writer of its workspace's event log (so seq
// has no gaps) and of its webhooks' records, and the parent of the
// workspace's device and webhook actors.
//
// The pipeline of an event: a device actor stores it in the workspace's
// outbox with the change that caused it and sends eventsStored → the
// events stored meanwhile are gathered until flushEvents → those already
// logged (after a restart) are dropped → process: the step where the
// workspace's JavaScript plugins filter and transform → seq assigned →
// logged, and removed from the outbox, in one synced write → published to
// the hub (SSE, WebSocket) and to the webhook actors.
//
// After a restart (of the process or of this actor) the outbox is drained
// first, so that what was stored before the crash is logged before
// anything new.
type workspaceActor struct {
	g        *Gateway
	ws       int64
	log      *slog.Logger
	self     *actor.PID
	sys      *actor.ActorSystem
	seq      uint64
	devices  map[int64]*actor.PID
	webhooks map[string]*actor.PID

	gathered []storage.Event // stored, waiting for flushEvents
	flushing bool            // a flushEvents is on its way
	// stalled is set after a failed write: the outbox then holds events
	// that later ones must not overtake, so everything goes through a
	// drain until one succeeds.
	stalled      bool
	drainTimer   *time.Timer
	compactTimer *time.Timer
}

func newWorkspaceActor(g *Gateway, ws int64) *workspaceActor {
	return &workspaceActor{g: g, ws: ws, log: g.log.With("workspace", ws)}
}

func (w *workspaceActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.started(ctx)
	case *actor.Restarting:
		w.log.Warn("workspace actor restarting")
		w.stopTimers()
	case *actor.Stopping:
		w.stopTimers()
	case ensureDevice:
		pid, err := w.device(ctx, m.device)
		ctx.Respond(reply{val: pid, err: err})
	case eventsStored:
		w.gathered = append(w.gathered, m.events...)
		if !w.flushing {
			w.flushing = true
			ctx.Send(w.self, flushEvents{})
		}
	case flushEvents:
		w.flushing = false
		evs := w.gathered
		w.gathered = nil
		if w.stalled {
			return // in the outbox; the pending drain logs them in order
		}
		w.commit(ctx, evs, true)
	case drainOutbox:
		w.drain(ctx)
	case compactLog:
		w.compact()
		w.compactTimer = w.after(compactEvery, compactLog{})
	case cmdCreateWebhook:
		ctx.Respond(w.createWebhook(ctx, m.hook))
	case cmdChangeWebhook:
		ctx.Respond(w.changeWebhook(ctx, m.id, m.change))
	case cmdDeleteWebhook:
		ctx.Respond(w.deleteWebhook(ctx, m.id))
	case webhookGone:
		r := w.changeWebhook(ctx, m.id, func(h *storage.Webhook) error {
			h.Disabled, h.DisabledReason = true, "the endpoint answered 410 Gone"
			return nil
		})
		if r.err != nil && !errors.Is(r.err, ErrWebhookNotFound) {
			w.log.Error("disable webhook", "webhook", m.id, "err", r.err)
		}
	case *actor.Terminated:
		for id, pid := range w.devices {
			if pid.Equal(m.Who) {
				delete(w.devices, id)
				w.g.forgetDevice(id, pid)
			}
		}
		for id, pid := range w.webhooks {
			if pid.Equal(m.Who) {
				delete(w.webhooks, id)
			}
		}
	}
}

func (w *workspaceActor) started(ctx actor.Context) {
	w.self, w.sys = ctx.Self(), ctx.ActorSystem()
	w.devices = make(map[int64]*actor.PID)
	w.webhooks = make(map[string]*actor.PID)
	w.gathered, w.flushing, w.stalled = nil, false, false
	seq, err := w.g.db.LastEventSeq(w.ws)
	if err != nil {
		// Without the last seq the log could get duplicate seqs: fail
		// loudly and let supervision retry.
		panic(fmt.Errorf("workspace %d: read last event seq: %w", w.ws, err))
	}
	w.seq = seq
	w.drain(ctx)

	hooks, err := w.g.db.ListWebhooks(w.ws)
	if err != nil {
		panic(fmt.Errorf("workspace %d: list webhooks: %w", w.ws, err))
	}
	for _, h := range hooks {
		if _, err := w.spawnWebhook(ctx, h.ID); err != nil {
			w.log.Error("start webhook", "webhook", h.ID, "err", err)
		}
	}
	w.compactTimer = w.after(time.Minute/2+rand.N(time.Minute/2), compactLog{})
}

func (w *workspaceActor) device(ctx actor.Context, d storage.Device) (*actor.PID, error) {
	if pid, ok := w.devices[d.ID]; ok {
		return pid, nil
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newDeviceActor(w.g, d) })
	pid, err := ctx.SpawnNamed(props, fmt.Sprintf("dev-%d", d.ID))
	if err != nil {
		return nil, fmt.Errorf("spawn device %d: %w", d.ID, err)
	}
	w.devices[d.ID] = pid
	return pid, nil
}

// ---- the event log

// commit logs events that are in the outbox. With check, events already
// logged by a drain (their outbox entry is gone) are dropped first: a
// device's eventsStored can arrive after a restart logged its events.
// It reports whether the write succeeded; after a failure the events stay
// in the outbox and a drain is scheduled.
func (w *workspaceActor) commit(ctx actor.Context, evs []storage.Event, check bool) bool {
	if len(evs) == 0 {
		return true
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	if check {
		pending, err := w.g.db.StillPending(w.ws, ids)
		if err != nil {
			w.log.Error("read event outbox", "err", err)
			w.stall()
			return false
		}
		kept, keptIDs := evs[:0:0], ids[:0:0]
		for i, e := range evs {
			if pending[i] {
				kept, keptIDs = append(kept, e), append(keptIDs, e.ID)
			}
		}
		evs, ids = kept, keptIDs
		if len(evs) == 0 {
			return true
		}
	}

	// The plugin step (ARCHITECTURE.md, "Receive").
	logged := w.g.processor.Process(w.ws, slices.Clone(evs))

	now := time.Now().UTC()
	for i := range logged {
		e := &logged[i]
		if e.ID == "" {
			e.ID = storage.NewEventID()
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
		e.WorkspaceID = w.ws
		e.Seq = w.seq + uint64(i) + 1
	}
	if err := w.g.db.CommitEvents(w.ws, logged, ids); err != nil {
		w.log.Error("log events", "count", len(logged), "err", err)
		w.stall()
		return false
	}
	w.seq += uint64(len(logged))
	if len(logged) == 0 {
		return true
	}
	w.g.hub.publish(w.ws, logged)
	for _, pid := range w.webhooks {
		ctx.Send(pid, eventsLogged{events: logged})
	}
	return true
}

// drain logs everything in the outbox, oldest first.
func (w *workspaceActor) drain(ctx actor.Context) {
	after := ""
	for {
		evs, err := w.g.db.PendingEvents(w.ws, after, drainPage)
		if err != nil {
			w.log.Error("read event outbox", "err", err)
			w.stall()
			return
		}
		if len(evs) == 0 {
			w.stalled = false
			return
		}
		if !w.commit(ctx, evs, false) {
			return
		}
		after = evs[len(evs)-1].ID
	}
}

// stall holds new events back (they wait in the outbox) and drains again
// after a pause.
func (w *workspaceActor) stall() {
	w.stalled = true
	if w.drainTimer != nil {
		w.drainTimer.Stop()
	}
	w.drainTimer = w.after(drainRetry, drainOutbox{})
}

// compact removes events and deliveries older than the retention. A
// webhook that is further behind than the retention loses those events:
// its actor records them as expired when it reads past the gap.
func (w *workspaceActor) compact() {
	cutoff := time.Now().Add(-w.g.retention)
	if n, err := w.g.db.CompactEvents(w.ws, cutoff); err != nil {
		w.log.Error("compact event log", "err", err)
	} else if n > 0 {
		w.log.Info("expired events removed", "count", n)
	}
	for id := range w.webhooks {
		if _, err := w.g.db.CompactDeliveries(w.ws, id, cutoff, maxDeliveriesKept); err != nil {
			w.log.Error("compact deliveries", "webhook", id, "err", err)
		}
	}
}

// after sends msg to the actor itself after d.
func (w *workspaceActor) after(d time.Duration, msg any) *time.Timer {
	self, sys := w.self, w.sys
	return time.AfterFunc(d, func() { sys.Root.Send(self, msg) })
}

func (w *workspaceActor) stopTimers() {
	for _, t := range []*time.Timer{w.drainTimer, w.compactTimer} {
		if t != nil {
			t.Stop()
		}
	}
	w.drainTimer, w.compactTimer = nil, nil
}

// ---- webhooks

func (w *workspaceActor) spawnWebhook(ctx actor.Context, id string) (*actor.PID, error) {
	if pid, ok := w.webhooks[id]; ok {
		return pid, nil
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newWebhookActor(w.g, w.ws, id) })
	pid, err := ctx.SpawnNamed(props, "wh-"+id)
	if err != nil {
		return nil, fmt.Errorf("spawn webhook %s: %w", id, err)
	}
	w.webhooks[id] = pid
	return pid, nil
}

// createWebhook stores a webhook whose cursor is the end of the log (it
// receives the events logged from now on) and starts its actor.
func (w *workspaceActor) createWebhook(ctx actor.Context, h storage.Webhook) reply {
	if len(w.webhooks) >= maxWebhooks {
		return reply{err: ErrWebhookLimit}
	}
	if err := w.g.db.CreateWebhook(h, w.seq); err != nil {
		return reply{err: fmt.Errorf("store webhook: %w", err)}
	}
	if _, err := w.spawnWebhook(ctx, h.ID); err != nil {
		w.log.Error("start webhook", "webhook", h.ID, "err", err)
	}
	return reply{val: h}
}

func (w *workspaceActor) changeWebhook(ctx actor.Context, id string, change func(*storage.Webhook) error) reply {
	h, err := w.g.db.GetWebhook(w.ws, id)
	if errors.Is(err, storage.ErrNotFound) {
		return reply{err: ErrWebhookNotFound}
	}
	if err != nil {
		return reply{err: err}
	}
	if err := change(&h); err != nil {
		return reply{err: err}
	}
	h.UpdatedAt = time.Now().UTC()
	if err := w.g.db.PutWebhook(h); err != nil {
		return reply{err: fmt.Errorf("store webhook: %w", err)}
	}
	if pid, ok := w.webhooks[id]; ok {
		ctx.Send(pid, webhookChanged{hook: h})
	} else if _, err := w.spawnWebhook(ctx, id); err != nil {
		w.log.Error("start webhook", "webhook", id, "err", err)
	}
	return reply{val: h}
}

// deleteWebhook stops the webhook's actor, then deletes its record,
// cursor and deliveries, so that nothing writes them again.
func (w *workspaceActor) deleteWebhook(ctx actor.Context, id string) reply {
	if pid, ok := w.webhooks[id]; ok {
		if err := ctx.StopFuture(pid).Wait(); err != nil {
			w.log.Warn("stop webhook", "webhook", id, "err", err)
		}
		delete(w.webhooks, id)
	}
	err := w.g.db.DeleteWebhook(w.ws, id)
	if errors.Is(err, storage.ErrNotFound) {
		return reply{err: ErrWebhookNotFound}
	}
	return reply{err: err}
}
