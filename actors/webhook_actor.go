package actors

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/storage"
)

const (
	// webhookReadAhead is how many logged events a webhook actor reads at
	// once, and about how many it keeps queued from eventsLogged.
	webhookReadAhead = 256
	// cursorSaveEvery: the cursor moved past this many events that are not
	// for the endpoint is stored even before the actor goes idle.
	cursorSaveEvery = 1000
)

// webhookActor delivers its workspace's events to one endpoint, in seq
// order, at least once. It reads the log from its durable cursor (the seq
// of the last event handled), sends each event that passes the endpoint's
// filters, and moves the cursor when the endpoint took it (2xx) or when
// the retry schedule ran out (the delivery is then failed, and can be
// redelivered). The request runs off the actor and reports back with
// attemptDone, so a slow endpoint never holds the mailbox, and each
// endpoint has its own actor, so it never holds another endpoint either.
//
// A restart (of the actor or the process) loses only memory: the cursor
// stored last says where to resume, and events after it are sent again —
// with the same webhook-id, their event id.
type webhookActor struct {
	g    *Gateway
	ws   int64
	id   string
	log  *slog.Logger
	self *actor.PID
	sys  *actor.ActorSystem

	hook storage.Webhook

	cursor uint64          // last seq handled
	saved  uint64          // cursor as last stored
	known  uint64          // last seq read from the log (current or queued)
	queue  []storage.Event // read after the current event, in seq order

	current *delivering // nil when idle
	gen     uint64      // of the attempt or timer in progress, from webhookGen

	inflight bool
	timer    *time.Timer
}

// webhookGen numbers attempts and retry timers across all webhook actors
// and their restarts, so that a result or a timer that is no longer
// current is told apart.
var webhookGen atomic.Uint64

// delivering is the event being delivered and its record.
type delivering struct {
	event  storage.Event
	body   []byte
	record storage.Delivery
	first  time.Time
}

func newWebhookActor(g *Gateway, ws int64, id string) *webhookActor {
	return &webhookActor{g: g, ws: ws, id: id, log: g.log.With("workspace", ws, "webhook", id)}
}

func (w *webhookActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.started(ctx)
	case *actor.Restarting:
		w.log.Warn("webhook actor restarting")
		w.stopTimer()
	case *actor.Stopping:
		w.stopTimer()
	case eventsLogged:
		w.take(m.events)
		w.advance(ctx)
	case webhookChanged:
		w.changed(ctx, m.hook)
	case attemptDone:
		if m.gen == w.gen && w.inflight {
			w.inflight = false
			w.done(ctx, m.res)
		}
	case retryDue:
		if m.gen == w.gen && w.current != nil && !w.inflight && !w.hook.Disabled {
			w.attempt()
		}
	}
}

func (w *webhookActor) started(ctx actor.Context) {
	w.self, w.sys = ctx.Self(), ctx.ActorSystem()
	h, err := w.g.db.GetWebhook(w.ws, w.id)
	if errors.Is(err, storage.ErrNotFound) {
		ctx.Stop(w.self) // deleted meanwhile
		return
	}
	if err != nil {
		panic(fmt.Errorf("webhook %s: load: %w", w.id, err)) // supervision retries
	}
	cursor, err := w.g.db.WebhookCursor(w.ws, w.id)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		panic(fmt.Errorf("webhook %s: load cursor: %w", w.id, err))
	}
	w.hook = h
	w.cursor, w.saved, w.known = cursor, cursor, cursor
	w.advance(ctx)
}

// take queues events that follow on from what was read, so that an
// endpoint that keeps up needs no read of the log. Events that do not
// follow on (the actor is behind) are left to be read later.
func (w *webhookActor) take(evs []storage.Event) {
	if len(evs) == 0 || len(w.queue) >= webhookReadAhead {
		return
	}
	i, _ := slices.BinarySearchFunc(evs, w.known+1, func(e storage.Event, seq uint64) int {
		return cmp.Compare(e.Seq, seq)
	})
	if i == len(evs) || evs[i].Seq != w.known+1 {
		return
	}
	w.queue = append(w.queue, evs[i:]...)
	w.known = w.queue[len(w.queue)-1].Seq
}

// advance starts delivering the next event for the endpoint, unless one is
// being delivered or the endpoint is disabled.
func (w *webhookActor) advance(ctx actor.Context) {
	if w.hook.Disabled || w.current != nil {
		return
	}
	for {
		if len(w.queue) == 0 && !w.readLog() {
			w.saveCursor()
			return
		}
		e := w.queue[0]
		w.queue = w.queue[1:]
		if !w.wants(e) {
			w.cursor = e.Seq
			if w.cursor-w.saved >= cursorSaveEvery {
				w.saveCursor()
			}
			continue
		}
		if w.deliver(e) {
			return
		}
	}
}

