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
