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

	sending   string          // id of the message in flight, "" when none
	inflight  pacing.Outgoing // the message in flight, as the pacer saw it
	attempts  map[string]int  // transport failures per message
	failures  int             // reconnect attempts since the last Connected
	reconnect *time.Timer
	deleted   bool

	// Pacing (device_pacing.go): the pacer, its one timer and the
	// generation that tells the current timer's firing from a stale one,
	// the presence shown, the message whose number is being checked, and
	// the chats known to have history.
	pacer     *pacing.Pacer
	paceTimer *time.Timer
	paceGen   uint64
	presence  shownPresence
	checking  string
	known     map[string]bool
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
			a.paceEngineEvent(ctx, m.ev)
		}
	case sendDone:
		a.onSendDone(ctx, m)
	case checkDone:
		a.onCheckDone(ctx, m)
	case pump:
		a.pump(ctx)
	case paceDue:
		if m.gen == a.paceGen {
			a.paceTimer = nil
			a.pump(ctx)
		}
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
	a.initPacer()

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
	a.stopPaceTimer()
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
	case cmdSession:
		r = a.cmdSession()
	case cmdMediaFile:
		r = a.cmdMediaFile(m)
	case cmdChatRead:
		r = a.cmdChatRead(m.chat)
	case cmdUpdate:
		r = a.cmdUpdate(ctx, m.patch)
	case cmdQueue:
		r = a.cmdQueue(m.limit)
	case cmdCancel:
		r = a.cmdCancel(ctx, m.msgID)
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
	case "activity":
		err = sb.Activity(c, m.activity)
	}
	return reply{err: engineError(err)}
}

func (a *deviceActor) cmdUpdate(ctx actor.Context, p DevicePatch) reply {
	next := a.dev
	if p.Name != nil {
		next.Name = *p.Name
	}
	if p.RateLimit != nil {
		next.RateLimit = *p.RateLimit
	}
	var settings pacing.Settings
	if len(p.Pacing) > 0 {
		var err error
		if settings, err = a.pacer.Settings().Apply(p.Pacing); err != nil {
			return reply{err: err}
		}
		if next.Pacing, next.PacingSettings, err = storedPacing(settings); err != nil {
			return reply{err: err}
		}
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
	if len(p.Pacing) > 0 {
		if err := a.pacer.SetSettings(settings); err != nil {
			return reply{err: err} // Apply validated them: not reached
		}
		ctx.Send(a.self, pump{}) // the new settings may let a message go now
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
