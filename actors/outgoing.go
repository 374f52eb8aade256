package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// How an admitted message is stored, turned into what the session sends,
// and what its sending changes in other messages.

// setContent copies the request's content into the stored message: the
// text goes to Caption for media, to Text otherwise.
func setContent(m *storage.Message, req SendRequest) {
	if req.Media != nil {
		media := *req.Media
		m.Media = &media
		m.Caption = req.Text
	} else {
		m.Text = req.Text
	}
	for _, j := range req.Mentions {
		m.Mentions = append(m.Mentions, j.String())
	}
	m.LinkPreview = req.LinkPreview
	m.Location, m.Contact, m.Poll = req.Location, req.Contact, req.Poll
	m.TargetID = req.TargetID
}

// outgoing builds what the session sends for a queued message. On error it
// also returns the failure code the message fails with: its file expired,
// or the message it quotes or targets is gone.
func (a *deviceActor) outgoing(m storage.Message, to engine.JID) (engine.OutMessage, string, error) {
	out := engine.OutMessage{WAID: m.WAID, To: to, Type: engine.MessageType(m.Type), Text: m.Text, LinkPreview: m.LinkPreview}
	for _, s := range m.Mentions {
		if j, err := engine.ParseRecipient(s); err == nil {
			out.Mentions = append(out.Mentions, j)
		}
	}
	if m.QuotedID != "" {
		if q, err := a.g.db.GetMessage(a.dev.WorkspaceID, m.QuotedID); err == nil {
			ref := messageRef(q)
			out.QuotedWAID, out.QuotedSender = ref.WAID, ref.Sender
		} else {
			out.QuotedWAID = m.QuotedID // a WhatsApp id given as it is
		}
	}
	if m.Media != nil {
		_, data, err := a.g.db.ReadFile(a.dev.WorkspaceID, m.Media.FileID, time.Now())
		if errors.Is(err, storage.ErrNotFound) {
			return out, "media_expired", fmt.Errorf("the file %s to send is gone (expired)", m.Media.FileID)
		}
		if err != nil {
			return out, "send_failed", fmt.Errorf("read media: %w", err)
		}
		out.Text = m.Caption
		out.Media = &engine.Media{
			Kind: out.Type, MimeType: m.Media.MimeType, Size: int64(len(data)), FileName: m.Media.FileName,
			Data: data, Seconds: m.Media.Seconds, Waveform: m.Media.Waveform,
		}
	}
	if m.Location != nil {
		l := *m.Location
		out.Location = &engine.Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address}
	}
	if m.Contact != nil {
		out.Contact = &engine.ContactCard{DisplayName: m.Contact.DisplayName, VCard: m.Contact.VCard}
	}
	if m.Poll != nil {
		out.Poll = &engine.Poll{Name: m.Poll.Name, Options: append([]string(nil), m.Poll.Options...), SelectableCount: m.Poll.SelectableCount}
	}
	if m.TargetID != "" {
		t, err := a.g.db.GetMessage(a.dev.WorkspaceID, m.TargetID)
		if err != nil || t.WAID == "" {
			return out, "target_not_found", fmt.Errorf("the message %s this %s is about is gone or was never sent", m.TargetID, m.Type)
		}
		ref := messageRef(t)
		out.Target = &ref
	}
	return out, "", nil
}

// messageRef points at a stored message the way WhatsApp addresses it.
func messageRef(m storage.Message) engine.MessageRef {
	ref := engine.MessageRef{WAID: m.WAID, FromMe: m.FromMe || m.Direction == "out"}
	if !ref.FromMe && m.IsGroup {
		if j, err := engine.ParseRecipient(m.From); err == nil {
			ref.Sender = j
		}
	}
	return ref
}

// applySent does what a sent message changes elsewhere: the chat moves on,
// an edit replaces the text of its target, a revocation marks its target
// revoked.
func (a *deviceActor) applySent(m storage.Message) {
	if err := a.g.db.RecordChatMessage(m); err != nil {
		a.log.Warn("record chat", "err", err)
	}
	if m.TargetID == "" || (m.Type != string(engine.TypeEdit) && m.Type != string(engine.TypeRevoke)) {
		return
	}
	t, err := a.g.db.GetMessage(a.dev.WorkspaceID, m.TargetID)
	if err != nil {
		return
	}
	now := time.Now().UTC()
	if m.Type == string(engine.TypeEdit) {
		setEditedText(&t, m.Text)
		t.EditedAt = now
	} else {
		t.RevokedAt = now
	}
	if err := a.g.db.PutMessage(t); err != nil {
		a.log.Error("store edited message", "err", err)
	}
}

// setEditedText replaces the text of a message, or the caption of media.
func setEditedText(m *storage.Message, text string) {
	if m.Media != nil {
		m.Caption = text
	} else {
		m.Text = text
	}
}
