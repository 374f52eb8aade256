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
	Text        string // text, caption of media, emoji of a reaction, new text of an edit
	Media       *Media
	QuotedWAID  string
	// Mentions are the users the text mentions (user or LID JIDs).
	Mentions []JID
	// Location, Contact and Poll carry the content of messages of those
	// types; nil otherwise.
	Location *Location
	Contact  *ContactCard
	Poll     *Poll
	// Target is the message a reaction, an edit or a revocation is about
	// (Type TypeReaction, TypeEdit, TypeRevoke); nil otherwise.
	Target *MessageRef
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

	// TypeEdit replaces the text of an earlier message (Target) with Text.
	TypeEdit MessageType = "edit"
	// TypeRevoke deletes an earlier message (Target) for everyone.
	TypeRevoke MessageType = "revoke"
)

// Media describes an attachment. Data is set on outgoing media; inbound
// media is usually downloaded on demand with Ref (see MediaDownloader),
// though a session may deliver small media with Data set instead.
type Media struct {
	Kind     MessageType
	MimeType string
	Size     int64
	FileName string
	URL      string
	Data     []byte
	// Seconds is the duration of audio, voice and video, when known.
	Seconds int
	// Waveform is a voice note's loudness, 64 samples of 0–100, shown by
	// the recipient's player; outgoing voice notes carry one.
	Waveform []byte
	// Ref is an opaque reference to inbound media that the session which
	// received it can download (MediaDownloader); empty when Data is set.
	// It holds the media's decryption key: store it like a secret.
	Ref string
}

// OutMessage is a message to send. WAID is chosen by the caller with
// Session.NewMessageID before sending. Fields that a Type does not use are
// zero; a zero field means "not used".
//
// What each Type carries:
//
//   - TypeText: Text, with Mentions and LinkPreview.
//   - TypeImage, TypeVideo, TypeAudio, TypeVoice, TypeDocument, TypeSticker:
//     Media (Data, MimeType, FileName; Waveform and Seconds for voice), Text
//     as the caption (not for audio, voice and sticker).
//   - TypeLocation: Location. TypeContact: Contact. TypePoll: Poll.
//   - TypeReaction: Target and Text (the emoji; "" removes the reaction).
//   - TypeEdit: Target (a message this device sent) and Text (its new text).
//   - TypeRevoke: Target (a message this device sent).
//
// QuotedWAID (and QuotedSender in groups) makes any type a reply.
type OutMessage struct {
	WAID       string
	To         JID
	Type       MessageType
	Text       string
	QuotedWAID string
	Media      *Media

	// QuotedSender is who wrote the quoted message; needed in groups, zero
	// when the quoted message is this device's own.
	QuotedSender JID
	// Mentions are users mentioned in Text (user or LID JIDs); WhatsApp
	// highlights "@<number>" in the text for each.
	Mentions []JID
	// LinkPreview asks for a preview of the first URL in Text, when the
	// engine can make one; without one the text is sent as it is.
	LinkPreview bool
	Location    *Location
	Contact     *ContactCard
	Poll        *Poll
	// Target is the message a reaction, edit or revocation is about.
	Target *MessageRef
}

// Location is a point on the map, with an optional place name and address.
type Location struct {
	Latitude  float64
	Longitude float64
	Name      string
	Address   string
}

// ContactCard is a shared contact: the name shown in the chat and the
// vCard (3.0) the recipient can save.
type ContactCard struct {
	DisplayName string
	VCard       string
}

// Poll is a question with options. SelectableCount is how many options a
// voter may choose (1 for a single choice; 0 means any number).
type Poll struct {
	Name            string
	Options         []string
	SelectableCount int
}

// MessageRef points at an earlier message of a chat: its WhatsApp id,
// whether this device sent it, and (in groups, for others' messages) who
// did.
type MessageRef struct {
	WAID   string
	FromMe bool
	Sender JID
}

// GroupUpdate means a group the device is in changed, or the device
// joined one (Joined: it created the group, was added or joined by link).
// Fields left empty did not change.
type GroupUpdate struct {
	Group JID
	// Actor is who made the change; zero when WhatsApp did not say.
	Actor      JID
	ActorPhone string // digits, when known
	ActorLID   string // LID user part, when known
	Joined     bool
	Subject    string
	// Description is the new description; DescriptionSet tells an empty
	// one (cleared) from no change.
	Description    string
	DescriptionSet bool
	// Announce (only admins send) and Locked (only admins edit the
	// settings) are set when they changed.
	Announce *bool
	Locked   *bool
	At       time.Time
}

// GroupParticipants means members were added to, removed from, promoted or
// demoted in a group the device is in. A member leaving is a removal with
// the member as its own Actor.
type GroupParticipants struct {
	Group        JID
	Actor        JID
	ActorPhone   string
	ActorLID     string
	Action       ParticipantAction
	Participants []Participant
	At           time.Time
}

// PresenceUpdate is a contact's online status, for contacts the device
// subscribed to.
type PresenceUpdate struct {
	From      JID
	FromPhone string
	FromLID   string
	Available bool
	// LastSeen is when the contact was last online; zero when hidden.
	LastSeen time.Time
}

// ChatPresenceUpdate means someone is typing or recording (or stopped) in
// a chat with the device.
type ChatPresenceUpdate struct {
	Chat        JID
	Sender      JID
	SenderPhone string
	SenderLID   string
	State       ChatPresence
}

// CallOffer is an incoming call. The gateway does not answer calls; it
// reports them.
type CallOffer struct {
	CallID    string
	From      JID
	FromPhone string
	FromLID   string
	IsVideo   bool
	IsGroup   bool
	At        time.Time
}

func (QR) isEvent()                 {}
func (QRTimeout) isEvent()          {}
func (Connected) isEvent()          {}
func (Disconnected) isEvent()       {}
func (LoggedOut) isEvent()          {}
func (TemporaryBan) isEvent()       {}
func (StreamReplaced) isEvent()     {}
func (ClientOutdated) isEvent()     {}
func (Receipt) isEvent()            {}
func (Message) isEvent()            {}
func (GroupUpdate) isEvent()        {}
func (GroupParticipants) isEvent()  {}
func (PresenceUpdate) isEvent()     {}
func (ChatPresenceUpdate) isEvent() {}
func (CallOffer) isEvent()          {}
