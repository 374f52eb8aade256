package sim

import "errors"

// Errors of the simulator, besides the engine's own (engine.ErrNotConnected,
// engine.ErrNoQR, …), which its sessions return as the seam documents.
var (
	// ErrUnknownFault is returned by Fault for a kind it does not know.
	ErrUnknownFault = errors.New("unknown fault kind")
	// ErrBadState is returned by Open when the stored pairing is unreadable.
	ErrBadState = errors.New("unreadable stored pairing")
	// ErrBadInbound is returned by Inbound for a message with no text and no
	// media, or media of a kind that is not an attachment.
	ErrBadInbound = errors.New("invalid sandbox message")
	// ErrUnknownActivity is returned by Activity for a kind it does not
	// know, or typing in a chat that is not a group.
	ErrUnknownActivity = errors.New("unknown sandbox activity")
)
