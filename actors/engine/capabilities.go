package engine

import (
	"context"
	"time"
)

// Optional capabilities of a Session. The device actor type-asserts a
// session to each of them and answers ErrUnsupported when it is missing,
// so an engine can grow one capability at a time. Like Session's, their
// methods may be called from any goroutine; unless a method says
// otherwise it does network I/O, needs a connected session
// (ErrNotConnected otherwise) and returns values the caller owns.

// Contacts reads the device's address book and profiles.
type Contacts interface {
	// Contacts lists the contacts the device knows: saved in the phone's
	// address book or seen in chats (with the push name they chose). It
	// reads the session's own store and does no network I/O.
	Contacts(ctx context.Context) ([]Contact, error)

	// Avatar returns the profile picture of a user or group. ErrNoAvatar
	// when there is none or it is hidden from this device.
	Avatar(ctx context.Context, jid JID) (Avatar, error)
}

// Groups manages the groups the device belongs to. Group JIDs are on
// ServerGroup; a group the device is not in (or that does not exist)
// wraps ErrGroupNotFound, and a change only admins may make, done by a
// member who is not one, wraps ErrNotGroupAdmin.
type Groups interface {
	// Groups lists the groups the device is a member of.
	Groups(ctx context.Context) ([]Group, error)

	// CreateGroup creates a group with the device as its owner and admin,
	// and adds the participants it can. The answer lists every participant
	// asked for, with Error set for those not added.
	CreateGroup(ctx context.Context, subject string, participants []JID) (Group, error)

	// UpdateParticipants adds, removes, promotes or demotes participants.
	// It answers one result per JID asked for, in order.
	UpdateParticipants(ctx context.Context, group JID, action ParticipantAction, participants []JID) ([]ParticipantResult, error)

	// InviteLink returns the group's invite link
	// (https://chat.whatsapp.com/<code>); reset revokes the old one first.
	// Admins only.
	InviteLink(ctx context.Context, group JID, reset bool) (string, error)

	// LeaveGroup makes the device leave the group.
	LeaveGroup(ctx context.Context, group JID) error
}

// Presence tells contacts what the device's user is doing and what they
// have read.
type Presence interface {
	// SendChatPresence shows typing, recording (a voice note) or nothing
	// (paused) in a chat. It does not wait for an answer.
	SendChatPresence(ctx context.Context, chat JID, state ChatPresence) error

	// MarkRead sends read receipts for messages received in a chat. sender
	// is who wrote them (needed in groups; zero in one-to-one chats).
	MarkRead(ctx context.Context, chat, sender JID, waids []string, at time.Time) error
}

// Contact is one entry of the device's contacts.
type Contact struct {
	JID      JID
	Phone    string // digits, when known
	LID      string // LID user part, when known
	Name     string // the name saved in the phone's address book
	PushName string // the name the contact chose
	// BusinessName is set for WhatsApp Business accounts.
	BusinessName string
}

// Avatar is a profile picture. URL is where WhatsApp serves it (valid for
// a limited time, or a data: URL); ID changes when the picture does.
type Avatar struct {
	URL string
	ID  string
}

// Group is a group chat and its members.
type Group struct {
	JID          JID
	Subject      string
	Owner        JID
	CreatedAt    time.Time
	Participants []Participant
	// Failed lists participants CreateGroup was asked for but could not
	// add, with why; empty elsewhere.
	Failed []ParticipantResult
}

// Participant is one member of a group.
type Participant struct {
	JID          JID
	Phone        string // digits, when known
	LID          string // LID user part, when known
	IsAdmin      bool
	IsSuperAdmin bool // the group's owner
}

// ParticipantAction is a change of a group's membership.
type ParticipantAction string

// Participant actions.
const (
	ParticipantAdd     ParticipantAction = "add"
	ParticipantRemove  ParticipantAction = "remove"
	ParticipantPromote ParticipantAction = "promote"
	ParticipantDemote  ParticipantAction = "demote"
)

// ParticipantResult is the outcome of an action for one participant.
// Error is "" on success, else a stable snake_case reason: the
// ParticipantError* constants.
type ParticipantResult struct {
	JID   JID
	Error string
}

// Reasons a participant action failed for one participant.
const (
	ParticipantErrorNotOnWhatsApp  = "not_on_whatsapp"
	ParticipantErrorNotInGroup     = "not_in_group"
	ParticipantErrorAlreadyInGroup = "already_in_group"
	ParticipantErrorNotAllowed     = "not_allowed"
)

// ChatPresence is what the user is doing in a chat.
type ChatPresence string

// Chat presence states.
const (
	ChatTyping    ChatPresence = "typing"
	ChatRecording ChatPresence = "recording"
	ChatPaused    ChatPresence = "paused"
)
