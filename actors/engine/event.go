package engine

import "time"

// Event is anything a session reports. The concrete types below are the
// whole set; the device actor switches on them.
type Event interface{ isEvent() }

// QR is a new pairing code to show while unpaired. Codes rotate: each one
// replaces the previous one and is valid until ExpiresAt.
type QR struct {
	Code      string
	ExpiresAt time.Time
}

// QRTimeout means every QR code expired without a scan; the session has
// stopped connecting.
type QRTimeout struct{}

// Connected means the session is logged in and can send.
type Connected struct {
	Phone    string // the device's own phone number (digits)
	LID      string // the device's own LID user part, when known
	PushName string
}

// Disconnected means the connection closed. Transient disconnects (network
// drops) are worth reconnecting; others (Reason "requested") are not.
type Disconnected struct {
	Reason    string
	Transient bool
}

// LoggedOut means the pairing is gone (unlinked from the phone, or
// requested). The session no longer holds keys; do not reconnect.
type LoggedOut struct{ Reason string }

// TemporaryBan means WhatsApp refused the login for a while. Do not reconnect
// before Expires.
type TemporaryBan struct {
	Reason  string
	Expires time.Time
}

// StreamReplaced means another client logged in with the same keys. Do not
// reconnect: two clients would keep kicking each other off.
type StreamReplaced struct{}

// ClientOutdated means WhatsApp refused this client's version.
type ClientOutdated struct{}

// Receipt moves sent messages on: delivered, read or played.
type Receipt struct {
	Chat   JID
	WAIDs  []string
	Status ReceiptStatus
	At     time.Time
}

// ReceiptStatus is the kind of a Receipt.
type ReceiptStatus string

// Receipt statuses.
const (
	ReceiptDelivered ReceiptStatus = "delivered"
	ReceiptRead      ReceiptStatus = "read"
	ReceiptPlayed    ReceiptStatus = "played"
)

// Message is an inbound message (or one sent from the phone itself, FromMe).
type Message struct {
	WAID        string
	Chat        JID
	Sender      JID
	SenderPhone string // digits, when known
	SenderLID   string // LID user part, when known
	PushName    string
	IsGroup     bool
	FromMe      bool
	Timestamp   time.Time
	Type        MessageType
	Text        string // text, or caption of media
	Media       *Media
	QuotedWAID  string
}

// MessageType is the kind of a message, as named in the API.
type MessageType string

// Message types.
const (
	TypeText     MessageType = "text"
	TypeImage    MessageType = "image"
	TypeVideo    MessageType = "video"
	TypeAudio    MessageType = "audio"
	TypeVoice    MessageType = "voice"
	TypeDocument MessageType = "document"
	TypeSticker  MessageType = "sticker"
	TypeLocation MessageType = "location"
	TypeContact  MessageType = "contact"
	TypeReaction MessageType = "reaction"
	TypePoll     MessageType = "poll"
	TypeUnknown  MessageType = "unknown"
)

// Media describes an attachment. Data is set on outgoing media and on
// simulated inbound media; live inbound media is downloaded on demand with
// Ref (see MediaDownloader).
type Media struct {
	Kind     MessageType
	MimeType string
	Size     int64
	FileName string
	URL      string
	Data     []byte
	// Ref is an opaque reference to inbound media that the session which
	// received it can download (MediaDownloader); empty when Data is set.
	// It holds the media's decryption key: store it like a secret.
	Ref string
}

// OutMessage is a message to send. WAID is chosen by the caller with
// Session.NewMessageID before sending.
type OutMessage struct {
	WAID       string
	To         JID
	Type       MessageType
	Text       string
	QuotedWAID string
	Media      *Media
}

func (QR) isEvent()             {}
func (QRTimeout) isEvent()      {}
func (Connected) isEvent()      {}
func (Disconnected) isEvent()   {}
func (LoggedOut) isEvent()      {}
func (TemporaryBan) isEvent()   {}
func (StreamReplaced) isEvent() {}
func (ClientOutdated) isEvent() {}
func (Receipt) isEvent()        {}
func (Message) isEvent()        {}
