package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Pacing: the device actor drives its pacing.Pacer as actors/pacing/doc.go
// says. pump asks the pacer what to do with the queue and does it: wait
// (one timer), show typing, check a number, refuse, or send; what happens
// (sends, checks, inbound messages, WhatsApp's refusals) is reported back,
// and the pacer's state is stored with the change that moved it, so a
// restart neither hands out a fresh day nor forgets a pause.

const (
	// presenceLimit bounds a chat presence update, sent on the actor (a
	// small write that does not wait for an answer) so that typing and
	// paused reach a chat in order.
	presenceLimit = 5 * time.Second
	// checkRetry is the first wait after a failed number check (doubled
	// for each further failure, up to maxSendAttempts).
	checkRetry = 2 * time.Second
	// knownChatsLimit bounds the cache of chats known to have history.
	knownChatsLimit = 4096
	// codeCancelled is the error code of a message cancelled while queued.
	codeCancelled = "cancelled"
)

// DefaultPacingProfile is the pacing profile of a new device of an engine.
// Sandbox (sim) devices default to off: they are simulated, and pacing a
// simulator protects no number. Real devices default to balanced.
func DefaultPacingProfile(engineName string) pacing.Profile {
	if engineName == "sim" {
		return pacing.ProfileOff
	}
	return pacing.DefaultProfile
}

// PacingSettings returns the pacing settings in force for a device: its
// stored settings, or else the preset of its profile (or of its engine's
// default profile). Stored settings that no longer validate give way to
// the preset.
func PacingSettings(d storage.Device) pacing.Settings {
	profile := DefaultPacingProfile(d.Engine)
	if p, err := pacing.ParseProfile(d.Pacing); err == nil {
		profile = p
	}
	if len(d.PacingSettings) > 0 {
		var s pacing.Settings
		if json.Unmarshal(d.PacingSettings, &s) == nil && s.Validate() == nil {
			return s
		}
	}
	return pacing.Preset(profile)
}

// storedPacing is how settings are stored on the device: the profile name,
// and the settings only when they differ from that profile's preset, so
// that a device on a plain profile follows the preset as it evolves.
func storedPacing(s pacing.Settings) (string, json.RawMessage, error) {
	if s == pacing.Preset(s.Profile) {
		return string(s.Profile), nil, nil
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return "", nil, fmt.Errorf("encode pacing settings: %w", err)
	}
	return string(s.Profile), raw, nil
}

// shownPresence is the chat presence shown for a message about to go.
type shownPresence struct {
	msgID string
	chat  engine.JID
}

// initPacer builds the device's pacer from its settings and restores the
// state stored before a restart. The warm-up counts from the device's
// creation.
func (a *deviceActor) initPacer() {
	s := PacingSettings(a.dev)
	if len(a.dev.PacingSettings) > 0 {
		var stored pacing.Settings
		if err := json.Unmarshal(a.dev.PacingSettings, &stored); err != nil || stored.Validate() != nil {
			a.log.Error("stored pacing settings are invalid; using the profile's preset", "profile", s.Profile)
		}
	}
	p, err := pacing.NewPacer(s, a.dev.CreatedAt, nil)
	if err != nil {
		// PacingSettings only returns valid settings.
		panic(fmt.Errorf("device %d: pacer: %w", a.id, err))
	}
	a.pacer = p
	a.known = make(map[string]bool)
	raw, err := a.g.db.GetPacerState(a.id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return
	case err != nil:
		panic(fmt.Errorf("device %d: load pacer state: %w", a.id, err)) // supervision retries
	}
	var snap pacing.Snapshot
	if err := json.Unmarshal(raw, &snap); err != nil {
		a.log.Error("stored pacer state is unreadable; pacing starts afresh", "err", err)
		return
	}
	if err := p.Restore(snap); err != nil {
		a.log.Error("stored pacer state is invalid; pacing starts afresh", "err", err)
	}
}

