package engine

import "errors"

// Errors a Session returns. Implementations wrap them with %w.
var (
	ErrNotConnected     = errors.New("not connected")
	ErrNotPaired        = errors.New("not paired")
	ErrNotOnWhatsApp    = errors.New("recipient is not on WhatsApp")
	ErrInvalidRecipient = errors.New("invalid recipient")
	ErrNoQR             = errors.New("no QR code to scan")
	ErrUnsupported      = errors.New("not supported by this engine")
	ErrClosed           = errors.New("session closed")
	ErrInvalidMediaRef  = errors.New("invalid media reference")
	ErrNoAvatar         = errors.New("no profile picture")
	ErrGroupNotFound    = errors.New("group not found")
	ErrNotGroupAdmin    = errors.New("not a group admin")
	ErrMediaExpired     = errors.New("media no longer available")
	// ErrInvalidMessage: an OutMessage whose content does not fit its Type
	// (a poll without options, media without data…). Not worth retrying.
	ErrInvalidMessage = errors.New("invalid message content")
	// ErrRateLimited: WhatsApp refused a send or a query for sending too
	// much (its error 429, rate-overlimit). The device actor pauses every
	// send for a while and keeps the message queued.
	ErrRateLimited = errors.New("rate limited by WhatsApp")
	// ErrReachOut: WhatsApp's reach-out timelock (its error 463): the
	// number may not start new chats for a while. The device actor pauses
	// first contacts and keeps the message queued.
	ErrReachOut = errors.New("reach-out timelock")
)
