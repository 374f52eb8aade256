package actors

import (
	"time"

	"github.com/wa-gateway/wa-gateway/storage"
)

// The data part of each event type, as it goes on the wire (API.md §6).

type deviceStatusData struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Phone  string `json:"phone,omitempty"`
}

type deviceQRData struct {
	Code      string    `json:"code"`
	Image     string    `json:"image,omitempty"` // data:image/png;base64,…
	ExpiresAt time.Time `json:"expiresAt"`
}

// messageReceivedData is the data of message.received.
type messageReceivedData struct {
	ID        string               `json:"id"`
	Chat      string               `json:"chat"`
	From      string               `json:"from"`
	FromPhone string               `json:"fromPhone,omitempty"`
	FromLID   string               `json:"fromLid,omitempty"`
	PushName  string               `json:"pushName"`
	IsGroup   bool                 `json:"isGroup"`
	FromMe    bool                 `json:"fromMe"`
	Timestamp time.Time            `json:"timestamp"`
	Type      string               `json:"type"`
	Text      string               `json:"text,omitempty"`
	Caption   string               `json:"caption,omitempty"`
	Media     *mediaData           `json:"media,omitempty"`
	QuotedID  string               `json:"quotedId,omitempty"`
	Mentions  []string             `json:"mentions,omitempty"`
	Location  *storage.Location    `json:"location,omitempty"`
	Contact   *storage.ContactCard `json:"contact,omitempty"`
	Poll      *storage.Poll        `json:"poll,omitempty"`
}

// mediaData describes received media; URL is where GET serves its bytes.
type mediaData struct {
	MimeType string `json:"mimetype"`
	Size     int64  `json:"size"`
	FileName string `json:"filename,omitempty"`
	URL      string `json:"url"`
}

// messageReactionData is the data of message.reaction: who reacted to which
// message (messageId; empty when the gateway never stored it) with which
// emoji ("" removes a reaction).
type messageReactionData struct {
	ID          string    `json:"id"`
	Chat        string    `json:"chat"`
	From        string    `json:"from"`
	FromPhone   string    `json:"fromPhone,omitempty"`
	FromLID     string    `json:"fromLid,omitempty"`
	PushName    string    `json:"pushName"`
	IsGroup     bool      `json:"isGroup"`
	FromMe      bool      `json:"fromMe"`
	Timestamp   time.Time `json:"timestamp"`
	MessageID   string    `json:"messageId"`
	MessageWAID string    `json:"messageWaId"`
	Emoji       string    `json:"emoji"`
}

// changeData is the data of message.edited and message.revoked: the
// message changed (id; empty when the gateway never stored it) and, for an
// edit, its new text.
type changeData struct {
	ID        string    `json:"id"`
	WAID      string    `json:"waId"`
	Chat      string    `json:"chat"`
	From      string    `json:"from"`
	FromPhone string    `json:"fromPhone,omitempty"`
	FromLID   string    `json:"fromLid,omitempty"`
	Timestamp time.Time `json:"timestamp"`
	Text      string    `json:"text,omitempty"`
}

// messageStatusData is the data of message.sent, message.ack and message.failed.
type messageStatusData struct {
	ID       string                `json:"id"`
	DeviceID int64                 `json:"deviceId"`
	Chat     string                `json:"chat"`
	To       string                `json:"to"`
	Status   string                `json:"status"`
	WAID     string                `json:"waId,omitempty"`
	Error    *storage.MessageError `json:"error,omitempty"`
}

func receivedData(m storage.Message, media mediaConfig) messageReceivedData {
	d := messageReceivedData{
		ID: m.ID, Chat: m.Chat, From: m.From, FromPhone: m.FromPhone, FromLID: m.FromLID,
		PushName: m.PushName, IsGroup: m.IsGroup, FromMe: m.FromMe, Timestamp: m.Timestamp,
		Type: m.Type, Text: m.Text, Caption: m.Caption, QuotedID: m.QuotedID,
		Mentions: m.Mentions, Location: m.Location, Contact: m.Contact, Poll: m.Poll,
	}
	if m.Media != nil {
		d.Media = &mediaData{MimeType: m.Media.MimeType, Size: m.Media.Size, FileName: m.Media.FileName, URL: media.mediaURL(m.ID)}
	}
	return d
}

func reactionData(m storage.Message) messageReactionData {
	return messageReactionData{
		ID: m.ID, Chat: m.Chat, From: m.From, FromPhone: m.FromPhone, FromLID: m.FromLID,
		PushName: m.PushName, IsGroup: m.IsGroup, FromMe: m.FromMe, Timestamp: m.Timestamp,
		MessageID: m.TargetID, MessageWAID: m.TargetWAID, Emoji: m.Text,
	}
}

func statusData(m storage.Message) messageStatusData {
	return messageStatusData{
		ID: m.ID, DeviceID: m.DeviceID, Chat: m.Chat, To: m.To, Status: m.Status, WAID: m.WAID, Error: m.Error,
	}
}

// groupUpdateData is the data of group.update: a group the device is in
// changed, or the device joined one (joined). Fields left out did not
// change; description is present, possibly empty, when it did.
type groupUpdateData struct {
	Group       string    `json:"group"`
	Actor       string    `json:"actor,omitempty"`
	ActorPhone  string    `json:"actorPhone,omitempty"`
	ActorLID    string    `json:"actorLid,omitempty"`
	Joined      bool      `json:"joined"`
	Subject     string    `json:"subject,omitempty"`
	Description *string   `json:"description,omitempty"`
	Announce    *bool     `json:"announce,omitempty"`
	Locked      *bool     `json:"locked,omitempty"`
	Timestamp   time.Time `json:"timestamp"`
}

// groupParticipantsData is the data of group.participants: members added,
// removed (a member who left is removed by themselves), promoted or
// demoted.
type groupParticipantsData struct {
	Group        string            `json:"group"`
	Actor        string            `json:"actor,omitempty"`
	ActorPhone   string            `json:"actorPhone,omitempty"`
	ActorLID     string            `json:"actorLid,omitempty"`
	Action       string            `json:"action"`
	Participants []participantData `json:"participants"`
	Timestamp    time.Time         `json:"timestamp"`
}

type participantData struct {
	JID   string `json:"jid"`
	Phone string `json:"phone,omitempty"`
	LID   string `json:"lid,omitempty"`
}

// presenceData is the data of presence.update: a contact came online or
// went offline (lastSeen, when the contact shows it).
type presenceData struct {
	From      string     `json:"from"`
	FromPhone string     `json:"fromPhone,omitempty"`
	FromLID   string     `json:"fromLid,omitempty"`
	Available bool       `json:"available"`
	LastSeen  *time.Time `json:"lastSeen,omitempty"`
}

// chatPresenceData is the data of chat.presence: someone is typing,
// recording a voice note, or stopped (paused) in a chat.
type chatPresenceData struct {
	Chat      string `json:"chat"`
	From      string `json:"from"`
	FromPhone string `json:"fromPhone,omitempty"`
	FromLID   string `json:"fromLid,omitempty"`
	IsGroup   bool   `json:"isGroup"`
	State     string `json:"state"`
}

// callOfferData is the data of call.offer: an incoming call, which the
// gateway neither answers nor rejects.
type callOfferData struct {
	CallID    string    `json:"callId"`
	From      string    `json:"from"`
	FromPhone string    `json:"fromPhone,omitempty"`
	FromLID   string    `json:"fromLid,omitempty"`
	IsVideo   bool      `json:"isVideo"`
	IsGroup   bool      `json:"isGroup"`
	Timestamp time.Time `json:"timestamp"`
}