// pacerState is the pacer's snapshot at now, encoded for the store.
func (a *deviceActor) pacerState(now time.Time) []byte {
	raw, err := json.Marshal(a.pacer.Snapshot(now))
	if err != nil {
		a.log.Error("encode pacer state", "err", err)
		return nil
	}
	return raw
}

// savePacer stores the pacer's state on its own (after a check, a pause or
// a resume; a send stores it with the message).
func (a *deviceActor) savePacer(now time.Time) {
	state := a.pacerState(now)
	if state == nil || a.deleted {
		return
	}
	if err := a.g.db.PutPacerState(a.id, state); err != nil {
		a.log.Error("store pacer state", "err", err)
	}
}

// knownChat reports whether the device has history with a chat (a message
// either way in its store). Positive answers are cached.
func (a *deviceActor) knownChat(chat string) bool {
	if a.known[chat] {
		return true
	}
	_, err := a.g.db.GetChat(a.id, chat)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			a.log.Warn("read chat", "chat", chat, "err", err)
		}
		return false
	}
	a.markKnown(chat)
	return true
}

func (a *deviceActor) markKnown(chat string) {
	if len(a.known) >= knownChatsLimit {
		clear(a.known) // only costs reads from the store again
	}
	a.known[chat] = true
}

// outgoingOf is a queued message as the pacer sees it.
func (a *deviceActor) outgoingOf(m storage.Message, to engine.JID) pacing.Outgoing {
	o := pacing.Outgoing{ID: m.ID, Chat: m.Chat, Group: to.IsGroup(), Known: a.knownChat(m.Chat), Kind: pacing.KindText}
	if to.Server == engine.ServerUser {
		o.Phone = to.User
	}
	runes := utf8.RuneCountInString
	switch engine.MessageType(m.Type) {
	case engine.TypeReaction, engine.TypeRevoke:
		o.Kind = pacing.KindReaction
	case engine.TypeVoice:
		o.Kind = pacing.KindVoice
		if m.Media != nil {
			o.MediaSeconds = m.Media.Seconds
		}
	case engine.TypeImage, engine.TypeVideo, engine.TypeAudio, engine.TypeDocument, engine.TypeSticker:
		o.Kind, o.TextLen = pacing.KindMedia, runes(m.Caption)
	default:
		o.TextLen = runes(m.Text)
		if p := m.Poll; p != nil {
			o.TextLen += runes(p.Name)
			for _, opt := range p.Options {
				o.TextLen += runes(opt)
			}
		}
		if l := m.Location; l != nil {
			o.TextLen += runes(l.Name) + runes(l.Address)
		}
		if c := m.Contact; c != nil {
			o.TextLen += runes(c.DisplayName)
		}
	}
	return o
}

// pump asks the pacer what to do with the queue and does it. It runs
// whenever something changed (a message queued, sent or cancelled, a
// reply, a reconnect, the pacing timer); asking again is free. One action
// at a time: while a send or a check runs, it does nothing.
func (a *deviceActor) pump(ctx actor.Context) {
	if a.deleted || a.pacer == nil || a.sending != "" || a.checking != "" {
		return
	}
	if a.sess == nil || a.dev.Status != StatusConnected {
		a.stopPaceTimer()
		a.endPresence("")
		return
	}
	now := time.Now()
	q, err := a.g.db.QueuedMessages(a.id, pacing.Lookahead)
	if err != nil {
		a.log.Error("read send queue", "err", err)
		return
	}
	msgs := make([]storage.Message, 0, len(q))
	outs := make([]pacing.Outgoing, 0, len(q))
	for _, m := range q {
		to, err := engine.ParseRecipient(m.To)
		if err != nil {
			a.fail(ctx, m, "invalid_recipient", err.Error())
			continue
		}
		msgs, outs = append(msgs, m), append(outs, a.outgoingOf(m, to))
	}
	a.syncPauseReason(ctx, now)
	if len(outs) == 0 {
		a.endPresence("")
		// Wake when a pause ends, to clear the status reason.
		if until := a.pausedUntil(now); !until.IsZero() {
			a.armPace(until)
		} else {
			a.stopPaceTimer()
		}
		return
	}
	i, d := a.pacer.Next(now, outs)
	m, o := msgs[i], outs[i]
	switch d.Action {
	case pacing.ActionWait:
		a.endPresence("")
		a.armPace(d.At)
	case pacing.ActionType:
		a.showPresence(m, d.Presence)
		a.armPace(d.At)
	case pacing.ActionSend:
		a.stopPaceTimer()
		a.endPresence(m.ID)
		a.send(ctx, m, o)
	case pacing.ActionCheck:
		a.stopPaceTimer()
		a.endPresence("")
		a.check(m, o)
	case pacing.ActionRefuse:
		a.endPresence("")
		a.fail(ctx, m, string(d.Reason), "The recipient is not on WhatsApp (checked before sending); the message was not sent")
		ctx.Send(a.self, pump{})
	}
}

