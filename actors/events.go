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
	ExpiresAt time.Time `json:"expiresAt"`
}

// MessageReceivedData is the data of message.received.
type messageReceivedData struct {
	ID        string             `json:"id"`
	Chat      string             `json:"chat"`
	From      string             `json:"from"`
	FromPhone string             `json:"fromPhone,omitempty"`
	FromLID   string             `json:"fromLid,omitempty"`
	PushName  string             `json:"pushName"`
	IsGroup   bool               `json:"isGroup"`
	FromMe    bool               `json:"fromMe"`
	Timestamp time.Time          `json:"timestamp"`
	Type      string             `json:"type"`
	Text      string             `json:"text,omitempty"`
	Caption   string             `json:"caption,omitempty"`
	Media     *storage.MediaInfo `json:"media,omitempty"`
	QuotedID  string             `json:"quotedId,omitempty"`
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

func receivedData(m storage.Message) messageReceivedData {
	return messageReceivedData{
		ID: m.ID, Chat: m.Chat, From: m.From, FromPhone: m.FromPhone, FromLID: m.FromLID,
		PushName: m.PushName, IsGroup: m.IsGroup, FromMe: m.FromMe, Timestamp: m.Timestamp,
		Type: m.Type, Text: m.Text, Caption: m.Caption, Media: m.Media, QuotedID: m.QuotedID,
	}
}

func statusData(m storage.Message) messageStatusData {
	return messageStatusData{
		ID: m.ID, DeviceID: m.DeviceID, Chat: m.Chat, To: m.To, Status: m.Status, WAID: m.WAID, Error: m.Error,
	}
}
