package live

import (
	"context"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// onEvent handles one whatsmeow event of attempt a. It returns false for a
// message it could not hand over (the session is closed or the attempt is
// over), so that whatsmeow does not acknowledge it and WhatsApp redelivers.
func (s *session) onEvent(a *attempt, evt any) bool {
	defer s.lastEvent.Store(time.Now().UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	current := !s.closed && s.cur == a
	switch e := evt.(type) {
	case *events.Message:
		if !current {
			return false
		}
		if m, ok := s.message(a, e); ok {
			s.emit(m)
		}
		return true
	case *events.Receipt:
		if current {
			if r, ok := receipt(e); ok {
				s.emit(r)
			}
		}
		return true
	}
	if !current {
		return true
	}
	switch e := evt.(type) {
	case *events.Connected:
		s.stopTimers()
		s.state = stateConnected
		s.paired.Store(true)
		d := a.cli.Store
		c := engine.Connected{PushName: d.PushName}
		if d.ID != nil {
			c.Phone = d.ID.User
		}
		if !d.LID.IsEmpty() {
			c.LID = d.LID.User
		}
		s.log.Info("connected", "phone", c.Phone)
		s.emit(c)
	case *events.QR:
		if (s.state == stateConnecting || s.state == stateQR) && len(e.Codes) > 0 && s.qrTimer == nil {
			a.qrCodes = e.Codes
			s.showQR(a, 0)
		}
	case *events.PairError:
		s.log.Warn("pairing failed", "err", e.Error)
		s.endAttempt()
		s.emit(engine.Disconnected{Reason: "pairing failed: " + e.Error.Error(), Transient: true})
	case *events.QRScannedWithoutMultidevice:
		s.log.Warn("QR code scanned by a phone without multi-device support")
	case *events.PairSuccess:
		s.stopTimers()
		s.paired.Store(true)
		s.log.Info("paired", "jid", e.ID.String(), "platform", e.Platform)
		s.state = stateConnecting
		s.loginTimer = time.AfterFunc(loginAfterPairing, func() { s.loginTimedOut(a) })
	case *events.Disconnected:
		if s.loginTimer != nil {
			// The server restarts the stream after pairing (515) and
			// whatsmeow reconnects by itself; loginTimedOut reports a
			// login that never comes.
			break
		}
		if s.state != stateIdle && s.dropTimer == nil {
			// The reason, if any, may still be on its way (see dropGrace).
			s.dropTimer = time.AfterFunc(dropGrace, func() { s.dropped(a) })
		}
	case *events.LoggedOut:
		// whatsmeow deletes the keys too, but after this event: they are
		// gone before anyone hears of the logout.
		if err := s.e.cfg.Store.Forget(s.ctx, s.id); err != nil {
			s.log.Error("delete the keys of a logged out device", "err", err)
		}
		s.paired.Store(false)
		reason := reasonPhoneLogout
		if e.OnConnect {
			reason = e.Reason.String()
		}
		s.log.Info("logged out", "reason", reason)
		s.endAttempt()
		s.emit(engine.LoggedOut{Reason: reason})
	case *events.StreamReplaced:
		s.log.Warn("another client connected with this device's keys")
		s.endAttempt()
		s.emit(engine.StreamReplaced{})
	case *events.TemporaryBan:
		s.log.Warn("temporarily banned", "reason", e.Code.String(), "for", e.Expire)
		s.endAttempt()
		// WhatsApp's words, without whatsmeow's "101: " code prefix.
		_, reason, _ := strings.Cut(e.Code.String(), ": ")
		s.emit(engine.TemporaryBan{Reason: reason, Expires: time.Now().Add(e.Expire)})
	case *events.ClientOutdated:
		s.endAttempt()
		s.state = stateConnecting // the retry is still connecting
		s.wg.Add(1)
		go s.retryOutdated(a.version)
	case *events.ConnectFailure:
		s.log.Warn("WhatsApp refused the connection", "reason", e.Reason.String(), "message", e.Message)
		s.endAttempt()
		s.emit(engine.Disconnected{Reason: "connect failure: " + e.Reason.String(), Transient: true})
	case *events.KeepAliveTimeout:
		s.log.Info("keepalive timed out", "errors", e.ErrorCount, "lastSuccess", e.LastSuccess)
		// whatsmeow forces a reconnect here only with its own reconnect
		// loop, which is off: the actor reconnects instead.
		if time.Since(e.LastSuccess) > whatsmeow.KeepAliveMaxFailTime && s.state != stateIdle {
			s.endAttempt()
			s.emit(engine.Disconnected{Reason: "keepalive timed out", Transient: true})
		}
	case *events.JoinedGroup:
		s.emit(s.joinedGroup(a, e))
	case *events.GroupInfo:
		for _, ev := range s.groupChanges(a, e) {
			s.emit(ev)
		}
	case *events.ChatPresence:
		s.emit(s.chatPresence(a, e))
	case *events.Presence:
		s.emit(s.presence(a, e))
	case *events.CallOffer:
		s.emit(s.callOffer(a, e))
	case *events.UndecryptableMessage:
		s.log.Warn("message could not be decrypted", "id", e.Info.ID, "from", e.Info.Sender.String())
	}
	return true
}

// dropped reports a connection drop that no permanent reason followed.
func (s *session) dropped(a *attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cur != a || s.state == stateIdle {
		return
	}
	s.log.Info("connection lost")
	s.endAttempt()
	s.emit(engine.Disconnected{Reason: reasonLost, Transient: true})
}

// loginTimedOut reports a pairing whose login never came.
func (s *session) loginTimedOut(a *attempt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cur != a || s.state != stateConnecting {
		return
	}
	s.log.Warn("no login after pairing")
	s.endAttempt()
	s.emit(engine.Disconnected{Reason: "no login after pairing", Transient: true})
}

// QR codes rotate as on WhatsApp Web: the first is shown for a minute,
// each next one for 20 seconds; after the last the attempt ends with
// QRTimeout (WhatsApp closes the connection about then too).
const (
	qrFirstDefault = 60 * time.Second
	qrNextDefault  = 20 * time.Second
)

// showQR emits code i of the attempt and schedules the next. Called with
// s.mu held.
func (s *session) showQR(a *attempt, i int) {
	d := s.e.qrNext
	if i == 0 {
		d = s.e.qrFirst
	}
	s.state = stateQR
	s.emit(engine.QR{Code: a.qrCodes[i], ExpiresAt: time.Now().Add(d)})
	s.qrTimer = time.AfterFunc(d, func() { s.nextQR(a, i+1) })
}

// nextQR shows code i, or ends the attempt when the codes ran out.
func (s *session) nextQR(a *attempt, i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cur != a || s.state != stateQR {
		return
	}
	if i < len(a.qrCodes) {
		s.showQR(a, i)
		return
	}
	s.log.Info("no QR code scanned")
	s.endAttempt()
	s.emit(engine.QRTimeout{})
}

// retryOutdated follows WhatsApp's refusal of the version seen: with a
// newer version it connects once more, otherwise it reports
// ClientOutdated.
func (s *session) retryOutdated(seen store.WAVersionContainer) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	retry, err := s.e.refreshVersion(ctx, seen)
	cancel()
	if err != nil {
		s.log.Error("WhatsApp refused our version and the current one is unknown", "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.cur != nil || s.state != stateConnecting {
		return // disconnected, logged out or closed meanwhile
	}
	if retry && !s.retriedOutdated {
		s.retriedOutdated = true
		s.state = stateIdle
		err := s.startAttempt()
		if err == nil {
			return
		}
		s.log.Error("reconnect with the current version", "err", err)
	}
	s.state = stateIdle
	s.emit(engine.ClientOutdated{})
}