// armPace sets the one pacing timer to fire at at, replacing any other.
func (a *deviceActor) armPace(at time.Time) {
	a.stopPaceTimer()
	gen, self, sys := a.paceGen, a.self, a.sys
	// At least a millisecond, so that a due time just past cannot spin.
	wait := max(time.Until(at), time.Millisecond)
	a.paceTimer = time.AfterFunc(wait, func() { sys.Root.Send(self, paceDue{gen: gen}) })
}

// stopPaceTimer stops the pacing timer; a firing already on its way is
// ignored (its generation is past).
func (a *deviceActor) stopPaceTimer() {
	if a.paceTimer != nil {
		a.paceTimer.Stop()
		a.paceTimer = nil
	}
	a.paceGen++
}

// showPresence shows typing (or recording) in m's chat, once per message.
func (a *deviceActor) showPresence(m storage.Message, p pacing.Presence) {
	if a.presence.msgID == m.ID {
		return
	}
	a.endPresence("")
	chat, err := engine.ParseRecipient(m.Chat)
	if err != nil {
		return
	}
	state := engine.ChatTyping
	if p == pacing.PresenceRecording {
		state = engine.ChatRecording
	}
	a.presence = shownPresence{msgID: m.ID, chat: chat}
	a.sendPresence(chat, state)
}

// endPresence stops the presence shown, unless it is for sending (which
// is about to go: the message itself ends "typing…" on the contact's
// phone). The chat gets "paused" when its message is held up or gone.
func (a *deviceActor) endPresence(sending string) {
	p := a.presence
	if p.msgID == "" {
		return
	}
	a.presence = shownPresence{}
	if p.msgID != sending {
		a.sendPresence(p.chat, engine.ChatPaused)
	}
}

// sendPresence sends a chat presence, if the engine can. A failure only
// costs the presence: it is logged, the send goes on.
func (a *deviceActor) sendPresence(chat engine.JID, state engine.ChatPresence) {
	p, ok := a.sess.(engine.Presence)
	if !ok {
		return
	}
	c, cancel := context.WithTimeout(context.Background(), presenceLimit)
	defer cancel()
	if err := p.SendChatPresence(c, chat, state); err != nil {
		a.log.Debug("chat presence", "chat", chat.String(), "state", state, "err", err)
	}
}

// check asks WhatsApp, off the actor, whether o's number is on it.
func (a *deviceActor) check(m storage.Message, o pacing.Outgoing) {
	a.checking = m.ID
	sess, gen, self, sys, phone, id := a.sess, a.gen, a.self, a.sys, o.Phone, m.ID
	go func() {
		c, cancel := context.WithTimeout(context.Background(), queryLimit)
		defer cancel()
		res, err := sess.CheckPhones(c, []string{phone})
		on := false
		if err == nil && len(res) == 1 {
			on = res[0].OnWhatsApp
		} else if err == nil {
			err = fmt.Errorf("check %s: %d answers for one number", phone, len(res))
		}
		sys.Root.Send(self, checkDone{gen: gen, msgID: id, phone: phone, on: on, err: err})
	}()
}

