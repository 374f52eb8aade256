package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// What the session reports: status changes, receipts, inbound messages,
// and how the device actor records them and emits events.

func (a *deviceActor) onEngineEvent(ctx actor.Context, ev engine.Event) {
	switch e := ev.(type) {
	case engine.QR:
		a.qr = &QRCode{Code: e.Code, ExpiresAt: e.ExpiresAt.UTC()}
		a.setStatus(ctx, StatusScanQR, "", a.event(EventDeviceQR, qrData(e.Code, e.ExpiresAt))...)
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
	case engine.GroupUpdate:
		d := groupUpdateData{Group: e.Group.String(), Actor: jidString(e.Actor), ActorPhone: e.ActorPhone, ActorLID: e.ActorLID,
			Joined: e.Joined, Subject: e.Subject, Announce: e.Announce, Locked: e.Locked, Timestamp: eventTime(e.At)}
		if e.DescriptionSet {
			d.Description = &e.Description
		}
		a.emit(ctx, EventGroupUpdate, d)
	case engine.GroupParticipants:
		d := groupParticipantsData{Group: e.Group.String(), Actor: jidString(e.Actor), ActorPhone: e.ActorPhone, ActorLID: e.ActorLID,
			Action: string(e.Action), Participants: make([]participantData, len(e.Participants)), Timestamp: eventTime(e.At)}
		for i, p := range e.Participants {
			d.Participants[i] = participantData{JID: p.JID.String(), Phone: p.Phone, LID: p.LID}
		}
		a.emit(ctx, EventGroupMembers, d)
	case engine.PresenceUpdate:
		d := presenceData{From: e.From.String(), FromPhone: e.FromPhone, FromLID: e.FromLID, Available: e.Available}
		if !e.LastSeen.IsZero() {
			seen := e.LastSeen.UTC()
			d.LastSeen = &seen
		}
		a.emit(ctx, EventPresenceUpdate, d)
	case engine.ChatPresenceUpdate:
		a.emit(ctx, EventChatPresence, chatPresenceData{Chat: e.Chat.String(), From: e.Sender.String(),
			FromPhone: e.SenderPhone, FromLID: e.SenderLID, IsGroup: e.Chat.IsGroup(), State: string(e.State)})
	case engine.CallOffer:
		a.emit(ctx, EventCallOffer, callOfferData{CallID: e.CallID, From: e.From.String(), FromPhone: e.FromPhone, FromLID: e.FromLID,
			IsVideo: e.IsVideo, IsGroup: e.IsGroup, Timestamp: eventTime(e.At)})
	}
}

// eventTime is when something WhatsApp reported happened, in UTC; now
// when it did not say.
func eventTime(at time.Time) time.Time {
	if at.IsZero() {
		return time.Now().UTC()
	}
	return at.UTC()
}

// jidString is a JID as events carry it; "" for none.
func jidString(j engine.JID) string {
	if j.IsZero() {
		return ""
	}
	return j.String()
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
		if err := a.saveMessage(ctx, m, a.event(EventMessageAck, statusData(m))...); err != nil {
			a.log.Error("store receipt", "err", err)
			continue
		}
	}
}

func (a *deviceActor) onMessage(ctx actor.Context, e engine.Message) {
	if e.WAID != "" {
		if _, err := a.g.db.GetMessageByWAID(a.id, e.WAID); err == nil {
			return // a redelivery of what is already stored
		}
	}
	switch e.Type {
	case engine.TypeEdit, engine.TypeRevoke:
		a.onChange(ctx, e)
		return
	}
	m := a.inboundRecord(e)
	evs := a.event(EventMessageReceived, receivedData(m, a.g.media))
	if e.Type == engine.TypeReaction {
		evs = a.event(EventMessageReaction, reactionData(m))
	}
	if err := a.saveMessage(ctx, m, evs...); err != nil {
		a.log.Error("store inbound message", "err", err)
		return
	}
	if err := a.g.db.RecordChatMessage(m); err != nil {
		a.log.Warn("record chat", "err", err)
	}
}

// inboundRecord converts an inbound message to its stored form; inline
// media bytes are stored as a file on the way.
func (a *deviceActor) inboundRecord(e engine.Message) storage.Message {
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
		m.Media = &storage.MediaInfo{MimeType: e.Media.MimeType, Size: e.Media.Size, FileName: e.Media.FileName, Seconds: e.Media.Seconds}
		m.MediaRef = e.Media.Ref
		if len(e.Media.Data) > 0 {
			m.Media.Size = int64(len(e.Media.Data))
			m.Media.FileID = a.storeInboundMedia(m.ID, e.Media)
		}
	} else {
		m.Text = e.Text
	}
	if e.QuotedWAID != "" {
		m.QuotedID = e.QuotedWAID
		if q, err := a.g.db.GetMessageByWAID(a.id, e.QuotedWAID); err == nil {
			m.QuotedID = q.ID
		}
	}
	for _, j := range e.Mentions {
		m.Mentions = append(m.Mentions, j.String())
	}
	if l := e.Location; l != nil {
		m.Location = &storage.Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
	}
	if c := e.Contact; c != nil {
		m.Contact = &storage.ContactCard{DisplayName: c.DisplayName, VCard: c.VCard}
	}
	if p := e.Poll; p != nil {
		m.Poll = &storage.Poll{Name: p.Name, Options: append([]string(nil), p.Options...), SelectableCount: p.SelectableCount}
	}
	if e.Target != nil {
		m.TargetWAID = e.Target.WAID
		if t, err := a.g.db.GetMessageByWAID(a.id, e.Target.WAID); err == nil {
			m.TargetID = t.ID
		}
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = m.CreatedAt
	}
	return m
}

