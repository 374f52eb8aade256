package engine

import (
	"context"
	"time"
)

// Engine opens sessions, one per device. An Engine is safe for concurrent use.
type Engine interface {
	// Name is the engine's stable name as it appears in the API ("sim", "whatsmeow").
	Name() string

	// Open prepares the session of one device. It loads whatever the engine
	// stored for that device (its pairing), does no network I/O and does not
	// connect. emit receives every Event the session produces, from the
	// engine's goroutines, until Close returns. The caller owns the Session.
	Open(ctx context.Context, deviceID int64, emit func(Event)) (Session, error)

	// Forget deletes everything the engine stored for a device (its WhatsApp
	// keys). It is called when the device is deleted; the session must be
	// closed first. Deleting a device that has nothing stored is not an error.
	Forget(ctx context.Context, deviceID int64) error
}

// Session is one device's connection to WhatsApp. Its methods may be called
// from any goroutine, but the device actor calls them one at a time.
type Session interface {
	// Paired reports whether the session holds a pairing (it can log in
	// without a QR scan). It does no I/O.
	Paired() bool

	// Connect starts connecting and returns without waiting for the result.
	// Progress arrives as events: QR codes while unpaired, then Connected, or
	// Disconnected / LoggedOut / TemporaryBan / StreamReplaced. Connecting a
	// session that is already connecting or connected is a no-op.
	Connect(ctx context.Context) error

	// Disconnect closes the connection and keeps the pairing. It blocks until
	// the connection is closed and emits Disconnected{Reason: "requested"}.
	Disconnect()

	// Logout unlinks the device from the phone and deletes the pairing.
	// It does I/O when connected and emits LoggedOut{Reason: "requested"}.
	Logout(ctx context.Context) error

	// PairPhone asks for a pairing code to type on the phone instead of
	// scanning a QR code. The session must be connecting and unpaired.
	PairPhone(ctx context.Context, phone string) (code string, err error)

	// NewMessageID returns a fresh WhatsApp message id. It does no I/O; the
	// id is stored before Send so that a crash mid-send can be reconciled.
	NewMessageID() string

	// Send sends one message and blocks until WhatsApp acknowledged it (or
	// ctx ends). It returns the server's timestamp. Receipts arrive later as
	// Receipt events. Errors: ErrNotConnected, ErrNotOnWhatsApp,
	// ErrInvalidRecipient, or a transport error.
	Send(ctx context.Context, msg OutMessage) (SendResult, error)

	// CheckPhones tells, for each phone number (digits with country code),
	// whether it is on WhatsApp. It does I/O and needs a connection.
	CheckPhones(ctx context.Context, phones []string) ([]PhoneCheck, error)

	// Close releases the session: it disconnects without emitting events and
	// stops every goroutine of the session. The Session is unusable after.
	Close()
}

// MediaDownloader is implemented by sessions whose inbound media arrives
// as a reference (Media.Ref) rather than as data.
type MediaDownloader interface {
	// DownloadMedia fetches and decrypts the media that ref (a Media.Ref
	// from a Message of this engine) refers to. It does network I/O, needs
	// the device to be paired, and returns data the caller owns. A ref the
	// engine cannot read wraps ErrInvalidMediaRef.
	DownloadMedia(ctx context.Context, ref string) ([]byte, error)
}

// Sandbox is implemented by sessions of the simulator. It lets a test or a
// user play the other side of WhatsApp: the phone and the contacts.
type Sandbox interface {
	// Scan plays the phone scanning the current QR code. ErrNoQR when the
	// session is not showing one.
	Scan(ctx context.Context) error
	// Inbound delivers a message from a simulated contact.
	Inbound(ctx context.Context, in SandboxInbound) error
	// Fault injects a failure (FaultDisconnect, FaultLogout, FaultBan,
	// FaultStreamReplaced).
	Fault(ctx context.Context, kind string) error
	// Activity plays a simulated contact doing something that is not a
	// message: typing, coming online or going offline, calling.
	Activity(ctx context.Context, a SandboxActivity) error
}

// SandboxActivity is what a simulated contact does besides writing.
type SandboxActivity struct {
	From string // phone number (digits) or user JID of the contact
	Kind string // one of the Activity* kinds
	// Group is the group chat that typing, recording or pausing happens
	// in; zero for the contact's own chat.
	Group JID
}

// Activity kinds accepted by Sandbox.Activity.
const (
	ActivityTyping    = "typing"
	ActivityRecording = "recording"
	ActivityPaused    = "paused"
	ActivityOnline    = "online"
	ActivityOffline   = "offline"
	ActivityCall      = "call"
	ActivityVideoCall = "video_call"
)

// Fault kinds accepted by Sandbox.Fault.
const (
	FaultDisconnect     = "disconnect"
	FaultLogout         = "logout"
	FaultBan            = "ban"
	FaultStreamReplaced = "stream_replaced"
)

// SandboxInbound is a message from a simulated contact.
type SandboxInbound struct {
	From     string // phone number (digits) or JID of the contact
	PushName string
	Text     string
	Media    *Media // optional; Text is then the caption

	// Optional content of the other kinds: a location, a contact card or
	// a poll; or, with TargetWAID, a reaction (Text is the emoji), an edit
	// (Text is the new text) or a revocation of an earlier message. Type
	// says which of the last three (TypeReaction, TypeEdit, TypeRevoke).
	Location   *Location
	Contact    *ContactCard
	Poll       *Poll
	Type       MessageType
	TargetWAID string
}

// SendResult is what WhatsApp answered to a sent message.
type SendResult struct {
	WAID       string
	ServerTime time.Time
}

// PhoneCheck is the on-WhatsApp answer for one phone number.
type PhoneCheck struct {
	Phone      string
	OnWhatsApp bool
	JID        JID // zero when not on WhatsApp
}
