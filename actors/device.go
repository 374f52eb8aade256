package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Send retry policy for transport errors (not for refusals such as a
// number that is not on WhatsApp, which fail at once).
const (
	maxSendAttempts = 3
	sendTimeout     = 75 * time.Second // whatsmeow's own default for SendMessage
	engineCallLimit = 15 * time.Second // logout, pairing and sandbox calls
)

// Reconnect backoff after a network drop: doubling from 1 s to 60 s, with
// full jitter so that devices dropped together do not reconnect together.
const (
	reconnectBase = time.Second
	reconnectMax  = time.Minute
)

// sessionGen numbers sessions across all device actors, so that events from
// a closed session are told apart from the current one's.
var sessionGen atomic.Uint64

// deviceActor owns one device: its session, its admission limiter and its
// send queue. It is the only writer of the device's record and messages.
// Everything it acknowledged is in pebble, so a restart only loses memory:
// Started reloads the device and resumes.
type deviceActor struct {
	g   *Gateway
	id  int64
	dev storage.Device
	log *slog.Logger

	self *actor.PID
	sys  *actor.ActorSystem

	sess    engine.Session
	gen     uint64
	limiter *pacing.Limiter
	qr      *QRCode

	sending   string         // id of the message in flight, "" when none
	attempts  map[string]int // transport failures per message
	failures  int            // reconnect attempts since the last Connected
	reconnect *time.Timer
	deleted   bool
}

func newDeviceActor(g *Gateway, d storage.Device) *deviceActor {
	return &deviceActor{g: g, id: d.ID, dev: d, log: g.log.With("device", d.ID)}
}

func (a *deviceActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *actor.Restarting:
		a.log.Warn("device actor restarting")
		a.closeSession()
	case *actor.Stopping:
		a.closeSession()
	case *actor.Stopped, *actor.Stop:
	case engineEvent:
		if m.gen == a.gen && !a.deleted {
			a.onEngineEvent(ctx, m.ev)
		}
	case sendDone:
		a.onSendDone(ctx, m)
	case pump:
		a.pump(ctx)
	case reconnect:
		if m.gen == a.gen && !a.deleted && a.dev.WantOnline {
			a.connect(ctx)
		}
	case crash:
		panic(fmt.Sprintf("device %d: crash requested", a.id))
	default:
		if a.deleted {
			ctx.Respond(reply{err: ErrDeviceNotFound})
			return
		}
		a.command(ctx, m)
	}
}

func (a *deviceActor) started(ctx actor.Context) {
	a.self, a.sys = ctx.Self(), ctx.ActorSystem()
	a.attempts = make(map[string]int)
	d, err := a.g.db.GetDevice(a.id)
	if errors.Is(err, storage.ErrNotFound) {
		a.deleted = true
		ctx.Poison(a.self)
		return
	}
	if err != nil {
		panic(fmt.Errorf("device %d: load: %w", a.id, err)) // supervision retries
	}
	a.dev = d
	a.limiter = pacing.NewLimiter(a.rate())

	eng, ok := a.g.engines[d.Engine]
	if !ok {
		a.dev.WantOnline = false
		a.setStatus(ctx, StatusFailed, ReasonEngineUnavailable)
		return
	}
	a.gen = sessionGen.Add(1)
	gen, self, sys := a.gen, a.self, a.sys
	sess, err := eng.Open(context.Background(), d.ID, func(ev engine.Event) {
		sys.Root.Send(self, engineEvent{gen: gen, ev: ev})
	})
	if err != nil {
		a.log.Error("open session", "err", err)
		a.setStatus(ctx, StatusFailed, ReasonEngineUnavailable)
		return
	}
	a.sess = sess

	// What was live in the previous process is not live now: say so.
	switch a.dev.Status {
	case StatusConnecting, StatusScanQR, StatusConnected:
		a.setStatus(ctx, StatusDisconnected, ReasonGatewayRestarted)
	}
	if a.dev.WantOnline && a.sess.Paired() &&
		a.dev.Status != StatusLoggedOut && a.dev.Status != StatusTempBanned {
		a.connect(ctx)
	}
}

func (a *deviceActor) rate() pacing.Rate {
	if a.dev.RateLimit.Limit > 0 && a.dev.RateLimit.WindowSeconds > 0 {
		return pacing.Rate{Limit: a.dev.RateLimit.Limit, Window: time.Duration(a.dev.RateLimit.WindowSeconds) * time.Second}
	}
	return a.g.defaultRate
}