// readLog queues the next events of the log; false when there are none
// (or they cannot be read now; the next eventsLogged tries again).
func (w *webhookActor) readLog() bool {
	evs, err := w.g.db.ReadEvents(w.ws, w.known, webhookReadAhead)
	if err != nil {
		w.log.Error("read event log", "err", err)
		return false
	}
	if len(evs) == 0 {
		return false
	}
	if first := evs[0].Seq; first > w.known+1 {
		w.expired(w.known+1, first-1)
	}
	w.queue = evs
	w.known = evs[len(evs)-1].Seq
	return true
}

// expired records that events [from, to] were removed by retention before
// this endpoint got them, and moves past them.
func (w *webhookActor) expired(from, to uint64) {
	now := time.Now().UTC()
	d := storage.Delivery{
		ID: storage.NewDeliveryID(), WorkspaceID: w.ws, WebhookID: w.id, EventSeq: from, LastSeq: to,
		Status: storage.DeliveryExpired, CreatedAt: now, LastAttemptAt: now,
		Error: fmt.Sprintf("events %d to %d were removed by retention before they could be delivered", from, to),
	}
	w.log.Warn("webhook fell behind the event retention", "from", from, "to", to)
	w.g.metrics.webhookGaveUp(giveUpExpired)
	w.cursor = to
	if err := w.g.db.SaveWebhookProgress(w.ws, w.id, w.cursor, &d); err != nil {
		w.log.Error("store webhook progress", "err", err)
		return
	}
	w.saved = w.cursor
}

// wants reports whether the endpoint's filters let e through.
func (w *webhookActor) wants(e storage.Event) bool {
	if w.hook.DeviceID != 0 && e.DeviceID != w.hook.DeviceID {
		return false
	}
	return slices.Contains(w.hook.Events, "*") || slices.Contains(w.hook.Events, e.Type)
}

// deliver starts delivering e; false when e cannot be sent at all.
func (w *webhookActor) deliver(e storage.Event) bool {
	body, err := EncodeEvent(e)
	if err != nil {
		// A logged event always encodes; if one does not, holding the
		// endpoint on it forever would help no one.
		w.log.Error("encode event", "seq", e.Seq, "err", err)
		w.cursor = e.Seq
		return false
	}
	now := time.Now().UTC()
	w.current = &delivering{
		event: e,
		body:  body,
		first: now,
		record: storage.Delivery{
			ID: storage.NewDeliveryID(), WorkspaceID: w.ws, WebhookID: w.id,
			EventID: e.ID, EventSeq: e.Seq, EventType: e.Type,
			Status: storage.DeliveryPending, CreatedAt: now,
		},
	}
	w.attempt()
	return true
}

// attempt sends the current event off the actor; attemptDone reports.
func (w *webhookActor) attempt() {
	w.gen = webhookGen.Add(1)
	w.inflight = true
	req := webhookRequest{
		url:       w.hook.URL,
		eventID:   w.current.event.ID,
		eventType: w.current.event.Type,
		body:      w.current.body,
		secrets:   signingSecrets(w.hook, time.Now()),
	}
	gen, self, sys, g := w.gen, w.self, w.sys, w.g
	go func() {
		res := sendWebhook(g.webhookCtx, g.webhookClient, req)
		if !g.stopped.Load() {
			sys.Root.Send(self, attemptDone{gen: gen, res: res})
		}
	}()
}

func (w *webhookActor) done(ctx actor.Context, res attemptResult) {
	cur := w.current
	recordAttempt(&cur.record, res)
	if res.delivered() {
		w.g.metrics.webhookDelivered(cur.event.CreatedAt, res.at.Add(res.latency))
	} else {
		w.g.metrics.webhookAttemptFailed()
	}
	switch {
	case res.delivered():
		cur.record.Status, cur.record.NextAttemptAt = storage.DeliveryDelivered, time.Time{}
		w.finish(ctx, cur)
	case res.gone():
		// The endpoint asked never to be called again: disable it. The
		// cursor stays before this event, so that it is the first one sent
		// should the endpoint be enabled again.
		cur.record.Status = storage.DeliveryFailed
		cur.record.Error = "the endpoint answered 410 Gone; the webhook is disabled"
		w.putRecord(cur.record)
		w.hook.Disabled = true
		w.reset()
		ctx.Send(ctx.Parent(), webhookGone{id: w.id})
		w.g.metrics.webhookGaveUp(giveUpGone)
		w.log.Warn("endpoint gone; webhook disabled")
	case time.Since(cur.first) >= retryWindow:
		cur.record.Status, cur.record.NextAttemptAt = storage.DeliveryFailed, time.Time{}
		cur.record.Error = fmt.Sprintf("%s; gave up after %d attempts", res.describe(), cur.record.Attempts)
		w.log.Warn("delivery failed for good", "seq", cur.event.Seq, "attempts", cur.record.Attempts)
		w.g.metrics.webhookGaveUp(giveUpExhausted)
		w.finish(ctx, cur)
	default:
		wait := retryDelay(cur.record.Attempts, res.retryAfter)
		cur.record.NextAttemptAt = time.Now().Add(wait).UTC()
		w.putRecord(cur.record)
		gen, self, sys := w.gen, w.self, w.sys
		w.timer = time.AfterFunc(wait, func() { sys.Root.Send(self, retryDue{gen: gen}) })
	}
}