// onChange applies an inbound edit or revocation to the message it is
// about and emits message.edited or message.revoked. A target the gateway
// never stored is reported with its WhatsApp id only.
func (a *deviceActor) onChange(ctx actor.Context, e engine.Message) {
	d := changeData{Chat: e.Chat.String(), From: e.Sender.String(), FromPhone: e.SenderPhone, FromLID: e.SenderLID, Timestamp: e.Timestamp.UTC()}
	if d.Timestamp.IsZero() {
		d.Timestamp = time.Now().UTC()
	}
	var changed *storage.Message
	if e.Target != nil {
		d.WAID = e.Target.WAID
		if t, err := a.g.db.GetMessageByWAID(a.id, e.Target.WAID); err == nil {
			d.ID = t.ID
			if e.Type == engine.TypeEdit {
				setEditedText(&t, e.Text)
				t.EditedAt = d.Timestamp
			} else {
				t.RevokedAt = d.Timestamp
			}
			changed = &t
		}
	}
	typ := EventMessageRevoked
	if e.Type == engine.TypeEdit {
		d.Text = e.Text
		typ = EventMessageEdited
	}
	if changed == nil {
		a.emit(ctx, typ, d)
		return
	}
	// The change and its event are stored together.
	if err := a.saveMessage(ctx, *changed, a.event(typ, d)...); err != nil {
		a.log.Error("store changed message", "err", err)
	}
}

// ---- the event path
//
// An event is stored in the workspace's outbox in the same synced batch as
// the change that caused it, then handed to the workspace actor, which
// logs it (workspace.go). A crash in between loses nothing: the workspace
// actor logs what its outbox holds when it starts.

// setStatus records a status change and emits device.status, with extra
// (a device.qr) in the same synced batch; a repeat of the current status
// and reason stores the device and extra only.
func (a *deviceActor) setStatus(ctx actor.Context, status, reason string, extra ...storage.Event) {
	if a.dev.Status == status && a.dev.StatusReason == reason {
		a.persistWith(ctx, extra)
		return
	}
	a.dev.Status, a.dev.StatusReason = status, reason
	evs := a.event(EventDeviceStatus, deviceStatusData{Status: status, Reason: reason, Phone: a.dev.Phone})
	a.persistWith(ctx, append(evs, extra...))
}

// persist stores the device record (synced).
func (a *deviceActor) persist() { a.persistWith(nil, nil) }

// persistWith stores the device record and the events its change caused
// in one synced batch, then hands the events over.
func (a *deviceActor) persistWith(ctx actor.Context, evs []storage.Event) {
	if a.deleted {
		return
	}
	if err := a.g.db.PutDeviceWithEvents(a.dev, evs); err != nil {
		a.log.Error("store device", "err", err)
		return
	}
	a.handOver(ctx, evs)
}

// saveMessage stores m and the events it caused in one synced batch, then
// hands the events over.
func (a *deviceActor) saveMessage(ctx actor.Context, m storage.Message, evs ...storage.Event) error {
	if err := a.g.db.PutMessageWithEvents(m, evs); err != nil {
		return err
	}
	a.handOver(ctx, evs)
	return nil
}

// emit stores an event that goes with no change of its own (or whose
// change is already stored) and hands it over. Where the event has a
// change, storing both with saveMessage or persistWith is what keeps a
// crash between the two from losing the event.
func (a *deviceActor) emit(ctx actor.Context, typ string, data any) {
	evs := a.event(typ, data)
	if len(evs) == 0 {
		return
	}
	if err := a.g.db.AddPendingEvents(evs); err != nil {
		a.log.Error("store event", "type", typ, "err", err)
		return
	}
	a.handOver(ctx, evs)
}

// event builds an event of this device (as a one-element list, to pass
// on); none when its data cannot be encoded, which is logged.
func (a *deviceActor) event(typ string, data any) []storage.Event {
	e, err := newEvent(a.dev.WorkspaceID, a.id, typ, data)
	if err != nil {
		a.log.Error("build event", "type", typ, "err", err)
		return nil
	}
	return []storage.Event{e}
}

// handOver tells the workspace actor that events are in its outbox.
func (a *deviceActor) handOver(ctx actor.Context, evs []storage.Event) {
	if len(evs) > 0 && ctx != nil {
		ctx.Send(ctx.Parent(), eventsStored{events: evs})
	}
}