func (a *deviceActor) closeSession() {
	a.stopReconnect()
	if a.sess != nil {
		a.sess.Close()
		a.sess = nil
	}
	a.gen = 0 // ignore anything the closed session still had in flight
}

// ---- commands

func (a *deviceActor) command(ctx actor.Context, msg any) {
	var r reply
	switch m := msg.(type) {
	case cmdConnect:
		r = a.cmdConnect(ctx)
	case cmdDisconnect:
		r = a.cmdDisconnect(ctx)
	case cmdLogout:
		r = a.cmdLogout(ctx)
	case cmdQR:
		if a.qr == nil || a.dev.Status != StatusScanQR {
			r.err = ErrNoQR
		} else {
			r.val = *a.qr
		}
	case cmdPairPhone:
		r = a.cmdPairPhone(m.phone)
	case cmdSandbox:
		r = a.cmdSandbox(m)
	case cmdSend:
		r = a.cmdSend(ctx, m.req)
	case cmdUpdate:
		r = a.cmdUpdate(m.patch)
	case cmdDelete:
		r = a.cmdDelete(ctx)
	default:
		return // a system or unknown message: nothing to answer
	}
	ctx.Respond(r)
}

func (a *deviceActor) cmdConnect(ctx actor.Context) reply {
	if a.sess == nil {
		return reply{err: fmt.Errorf("%w: engine %q is not available", ErrUnknownEngine, a.dev.Engine)}
	}
	switch a.dev.Status {
	case StatusConnected, StatusConnecting, StatusScanQR:
		return reply{val: a.dev}
	}
	a.dev.WantOnline = true
	a.failures = 0
	a.connect(ctx)
	return reply{val: a.dev}
}

func (a *deviceActor) connect(ctx actor.Context) {
	a.stopReconnect()
	a.setStatus(ctx, StatusConnecting, "")
	if err := a.sess.Connect(context.Background()); err != nil {
		a.log.Warn("connect", "err", err)
		a.setStatus(ctx, StatusFailed, ReasonConnectFailed)
	}
}

func (a *deviceActor) cmdDisconnect(ctx actor.Context) reply {
	a.dev.WantOnline = false
	a.stopReconnect()
	a.qr = nil
	if a.sess != nil {
		a.sess.Disconnect()
	}
	switch a.dev.Status {
	case StatusLoggedOut, StatusTempBanned, StatusFailed:
		a.persist() // keep the status that says why; just stop wanting online
	default:
		a.setStatus(ctx, StatusDisconnected, ReasonRequested)
	}
	return reply{val: a.dev}
}

func (a *deviceActor) cmdLogout(ctx actor.Context) reply {
	a.dev.WantOnline = false
	a.stopReconnect()
	a.qr = nil
	if a.sess != nil {
		c, cancel := context.WithTimeout(context.Background(), engineCallLimit)
		err := a.sess.Logout(c)
		cancel()
		if err != nil && !errors.Is(err, engine.ErrNotPaired) {
			a.log.Warn("logout", "err", err)
		}
	}
	a.dev.Paired = false
	a.setStatus(ctx, StatusLoggedOut, ReasonRequested)
	return reply{val: a.dev}
}

func (a *deviceActor) cmdPairPhone(phone string) reply {
	if a.sess == nil || a.dev.Status != StatusScanQR {
		return reply{err: ErrNoQR}
	}
	c, cancel := context.WithTimeout(context.Background(), engineCallLimit)
	defer cancel()
	code, err := a.sess.PairPhone(c, phone)
	if err != nil {
		return reply{err: engineError(err)}
	}
	return reply{val: code}
}

func (a *deviceActor) cmdSandbox(m cmdSandbox) reply {
	sb, ok := a.sess.(engine.Sandbox)
	if !ok || a.dev.Engine != "sim" {
		return reply{err: ErrNotSandbox}
	}
	c, cancel := context.WithTimeout(context.Background(), engineCallLimit)
	defer cancel()
	var err error
	switch m.op {
	case "scan":
		err = sb.Scan(c)
	case "inbound":
		err = sb.Inbound(c, m.inbound)
	case "fault":
		err = sb.Fault(c, m.fault)
	}
	return reply{err: engineError(err)}
}

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