// finish moves the cursor past the current event with its final record and
// goes on with the next one.
func (w *webhookActor) finish(ctx actor.Context, cur *delivering) {
	w.current = nil
	w.cursor = cur.event.Seq
	if err := w.g.db.SaveWebhookProgress(w.ws, w.id, w.cursor, &cur.record); err != nil {
		w.log.Error("store webhook progress", "err", err)
	} else {
		w.saved = w.cursor
	}
	w.advance(ctx)
}

func (w *webhookActor) putRecord(d storage.Delivery) {
	if err := w.g.db.PutDelivery(d); err != nil {
		w.log.Error("store delivery", "err", err)
	}
}

func (w *webhookActor) saveCursor() {
	if w.cursor == w.saved {
		return
	}
	if err := w.g.db.SaveWebhookProgress(w.ws, w.id, w.cursor, nil); err != nil {
		w.log.Error("store webhook cursor", "err", err)
		return
	}
	w.saved = w.cursor
}

// reset drops the current delivery and what was read ahead: the next
// advance starts again after the cursor.
func (w *webhookActor) reset() {
	w.stopTimer()
	w.gen = webhookGen.Add(1)
	w.inflight = false
	w.current = nil
	w.queue = nil
	w.known = w.cursor
}

func (w *webhookActor) stopTimer() {
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
}

// changed takes a new record: new filters apply to the events not yet
// sent, a new URL is tried at once, a disabled endpoint stops (the
// delivery in progress is recorded as failed; it is sent again when the
// endpoint is enabled), an enabled one resumes after its cursor.
func (w *webhookActor) changed(ctx actor.Context, h storage.Webhook) {
	old := w.hook
	w.hook = h
	switch {
	case h.Disabled && !old.Disabled:
		if cur := w.current; cur != nil {
			cur.record.Status, cur.record.NextAttemptAt = storage.DeliveryFailed, time.Time{}
			if cur.record.Error == "" {
				cur.record.Error = "the webhook was disabled"
			}
			w.putRecord(cur.record)
		}
		w.reset()
	case !h.Disabled && old.Disabled:
		w.reset()
		w.advance(ctx)
	case w.current != nil && !w.inflight && h.URL != old.URL:
		w.stopTimer()
		w.attempt()
	}
}

// ---- one-off deliveries (tests and redeliveries asked for through the API)

// deliverOnce sends e to the webhook now, out of order and outside its
// actor, and records the attempt as a manual delivery. A 410 disables the
// endpoint as it would for an event in order.
func (g *Gateway) deliverOnce(ctx context.Context, h storage.Webhook, e storage.Event) (storage.Delivery, error) {
	body, err := EncodeEvent(e)
	if err != nil {
		return storage.Delivery{}, err
	}
	now := time.Now().UTC()
	d := storage.Delivery{
		ID: storage.NewDeliveryID(), WorkspaceID: h.WorkspaceID, WebhookID: h.ID,
		EventID: e.ID, EventSeq: e.Seq, EventType: e.Type, Manual: true, CreatedAt: now,
	}
	res := sendWebhook(ctx, g.webhookClient, webhookRequest{
		url: h.URL, eventID: e.ID, eventType: e.Type, body: body, secrets: signingSecrets(h, now),
	})
	recordAttempt(&d, res)
	d.Status = storage.DeliveryFailed
	if res.delivered() {
		d.Status = storage.DeliveryDelivered
	}
	if err := g.db.PutDelivery(d); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return storage.Delivery{}, ErrWebhookNotFound
		}
		return storage.Delivery{}, fmt.Errorf("store delivery: %w", err)
	}
	if res.gone() {
		if pid, err := g.workspace(ctx, h.WorkspaceID); err == nil {
			g.sys.Root.Send(pid, webhookGone{id: h.ID})
		}
	}
	return d, nil
}
