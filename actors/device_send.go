package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Sending: admission, the durable queue, one message in flight per device.

func (a *deviceActor) cmdSend(ctx actor.Context, req SendRequest) reply {
	if !a.dev.Paired {
		return reply{err: fmt.Errorf("%w: the device is not paired; connect it and scan the QR code first", ErrNotConnected)}
	}
	now := time.Now()
	state, ok := a.limiter.Allow(now)
	if !ok {
		return reply{err: &RateLimitedError{State: state}}
	}
	m := storage.Message{
		ID:          storage.NewMessageID(),
		WorkspaceID: a.dev.WorkspaceID,
		DeviceID:    a.id,
		Direction:   "out",
		Chat:        req.To.String(),
		To:          req.To.String(),
		IsGroup:     req.To.IsGroup(),
		FromMe:      true,
		Type:        string(req.Type),
		Text:        req.Text,
		QuotedID:    req.QuotedID,
		Status:      MessageQueued,
		CreatedAt:   now.UTC(),
	}
	if err := a.g.db.PutMessage(m); err != nil {
		return reply{err: fmt.Errorf("store message: %w", err)}
	}
	ctx.Send(a.self, pump{})
	return reply{val: SendResult{Message: m, Limit: state}}
}

// pump sends the oldest queued message when the device is connected and
// nothing is in flight. One message at a time keeps the order of the queue.
func (a *deviceActor) pump(ctx actor.Context) {
	if a.deleted || a.sending != "" || a.sess == nil || a.dev.Status != StatusConnected {
		return
	}
	q, err := a.g.db.QueuedMessages(a.id, 1)
	if err != nil {
		a.log.Error("read send queue", "err", err)
		return
	}
	if len(q) == 0 {
		return
	}
	m := q[0]
	to, err := engine.ParseRecipient(m.To)
	if err != nil {
		a.fail(ctx, m, "invalid_recipient", err.Error())
		ctx.Send(a.self, pump{})
		return
	}
	if m.WAID == "" {
		// Chosen and stored before the send: after a crash mid-send the
		// message is resent with the same id, which WhatsApp deduplicates.
		m.WAID = a.sess.NewMessageID()
		if err := a.g.db.PutMessage(m); err != nil {
			a.log.Error("store message id", "err", err)
			return
		}
	}
	out := engine.OutMessage{WAID: m.WAID, To: to, Type: engine.MessageType(m.Type), Text: m.Text}
	if m.QuotedID != "" {
		if q, err := a.g.db.GetMessage(a.dev.WorkspaceID, m.QuotedID); err == nil {
			out.QuotedWAID = q.WAID
		} else {
			out.QuotedWAID = m.QuotedID
		}
	}
	a.sending = m.ID
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
	switch {
	case d.err == nil:
		delete(a.attempts, m.ID)
		if messageRank(m.Status) < messageRank(MessageSent) {
			m.Status = MessageSent
		}
		if d.res.WAID != "" {
			m.WAID = d.res.WAID
		}
		now := time.Now().UTC()
		m.SentAt, m.Timestamp = now, d.res.ServerTime.UTC()
		if m.Timestamp.IsZero() {
			m.Timestamp = now
		}
		if err := a.g.db.PutMessage(m); err != nil {
			a.log.Error("store sent message", "err", err)
		}
		a.emit(ctx, EventMessageSent, statusData(m))
	case errors.Is(d.err, engine.ErrNotOnWhatsApp):
		a.fail(ctx, m, "not_on_whatsapp", "The recipient is not on WhatsApp")
	case errors.Is(d.err, engine.ErrInvalidRecipient):
		a.fail(ctx, m, "invalid_recipient", d.err.Error())
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

func (a *deviceActor) fail(ctx actor.Context, m storage.Message, code, text string) {
	m.Status = MessageFailed
	m.FailedAt = time.Now().UTC()
	m.Error = &storage.MessageError{Code: code, Message: text}
	if err := a.g.db.PutMessage(m); err != nil {
		a.log.Error("store failed message", "err", err)
	}
	a.emit(ctx, EventMessageFailed, statusData(m))
}