func (a *deviceActor) cmdUpdate(p DevicePatch) reply {
	next := a.dev
	if p.Name != nil {
		next.Name = *p.Name
	}
	if p.RateLimit != nil {
		next.RateLimit = *p.RateLimit
	}
	if p.Pacing != nil {
		next.Pacing = *p.Pacing
	}
	if err := a.g.db.PutDevice(next); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return reply{err: ErrNameTaken}
		}
		return reply{err: fmt.Errorf("store device: %w", err)}
	}
	a.dev = next
	if p.RateLimit != nil {
		a.limiter.SetRate(a.rate(), time.Now())
	}
	return reply{val: a.dev}
}

func (a *deviceActor) cmdDelete(ctx actor.Context) reply {
	a.deleted = true
	if a.sess != nil && a.sess.Paired() {
		c, cancel := context.WithTimeout(context.Background(), engineCallLimit)
		if err := a.sess.Logout(c); err != nil && !errors.Is(err, engine.ErrNotPaired) {
			a.log.Warn("logout before delete", "err", err)
		}
		cancel()
	}
	a.closeSession()
	if eng, ok := a.g.engines[a.dev.Engine]; ok {
		if err := eng.Forget(context.Background(), a.id); err != nil {
			a.log.Error("forget engine state", "err", err)
		}
	}
	if err := a.g.db.DeleteDevice(a.id); err != nil {
		a.deleted = false
		return reply{err: fmt.Errorf("delete device: %w", err)}
	}
	ctx.Poison(a.self)
	return reply{}
}

// ---- sending

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

// ---- engine events

func (a *deviceActor) onEngineEvent(ctx actor.Context, ev engine.Event) {
	switch e := ev.(type) {
	case engine.QR:
		a.qr = &QRCode{Code: e.Code, ExpiresAt: e.ExpiresAt.UTC()}
		a.setStatus(ctx, StatusScanQR, "")
		a.emit(ctx, EventDeviceQR, deviceQRData{Code: e.Code, ExpiresAt: e.ExpiresAt.UTC()})
	case engine.QRTimeout:
		a.qr = nil
		a.dev.WantOnline = false
		a.setStatus(ctx, StatusDisconnected, ReasonQRTimeout)
	case engine.Connected:
		a.qr = nil
		a.failures = 0
		a.dev.Paired = true
		a.dev.Phone, a.dev.LID = e.Phone, e.LID
		if e.PushName != "" {
			a.dev.PushName = e.PushName
		}
		a.dev.LastSeenAt = time.Now().UTC()
		a.setStatus(ctx, StatusConnected, "")
		ctx.Send(a.self, pump{})
	case engine.Disconnected:
		a.qr = nil
		if e.Transient && a.dev.WantOnline {
			a.setStatus(ctx, StatusDisconnected, ReasonConnectionLost)
			a.scheduleReconnect()
		} else if a.dev.Status != StatusLoggedOut && a.dev.Status != StatusTempBanned && a.dev.Status != StatusFailed {
			reason := e.Reason
			if !e.Transient {
				reason = ReasonRequested
			}
			a.setStatus(ctx, StatusDisconnected, reason)
		}
	case engine.LoggedOut:
		a.qr = nil
		a.dev.Paired, a.dev.WantOnline = false, false
		a.stopReconnect()
		a.setStatus(ctx, StatusLoggedOut, ReasonLoggedOut)
	case engine.TemporaryBan:
		a.qr = nil
		a.dev.WantOnline = false
		a.stopReconnect()
		a.setStatus(ctx, StatusTempBanned, ReasonTemporaryBan)
	case engine.StreamReplaced:
		a.qr = nil
		a.dev.WantOnline = false
		a.stopReconnect()
		a.setStatus(ctx, StatusDisconnected, ReasonStreamReplaced)
	case engine.ClientOutdated:
		a.qr = nil
		a.dev.WantOnline = false
		a.stopReconnect()
		a.setStatus(ctx, StatusFailed, ReasonClientOutdated)
	case engine.Receipt:
		a.onReceipt(ctx, e)
	case engine.Message:
		a.onMessage(ctx, e)
	}
}

