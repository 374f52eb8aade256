package sim

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// Reasons the simulated events carry.
const (
	reasonRequested    = "requested"
	reasonLost         = "connection lost"
	reasonPhoneLogout  = "logged out from the phone"
	reasonPairingStore = "pairing failed: could not save it"
	// reasonBan is WhatsApp's text for ban code 101, the usual one.
	reasonBan = "you sent too many messages to people who don't have you in their address books"
)

// connState is where a session's connection stands.
type connState int

const (
	stateIdle       connState = iota // not connected, not connecting
	stateConnecting                  // waiting for the server's answer
	stateQR                          // unpaired, showing QR codes
	stateConnected                   // logged in
)

// Session is one device's simulated connection. It implements
// engine.Session and engine.Sandbox. Its methods are safe to call from any
// goroutine; they run one at a time on the session's own goroutine, which
// is also the only one that emits events.
type Session struct {
	eng  *Engine
	id   int64
	log  *slog.Logger
	emit func(engine.Event)

	cmds      chan func()
	quit      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	paired atomic.Bool // mirrors pairing.Paired for Paired()

	// Owned by the session's goroutine.
	pairing pairing
	state   connState
	qrShown int    // codes shown in the current attempt
	qrKeys  string // the keys part of this attempt's codes
	sched   schedule
}

func newSession(e *Engine, deviceID int64, p pairing, emit func(engine.Event)) *Session {
	s := &Session{
		eng:     e,
		id:      deviceID,
		log:     e.log.With("engine", "sim", "device", deviceID),
		emit:    emit,
		cmds:    make(chan func()),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		pairing: p,
	}
	s.paired.Store(p.Paired)
	go s.run()
	return s
}

// run is the session's goroutine: it runs commands and due tasks one at a
// time until Close.
func (s *Session) run() {
	defer close(s.done)
	for {
		select {
		case <-s.quit:
			s.shutdown()
			return
		case cmd := <-s.cmds:
			cmd()
		case <-s.sched.fired():
			now := time.Now()
			for t := s.sched.popDue(now); t != nil; t = s.sched.popDue(now) {
				s.runTask(t)
			}
		}
		s.sched.arm()
	}
}

