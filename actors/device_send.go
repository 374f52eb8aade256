package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Sending: admission, the durable queue, one message in flight per device.
// When a queued message goes is the pacer's decision (device_pacing.go).

func (a *deviceActor) cmdSend(ctx actor.Context, req SendRequest) reply {
	if !a.dev.Paired {
		return reply{err: fmt.Errorf("%w: the device is not paired; connect it and scan the QR code first", ErrNotConnected)}
	}
	now := time.Now()
	if req.MessageID != "" {
		// The id was chosen before (an Idempotency-Key's reservation): a
		// message stored under it was admitted already and is not again.
		existing, err := a.g.db.GetMessage(a.dev.WorkspaceID, req.MessageID)
		switch {
		case err == nil && existing.DeviceID == a.id:
			return reply{val: SendResult{Message: existing, Limit: a.limiter.Peek(now)}}
		case err == nil:
			return reply{err: fmt.Errorf("%w: message id %s is taken", storage.ErrConflict, req.MessageID)}
		case !errors.Is(err, storage.ErrNotFound):
			return reply{err: fmt.Errorf("load message: %w", err)}
		}
	}
	state, ok := a.limiter.Allow(now)
	if !ok {
		return reply{err: &RateLimitedError{State: state}}
	}
	id := req.MessageID
	if id == "" {
		id = storage.NewMessageID()
	}
	m := storage.Message{
		ID:          id,
		WorkspaceID: a.dev.WorkspaceID,
		DeviceID:    a.id,
		Direction:   "out",
		Chat:        req.To.String(),
		To:          req.To.String(),
		IsGroup:     req.To.IsGroup(),
		FromMe:      true,
		Type:        string(req.Type),
		QuotedID:    req.QuotedID,
		Status:      MessageQueued,
		CreatedAt:   now.UTC(),
	}
	setContent(&m, req)
	if err := a.g.db.PutMessage(m); err != nil {
		return reply{err: fmt.Errorf("store message: %w", err)}
	}
	ctx.Send(a.self, pump{})
	return reply{val: SendResult{Message: m, Limit: state}}
}

// send hands a queued message to the session, off the actor. Its WhatsApp
// id is chosen and stored first: a message whose send a crash cut short is
// still queued after the restart and is sent again with the same id,
// which WhatsApp deduplicates, so the contact gets it once.
func (a *deviceActor) send(ctx actor.Context, m storage.Message, o pacing.Outgoing) {
	to, err := engine.ParseRecipient(m.To)
	if err != nil {
		a.fail(ctx, m, "invalid_recipient", err.Error())
		ctx.Send(a.self, pump{})
		return
	}
	if m.WAID == "" {
		m.WAID = a.sess.NewMessageID()
		if err := a.g.db.PutMessage(m); err != nil {
			a.log.Error("store message id", "err", err)
			return
		}
	}
	out, code, err := a.outgoing(m, to)
	if err != nil {
		a.fail(ctx, m, code, err.Error())
		ctx.Send(a.self, pump{})
		return
	}
	a.sending, a.inflight = m.ID, o
	sess, gen, self, sys, id := a.sess, a.gen, a.self, a.sys, m.ID
	go func() {
		c, cancel := context.WithTimeout(context.Background(), sendTimeout)
		defer cancel()
		res, err := sess.Send(c, out)
		sys.Root.Send(self, sendDone{gen: gen, msgID: id, res: res, err: err})
	}()
}

func (a *deviceActor) onSendDone(ctx actor.Context, d sendDone) {
	if d.msgID == a.sending {
		a.sending = ""
	}
	if a.deleted {
		return
	}
	m, err := a.g.db.GetMessage(a.dev.WorkspaceID, d.msgID)
	if err != nil {
		a.log.Error("load sent message", "msg", d.msgID, "err", err)
		return
	}
	now := time.Now()
	switch {
	case d.err == nil:
		delete(a.attempts, m.ID)
		a.sent(ctx, m, d.res, now)
	case errors.Is(d.err, engine.ErrRateLimited):
		// WhatsApp refused it: it stays queued (with its id) for after the pause.
		a.pause(ctx, now, pacing.PauseRateLimited, time.Time{})
	case errors.Is(d.err, engine.ErrReachOut):
		a.pause(ctx, now, pacing.PauseReachOut, time.Time{})
	case errors.Is(d.err, engine.ErrNotOnWhatsApp):
		a.fail(ctx, m, "not_on_whatsapp", "The recipient is not on WhatsApp")
	case errors.Is(d.err, engine.ErrInvalidRecipient):
		a.fail(ctx, m, "invalid_recipient", d.err.Error())
	case errors.Is(d.err, engine.ErrGroupNotFound):
		a.fail(ctx, m, "not_in_group", "The device is not a member of this group")
	case errors.Is(d.err, engine.ErrInvalidMessage):
		a.fail(ctx, m, "invalid_message", d.err.Error())
	case errors.Is(d.err, engine.ErrUnsupported):
		a.fail(ctx, m, "unsupported", d.err.Error())
	case errors.Is(d.err, engine.ErrNotConnected), d.gen != a.gen:
		// Stays queued; it goes out after the next Connected.
		return
	default:
		a.attempts[m.ID]++
		if a.attempts[m.ID] >= maxSendAttempts {
			delete(a.attempts, m.ID)
			a.fail(ctx, m, "send_failed", d.err.Error())
		} else {
			a.log.Warn("send failed, will retry", "msg", m.ID, "attempt", a.attempts[m.ID], "err", d.err)
			self, sys := a.self, a.sys
			time.AfterFunc(time.Duration(a.attempts[m.ID])*time.Second, func() { sys.Root.Send(self, pump{}) })
			return
		}
	}
	ctx.Send(a.self, pump{})
}

// sent records a message the engine accepted: the message, the pacer's
// new state and message.sent in one synced batch, then what the send
// changes elsewhere.
func (a *deviceActor) sent(ctx actor.Context, m storage.Message, res engine.SendResult, now time.Time) {
	o := a.inflight
	if o.ID != m.ID {
		if to, err := engine.ParseRecipient(m.To); err == nil {
			o = a.outgoingOf(m, to)
		}
	}
	a.pacer.Sent(now, o)
	a.markKnown(m.Chat)
	if messageRank(m.Status) < messageRank(MessageSent) {
		m.Status = MessageSent
	}
	if res.WAID != "" {
		m.WAID = res.WAID
	}
	m.SentAt, m.Timestamp = now.UTC(), res.ServerTime.UTC()
	if m.Timestamp.IsZero() {
		m.Timestamp = m.SentAt
	}
	evs := a.event(EventMessageSent, statusData(m))
	if err := a.g.db.PutMessageWithPacerState(m, a.pacerState(now), evs); err != nil {
		a.log.Error("store sent message", "err", err)
	} else {
		a.g.metrics.messageSent(outcomeSent)
		a.handOver(ctx, evs)
	}
	a.applySent(m)
}

// fail records a message that will not be sent, with message.failed, in
// one synced batch.
func (a *deviceActor) fail(ctx actor.Context, m storage.Message, code, text string) {
	m.Status = MessageFailed
	m.FailedAt = time.Now().UTC()
	m.Error = &storage.MessageError{Code: code, Message: text}
	if err := a.saveMessage(ctx, m, a.event(EventMessageFailed, statusData(m))...); err != nil {
		a.log.Error("store failed message", "err", err)
		return
	}
	a.g.metrics.messageSent(outcomeFailed)
}