func (a *deviceActor) onReceipt(ctx actor.Context, r engine.Receipt) {
	status := string(r.Status)
	for _, waid := range r.WAIDs {
		m, err := a.g.db.GetMessageByWAID(a.id, waid)
		if err != nil {
			continue // not ours (sent from the phone) or already deleted
		}
		if m.Direction != "out" || messageRank(status) <= messageRank(m.Status) {
			continue // receipts never move a message back
		}
		at := r.At.UTC()
		if at.IsZero() {
			at = time.Now().UTC()
		}
		m.Status = status
		switch r.Status {
		case engine.ReceiptDelivered:
			m.DeliveredAt = at
		case engine.ReceiptRead, engine.ReceiptPlayed:
			m.ReadAt = at
			if m.DeliveredAt.IsZero() {
				m.DeliveredAt = at
			}
		}
		if err := a.g.db.PutMessage(m); err != nil {
			a.log.Error("store receipt", "err", err)
			continue
		}
		a.emit(ctx, EventMessageAck, statusData(m))
	}
}

func (a *deviceActor) onMessage(ctx actor.Context, e engine.Message) {
	if e.WAID != "" {
		if _, err := a.g.db.GetMessageByWAID(a.id, e.WAID); err == nil {
			return // a redelivery of what is already stored
		}
	}
	m := storage.Message{
		ID:          storage.NewMessageID(),
		WorkspaceID: a.dev.WorkspaceID,
		DeviceID:    a.id,
		Direction:   "in",
		Chat:        e.Chat.String(),
		From:        e.Sender.String(),
		FromPhone:   e.SenderPhone,
		FromLID:     e.SenderLID,
		PushName:    e.PushName,
		IsGroup:     e.IsGroup || e.Chat.IsGroup(),
		FromMe:      e.FromMe,
		Type:        string(e.Type),
		WAID:        e.WAID,
		Status:      MessageReceived,
		CreatedAt:   time.Now().UTC(),
		Timestamp:   e.Timestamp.UTC(),
	}
	if e.FromMe {
		m.Direction, m.Status = "out", MessageSent
	}
	if e.Media != nil {
		m.Caption = e.Text
		m.Media = &storage.MediaInfo{MimeType: e.Media.MimeType, Size: e.Media.Size, FileName: e.Media.FileName}
	} else {
		m.Text = e.Text
	}
	if e.QuotedWAID != "" {
		m.QuotedID = e.QuotedWAID
		if q, err := a.g.db.GetMessageByWAID(a.id, e.QuotedWAID); err == nil {
			m.QuotedID = q.ID
		}
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = m.CreatedAt
	}
	if err := a.g.db.PutMessage(m); err != nil {
		a.log.Error("store inbound message", "err", err)
		return
	}
	a.emit(ctx, EventMessageReceived, receivedData(m))
}

// ---- state

// setStatus records a status change (synced) and emits device.status; a
// repeat of the current status and reason changes nothing.
func (a *deviceActor) setStatus(ctx actor.Context, status, reason string) {
	if a.dev.Status == status && a.dev.StatusReason == reason {
		a.persist()
		return
	}
	a.dev.Status, a.dev.StatusReason = status, reason
	a.persist()
	a.emit(ctx, EventDeviceStatus, deviceStatusData{Status: status, Reason: reason, Phone: a.dev.Phone})
}

func (a *deviceActor) persist() {
	if a.deleted {
		return
	}
	if err := a.g.db.PutDevice(a.dev); err != nil {
		a.log.Error("store device", "err", err)
	}
}

func (a *deviceActor) emit(ctx actor.Context, typ string, data any) {
	ctx.Send(ctx.Parent(), appendEvents{events: []pendingEvent{{typ: typ, deviceID: a.id, data: data}}})
}

func (a *deviceActor) scheduleReconnect() {
	a.stopReconnect()
	a.failures++
	limit := reconnectBase << min(a.failures-1, 6)
	limit = min(limit, reconnectMax)
	wait := reconnectBase/2 + rand.N(limit) // jitter, never zero
	gen, self, sys := a.gen, a.self, a.sys
	a.reconnect = time.AfterFunc(wait, func() { sys.Root.Send(self, reconnect{gen: gen}) })
	a.log.Info("reconnect scheduled", "in", wait.Round(time.Millisecond), "attempt", a.failures)
}

func (a *deviceActor) stopReconnect() {
	if a.reconnect != nil {
		a.reconnect.Stop()
		a.reconnect = nil
	}
}

// engineError maps the engine's errors to the facade's.
func engineError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrNoQR):
		return ErrNoQR
	case errors.Is(err, engine.ErrNotConnected):
		return ErrNotConnected
	case errors.Is(err, engine.ErrInvalidRecipient):
		return err
	}
	return err
}