func (a *deviceActor) onCheckDone(ctx actor.Context, d checkDone) {
	if d.msgID == a.checking {
		a.checking = ""
	}
	if a.deleted {
		return
	}
	now := time.Now()
	switch {
	case d.err == nil:
		delete(a.attempts, d.msgID)
		a.pacer.NumberChecked(now, d.phone, d.on)
		a.savePacer(now)
	case errors.Is(d.err, engine.ErrUnsupported):
		// An engine that cannot check: the send will say.
		a.pacer.NumberChecked(now, d.phone, true)
		a.savePacer(now)
	case errors.Is(d.err, engine.ErrRateLimited):
		a.pause(ctx, now, pacing.PauseRateLimited, time.Time{})
	case errors.Is(d.err, engine.ErrNotConnected), d.gen != a.gen:
		return // asked again after the next Connected
	default:
		a.attempts[d.msgID]++
		n := a.attempts[d.msgID]
		if n < maxSendAttempts {
			a.log.Warn("number check failed, will retry", "msg", d.msgID, "attempt", n, "err", d.err)
			self, sys := a.self, a.sys
			time.AfterFunc(checkRetry<<(n-1), func() { sys.Root.Send(self, pump{}) })
			return
		}
		delete(a.attempts, d.msgID)
		if m, err := a.g.db.GetMessage(a.dev.WorkspaceID, d.msgID); err == nil && m.Status == MessageQueued {
			a.fail(ctx, m, "send_failed", "Could not check whether the recipient is on WhatsApp: "+d.err.Error())
		}
	}
	ctx.Send(a.self, pump{})
}

// pause reports one of WhatsApp's refusals to the pacer, stores its state
// and says so in the device's status reason.
func (a *deviceActor) pause(ctx actor.Context, now time.Time, r pacing.PauseReason, until time.Time) {
	end := a.pacer.Pause(now, r, until)
	a.savePacer(now)
	a.log.Warn("sending paused", "reason", r, "until", end)
	a.syncPauseReason(ctx, now)
}

// pausedUntil is the end of the latest pause in force at now (zero when
// none).
func (a *deviceActor) pausedUntil(now time.Time) time.Time {
	var until time.Time
	for _, p := range a.pacer.Status(now).Pauses {
		if p.Until.After(until) {
			until = p.Until
		}
	}
	return until
}

// syncPauseReason makes a connected device's status reason say whether
// sending is paused (paused_<reason>), emitting device.status when it
// changes. Other statuses keep their own reason.
func (a *deviceActor) syncPauseReason(ctx actor.Context, now time.Time) {
	if a.dev.Status != StatusConnected {
		return
	}
	want := ""
	if ps := a.pacer.Status(now).Pauses; len(ps) > 0 {
		want = ReasonPausedPrefix + string(ps[0].Reason)
	}
	cur := a.dev.StatusReason
	if want != cur && (want != "" || strings.HasPrefix(cur, ReasonPausedPrefix)) {
		a.setStatus(ctx, StatusConnected, want)
	}
}

// paceEngineEvent tells the pacer what the session reported: replies
// relax a chat's spacing, a temporary ban pauses sending until it
// expires, and logging in again after a ban lifts that pause.
func (a *deviceActor) paceEngineEvent(ctx actor.Context, ev engine.Event) {
	if a.pacer == nil {
		return
	}
	now := time.Now()
	switch e := ev.(type) {
	case engine.Message:
		if e.FromMe {
			return
		}
		chat := e.Chat.String()
		a.pacer.Received(now, chat)
		a.markKnown(chat)
		ctx.Send(a.self, pump{})
	case engine.TemporaryBan:
		a.pause(ctx, now, pacing.PauseTemporaryBan, e.Expires)
	case engine.Connected:
		for _, p := range a.pacer.Status(now).Pauses {
			if p.Reason == pacing.PauseTemporaryBan {
				a.pacer.Resume(now, pacing.PauseTemporaryBan)
				a.savePacer(now)
				break
			}
		}
	}
}

// ---- the queue view and cancellation