// do runs f on the session's goroutine and returns its error. Once the
// goroutine has taken f, f runs to the end even if ctx ends meanwhile.
func (s *Session) do(ctx context.Context, f func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	errc := make(chan error, 1)
	select {
	case s.cmds <- func() { errc <- f() }:
		return <-errc
	case <-s.done:
		return engine.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Paired implements engine.Session.
func (s *Session) Paired() bool { return s.paired.Load() }

// Connect implements engine.Session. After Config.ConnectDelay the session
// is connected (paired), shows its first QR code (unpaired) or, while the
// device is banned, reports the ban again.
func (s *Session) Connect(ctx context.Context) error {
	err := s.do(ctx, func() error {
		if s.state != stateIdle {
			return nil
		}
		s.log.Debug("connecting", "paired", s.pairing.Paired)
		s.state = stateConnecting
		s.sched.add(s.eng.cfg.ConnectDelay, task{kind: taskConnect, conn: true})
		return nil
	})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// Disconnect implements engine.Session. It emits Disconnected{"requested"}
// whatever the state, so that a caller can always wait for it.
func (s *Session) Disconnect() {
	_ = s.do(context.Background(), func() error {
		s.endConnection()
		s.emit(engine.Disconnected{Reason: reasonRequested})
		return nil
	})
}

// Logout implements engine.Session: it deletes the pairing (also when not
// connected) and emits LoggedOut{"requested"}. When the Store fails, the
// session is left as it was.
func (s *Session) Logout(ctx context.Context) error {
	err := s.do(ctx, func() error {
		if err := s.unpair(); err != nil {
			return err
		}
		s.emit(engine.LoggedOut{Reason: reasonRequested})
		return nil
	})
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// PairPhone implements engine.Session. The session must be unpaired and
// connecting or showing a QR code (engine.ErrNoQR otherwise). The simulated
// phone confirms the code after Config.ConnectDelay: the device is then
// paired as phone and connected, as by Scan.
func (s *Session) PairPhone(ctx context.Context, phone string) (string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return "", fmt.Errorf("pair phone: %w", err)
	}
	var code string
	err = s.do(ctx, func() error {
		if s.pairing.Paired || (s.state != stateConnecting && s.state != stateQR) {
			return engine.ErrNoQR
		}
		// A new code replaces one still waiting for the phone.
		s.sched.remove(func(t *task) bool { return t.kind == taskPair })
		s.sched.add(s.eng.cfg.ConnectDelay, task{kind: taskPair, conn: true, phone: p})
		code = s.eng.pairCode()
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pair phone: %w", err)
	}
	return code, nil
}

// NewMessageID implements engine.Session: "3EB0" and 16 upper-case hex
// digits, like WhatsApp Web's ids.
func (s *Session) NewMessageID() string { return s.eng.newMessageID() }

// Send implements engine.Session. The recipient must be a user (phone) JID
// or a group the device is in (or one the sim never heard of); users whose
// number starts with 999 are not on WhatsApp. The content must be complete
// for its type (engine.ErrInvalidMessage otherwise). The recipient becomes one of the
// device's Contacts. The
// message is recorded for Engine.Sent and acknowledged at once; receipts
// "delivered" and "read" follow after Config.AckDelay and Config.ReadDelay.
func (s *Session) Send(ctx context.Context, msg engine.OutMessage) (engine.SendResult, error) {
	to, err := engine.ParseRecipient(msg.To.String())
	if err == nil && to.Server != engine.ServerUser && to.Server != engine.ServerGroup {
		err = fmt.Errorf("%w: %s is neither a user nor a group", engine.ErrInvalidRecipient, to.Server)
	}
	if err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", err)
	}
	if err := checkContent(msg); err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", err)
	}
	msg.To = to
	msg = ownCopy(msg)
	var res engine.SendResult
	err = s.do(ctx, func() error {
		if s.state != stateConnected {
			return engine.ErrNotConnected
		}
		if !onWhatsApp(to) {
			return engine.ErrNotOnWhatsApp
		}
		if to.IsGroup() && !s.eng.dir.canSendTo(to, engine.UserJID(s.pairing.Phone)) {
			return fmt.Errorf("%w: %s", engine.ErrGroupNotFound, to)
		}
		if msg.WAID == "" {
			msg.WAID = s.eng.newMessageID()
		}
		if err := s.rememberSent(msg.WAID); err != nil {
			return err
		}
		s.eng.dir.meet(s.id, to, "")
		s.eng.recordSent(s.id, msg)
		cfg := s.eng.cfg
		ids := []string{msg.WAID}
		s.sched.add(cfg.AckDelay, task{kind: taskReceipt, receipt: engine.Receipt{Chat: to, WAIDs: ids, Status: engine.ReceiptDelivered}})
		s.sched.add(cfg.AckDelay+cfg.ReadDelay, task{kind: taskReceipt, receipt: engine.Receipt{Chat: to, WAIDs: ids, Status: engine.ReceiptRead}})
		res = engine.SendResult{WAID: msg.WAID, ServerTime: s.eng.now()}
		return nil
	})
	if err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", err)
	}
	return res, nil
}

// rememberSent adds waid to the ids the contacts received, kept with the
// pairing (synced by the Store) before the send is acknowledged, as
// WhatsApp's servers keep a message once they accepted it. A message
// resent with the same id is the same message: the contact's phone keeps
// one, so the id is kept once.
func (s *Session) rememberSent(waid string) error {
	if slices.Contains(s.pairing.Sent, waid) {
		return nil
	}
	p := s.pairing
	p.Sent = append(slices.Clone(p.Sent), waid)
	if over := len(p.Sent) - s.eng.cfg.KeepSentIDs; over > 0 {
		p.Sent = p.Sent[over:]
	}
	if err := savePairing(s.eng.cfg.Store, s.id, p); err != nil {
		return err
	}
	s.pairing = p
	return nil
}

// CheckPhones implements engine.Session. Numbers starting with 999, and
// strings that are not phone numbers, are not on WhatsApp; every other
// number is. Each answer carries the phone as given.
func (s *Session) CheckPhones(ctx context.Context, phones []string) ([]engine.PhoneCheck, error) {
	err := s.do(ctx, func() error {
		if s.state != stateConnected {
			return engine.ErrNotConnected
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check phones: %w", err)
	}
	out := make([]engine.PhoneCheck, len(phones))
	for i, phone := range phones {
		out[i].Phone = phone
		p, err := engine.NormalizePhone(phone)
		if err != nil {
			continue
		}
		if jid := engine.UserJID(p); onWhatsApp(jid) {
			out[i].OnWhatsApp = true
			out[i].JID = jid
		}
	}
	return out, nil
}

// Close implements engine.Session. Receipts not yet delivered are kept by
// the Engine and arrive after the device's next Connected, as WhatsApp's
// servers would keep them. No event is emitted once Close has returned.
func (s *Session) Close() {
	s.closeOnce.Do(func() { close(s.quit) })
	<-s.done
}

// Scan implements engine.Sandbox: it pairs the device with its sandbox
// number ("1555" and the device id) and connects it.
func (s *Session) Scan(ctx context.Context) error {
	err := s.do(ctx, func() error {
		if s.state != stateQR {
			return engine.ErrNoQR
		}
		return s.completePairing(sandboxPairing(s.id))
	})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	return nil
}

// Inbound implements engine.Sandbox: it emits in as an engine.Message. From
// is a phone number or a user, LID or group JID; a group message is written
// by the participant GroupSenderPhone. Media arrives as a Ref to download
// with DownloadMedia, as from WhatsApp's media servers; the sender becomes
// one of the device's Contacts.
func (s *Session) Inbound(ctx context.Context, in engine.SandboxInbound) error {
	msg, err := inboundMessage(in)
	if err != nil {
		return fmt.Errorf("inbound: %w", err)
	}
	err = s.do(ctx, func() error {
		if s.state != stateConnected {
			return engine.ErrNotConnected
		}
		msg.WAID = s.eng.newMessageID()
		msg.Timestamp = s.eng.now()
		if msg.Media != nil {
			// Like WhatsApp's media servers: the device downloads it later.
			ref := mediaRefPrefix + strings.ToLower(s.eng.newMessageID())
			s.eng.dir.putMedia(ref, msg.Media.Data)
			msg.Media.Ref, msg.Media.Data = ref, nil
		}
		if !msg.IsGroup {
			s.eng.dir.meet(s.id, msg.Sender, msg.PushName)
		}
		s.emit(msg)
		return nil
	})
	if err != nil {
		return fmt.Errorf("inbound: %w", err)
	}
	return nil
}

// Activity implements engine.Sandbox: it emits what the contact did as
// WhatsApp reports it: a ChatPresenceUpdate (typing, recording, paused; in
// a.Group when set), a PresenceUpdate (online, offline, with the last-seen
// time) or a CallOffer (call, video_call) with a new call id.
func (s *Session) Activity(ctx context.Context, a engine.SandboxActivity) error {
	from, err := engine.ParseRecipient(a.From)
	if err == nil && from.Server != engine.ServerUser && from.Server != engine.ServerLID {
		err = fmt.Errorf("%w: a contact is a phone number or a user, not %s", engine.ErrInvalidRecipient, from)
	}
	if err == nil && !a.Group.IsZero() && !a.Group.IsGroup() {
		err = fmt.Errorf("%w: %s is not a group", ErrUnknownActivity, a.Group)
	}
	if err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	phone, lid := from.Phone(), ""
	if from.Server == engine.ServerLID {
		lid = from.User
	}
	var ev engine.Event
	err = s.do(ctx, func() error {
		if s.state != stateConnected {
			return engine.ErrNotConnected
		}
		now := s.eng.now()
		switch a.Kind {
		case engine.ActivityTyping, engine.ActivityRecording, engine.ActivityPaused:
			chat := from
			if !a.Group.IsZero() {
				chat = a.Group
			}
			ev = engine.ChatPresenceUpdate{Chat: chat, Sender: from, SenderPhone: phone, SenderLID: lid, State: engine.ChatPresence(a.Kind)}
		case engine.ActivityOnline:
			ev = engine.PresenceUpdate{From: from, FromPhone: phone, FromLID: lid, Available: true}
		case engine.ActivityOffline:
			ev = engine.PresenceUpdate{From: from, FromPhone: phone, FromLID: lid, LastSeen: now}
		case engine.ActivityCall, engine.ActivityVideoCall:
			ev = engine.CallOffer{CallID: s.eng.newMessageID(), From: from, FromPhone: phone, FromLID: lid, IsVideo: a.Kind == engine.ActivityVideoCall, At: now}
		default:
			return fmt.Errorf("%w: %q", ErrUnknownActivity, a.Kind)
		}
		s.emit(ev)
		return nil
	})
	if err != nil {
		return fmt.Errorf("activity: %w", err)
	}
	return nil
}

// Fault implements engine.Sandbox. FaultDisconnect, FaultBan and
// FaultStreamReplaced need a connection; FaultLogout needs a pairing.
//
//   - disconnect: Disconnected{"connection lost", Transient}; the pairing
//     stays and a later Connect logs in again.
//   - logout: the pairing is deleted; LoggedOut{"logged out from the phone"}.
//   - ban: TemporaryBan for Config.BanDuration, and the connection closes;
//     until it expires every Connect ends in TemporaryBan again.
//   - stream_replaced: StreamReplaced, and the connection closes.
func (s *Session) Fault(ctx context.Context, kind string) error {
	switch kind {
	case engine.FaultDisconnect, engine.FaultLogout, engine.FaultBan, engine.FaultStreamReplaced:
	default:
		return fmt.Errorf("fault %q: %w", kind, ErrUnknownFault)
	}
	err := s.do(ctx, func() error {
		if kind == engine.FaultLogout {
			if !s.pairing.Paired {
				return engine.ErrNotPaired
			}
			if err := s.unpair(); err != nil {
				return err
			}
			s.emit(engine.LoggedOut{Reason: reasonPhoneLogout})
			return nil
		}
		if s.state != stateConnected {
			return engine.ErrNotConnected
		}
		s.endConnection()
		switch kind {
		case engine.FaultDisconnect:
			s.emit(engine.Disconnected{Reason: reasonLost, Transient: true})
		case engine.FaultBan:
			until := s.eng.now().Add(s.eng.cfg.BanDuration)
			s.eng.ban(s.id, until)
			s.emit(engine.TemporaryBan{Reason: reasonBan, Expires: until})
		case engine.FaultStreamReplaced:
			s.emit(engine.StreamReplaced{})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fault %s: %w", kind, err)
	}
	s.log.Debug("fault injected", "kind", kind)
	return nil
}

// runTask does what a due task says.
func (s *Session) runTask(t *task) {
	switch t.kind {
	case taskConnect:
		s.finishConnect()
	case taskQRExpire:
		if s.qrShown < s.eng.cfg.QRCount {
			s.showQR()
			return
		}
		s.log.Debug("no QR code scanned")
		s.endConnection()
		s.emit(engine.QRTimeout{})
	case taskPair:
		p := sandboxPairing(s.id)
		p.Phone = t.phone
		if err := s.completePairing(p); err != nil {
			s.log.Error("pairing by code failed", "err", err)
			s.endConnection()
			s.emit(engine.Disconnected{Reason: reasonPairingStore, Transient: true})
		}
	case taskReceipt:
		r := t.receipt
		r.At = s.eng.now()
		if s.state == stateConnected {
			s.emit(r)
			return
		}
		s.eng.holdReceipts(s.id, r)
	}
}

// finishConnect is the server's answer to a connection attempt.
func (s *Session) finishConnect() {
	if until, banned := s.eng.bannedUntil(s.id, s.eng.now()); banned {
		s.log.Debug("login refused: temporary ban", "until", until)
		s.endConnection()
		s.emit(engine.TemporaryBan{Reason: reasonBan, Expires: until})
		return
	}
	if s.pairing.Paired {
		s.goOnline()
		return
	}
	s.state = stateQR
	s.qrShown = 0
	s.qrKeys = s.eng.qrKeys()
	s.showQR()
}

// showQR emits the next QR code and schedules its expiry.
func (s *Session) showQR() {
	s.qrShown++
	interval := s.eng.cfg.QRInterval
	s.emit(engine.QR{Code: s.eng.qrCode(s.qrKeys), ExpiresAt: s.eng.now().Add(interval)})
	s.sched.add(interval, task{kind: taskQRExpire, conn: true})
}

// completePairing stores p and logs in with it.
func (s *Session) completePairing(p pairing) error {
	if err := savePairing(s.eng.cfg.Store, s.id, p); err != nil {
		return err
	}
	s.log.Debug("paired")
	s.pairing = p
	s.paired.Store(true)
	s.sched.remove(func(t *task) bool { return t.conn })
	s.goOnline()
	return nil
}

// goOnline logs in: Connected, then the receipts held while offline.
func (s *Session) goOnline() {
	s.state = stateConnected
	s.log.Debug("connected")
	s.emit(engine.Connected{Phone: s.pairing.Phone, LID: s.pairing.LID, PushName: s.pairing.PushName})
	for _, r := range s.eng.takeHeldReceipts(s.id) {
		s.emit(r)
	}
}

// endConnection drops the connection attempt or connection, keeping the
// pairing and the receipts still on their way.
func (s *Session) endConnection() {
	s.state = stateIdle
	s.qrShown = 0
	s.sched.remove(func(t *task) bool { return t.conn })
}

// unpair deletes the pairing and everything on its way to the device.
func (s *Session) unpair() error {
	if err := s.eng.cfg.Store.Delete(s.id); err != nil {
		return fmt.Errorf("delete pairing of device %d: %w", s.id, err)
	}
	s.log.Debug("unpaired")
	s.endConnection()
	s.pairing = pairing{}
	s.paired.Store(false)
	s.sched.remove(func(t *task) bool { return t.kind == taskReceipt })
	s.eng.dropHeldReceipts(s.id)
	return nil
}

// shutdown stops the session for Close: receipts still on their way are
// handed to the Engine, dated when they would have arrived.
func (s *Session) shutdown() {
	s.sched.stop()
	if !s.pairing.Paired {
		return
	}
	now := s.eng.now()
	pending := s.sched.remove(func(t *task) bool { return t.kind == taskReceipt })
	held := make([]engine.Receipt, 0, len(pending))
	for _, t := range pending {
		r := t.receipt
		r.At = now.Add(max(time.Until(t.due), 0))
		held = append(held, r)
	}
	s.eng.holdReceipts(s.id, held...)
}

// onWhatsApp is the simulated directory: groups exist, and every phone
// number is registered except those starting with 999.
func onWhatsApp(j engine.JID) bool {
	return j.Server != engine.ServerUser || !strings.HasPrefix(j.User, "999")
}

// inboundMessage validates a sandbox message and turns it into the event
// (without its id and timestamp, which the session sets).
func inboundMessage(in engine.SandboxInbound) (engine.Message, error) {
	from, err := engine.ParseRecipient(in.From)
	if err != nil {
		return engine.Message{}, err
	}
	msg := engine.Message{Chat: from, Sender: from, PushName: in.PushName, Type: engine.TypeText, Text: in.Text}
	switch from.Server {
	case engine.ServerUser:
		msg.SenderPhone = from.User
	case engine.ServerLID:
		msg.SenderLID = from.User
	case engine.ServerGroup:
		msg.IsGroup = true
		msg.Sender = engine.UserJID(GroupSenderPhone)
		msg.SenderPhone = GroupSenderPhone
	default:
		return engine.Message{}, fmt.Errorf("%w: a contact writes from a phone number, a user or a group, not %s", engine.ErrInvalidRecipient, from.Server)
	}
	switch {
	case in.Type == engine.TypeReaction || in.Type == engine.TypeEdit || in.Type == engine.TypeRevoke:
		if in.TargetWAID == "" || (in.Type == engine.TypeEdit && in.Text == "") {
			return engine.Message{}, fmt.Errorf("%w: a %s needs the target's id (and an edit its text)", ErrBadInbound, in.Type)
		}
		msg.Type = in.Type
		msg.Target = &engine.MessageRef{WAID: in.TargetWAID, FromMe: true}
		return msg, nil
	case in.Type != "":
		return engine.Message{}, fmt.Errorf("%w: type %q", ErrBadInbound, in.Type)
	case in.Location != nil:
		l := *in.Location
		msg.Type, msg.Location = engine.TypeLocation, &l
		return msg, nil
	case in.Contact != nil:
		c := *in.Contact
		msg.Type, msg.Contact = engine.TypeContact, &c
		return msg, nil
	case in.Poll != nil:
		p := *in.Poll
		p.Options = append([]string(nil), p.Options...)
		msg.Type, msg.Poll = engine.TypePoll, &p
		return msg, nil
	}
	if in.Media != nil {
		switch in.Media.Kind {
		case engine.TypeImage, engine.TypeVideo, engine.TypeAudio, engine.TypeVoice, engine.TypeDocument, engine.TypeSticker:
		default:
			return engine.Message{}, fmt.Errorf("%w: media kind %q", ErrBadInbound, in.Media.Kind)
		}
		media := *in.Media
		if media.Size == 0 {
			media.Size = int64(len(media.Data))
		}
		msg.Media = &media
		msg.Type = media.Kind
	} else if strings.TrimSpace(in.Text) == "" {
		return engine.Message{}, fmt.Errorf("%w: no text and no media", ErrBadInbound)
	}
	return msg, nil
}

var (
	_ engine.Session = (*Session)(nil)
	_ engine.Sandbox = (*Session)(nil)
)