// QueueView is a device's send queue as GET /api/devices/{id}/queue shows
// it: what waits, in order, when each message is expected to go, and the
// pacer's state.
type QueueView struct {
	DeviceID int64
	// Status is the device's status: estimates assume it stays
	// CONNECTED, and are left out otherwise.
	Status   string
	Settings pacing.Settings
	Pacing   pacing.Status
	// Depth counts every queued message; Items are the oldest of them.
	Depth int
	Items []QueuedMessage
}

// QueuedMessage is one message of the queue view.
type QueuedMessage struct {
	Message storage.Message
	// At is when it is expected to go, if nothing else happens (no reply,
	// no refusal, every number on WhatsApp); zero when not known.
	At time.Time
	// Reason is what holds it until then: a pacing.Reason, "sending" or
	// "checking" while the device is busy with it, "not_connected" while
	// the device is not connected, "invalid_recipient" for a message that
	// will fail.
	Reason string
	// Refused is true for a message that will fail without being sent
	// (not_on_whatsapp).
	Refused bool
}

// Limits of the queue view: the forecast costs about limit times the
// number of chats in the queue.
const (
	DefaultQueueView = 50
	MaxQueueView     = 200
)

func (a *deviceActor) cmdQueue(limit int) reply {
	limit = min(max(limit, 1), MaxQueueView)
	now := time.Now()
	q, err := a.g.db.QueuedMessages(a.id, limit)
	if err != nil {
		return reply{err: fmt.Errorf("read send queue: %w", err)}
	}
	depth, err := a.g.db.QueueDepth(a.id)
	if err != nil {
		return reply{err: err}
	}
	v := QueueView{DeviceID: a.id, Status: a.dev.Status, Settings: a.pacer.Settings(), Pacing: a.pacer.Status(now),
		Depth: depth, Items: make([]QueuedMessage, len(q))}
	valid := make([]int, 0, len(q))
	outs := make([]pacing.Outgoing, 0, len(q))
	for i, m := range q {
		v.Items[i].Message = m
		to, err := engine.ParseRecipient(m.To)
		if err != nil {
			v.Items[i].Reason, v.Items[i].Refused = "invalid_recipient", true
			continue
		}
		valid, outs = append(valid, i), append(outs, a.outgoingOf(m, to))
	}
	connected := a.sess != nil && a.dev.Status == StatusConnected
	var est []pacing.Estimate
	if connected {
		est = a.pacer.Forecast(now, outs, len(outs))
	}
	for k, i := range valid {
		it := &v.Items[i]
		switch {
		case it.Message.ID == a.sending:
			it.At, it.Reason = now, "sending"
		case it.Message.ID == a.checking:
			it.Reason = "checking"
		case !connected:
			it.Reason = "not_connected"
		default:
			it.At, it.Reason, it.Refused = est[k].At, string(est[k].Reason), est[k].Refused
		}
	}
	return reply{val: v}
}

// cmdCancel cancels a queued message that is not being sent: it fails
// with the code "cancelled" and message.failed says so.
func (a *deviceActor) cmdCancel(ctx actor.Context, id string) reply {
	m, err := a.g.db.GetMessage(a.dev.WorkspaceID, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && m.DeviceID != a.id) {
		return reply{err: ErrMessageNotFound}
	}
	if err != nil {
		return reply{err: err}
	}
	switch {
	case m.Direction != "out" || m.Status != MessageQueued:
		return reply{err: fmt.Errorf("%w: it is %s", ErrNotCancellable, m.Status)}
	case m.ID == a.sending:
		return reply{err: fmt.Errorf("%w: it is being sent", ErrNotCancellable)}
	}
	delete(a.attempts, m.ID)
	m.Status = MessageFailed
	m.FailedAt = time.Now().UTC()
	m.Error = &storage.MessageError{Code: codeCancelled, Message: "Cancelled before it was sent"}
	if err := a.saveMessage(ctx, m, a.event(EventMessageFailed, statusData(m))...); err != nil {
		return reply{err: fmt.Errorf("store cancelled message: %w", err)}
	}
	ctx.Send(a.self, pump{})
	return reply{val: m}
}
