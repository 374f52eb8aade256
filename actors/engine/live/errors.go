package live

import "errors"

// Errors of the live engine, besides the engine's own (engine.ErrNotConnected,
// engine.ErrNoQR, …), which its sessions return as the seam documents.
var (
	// ErrNoStore: Config.Store is nil.
	ErrNoStore = errors.New("live engine needs a whatsmeow store")
	// ErrBadVersion: a WhatsApp Web version that is not "major.minor.patch".
	ErrBadVersion = errors.New("invalid WhatsApp Web version")
	// ErrNoMediaData: an outgoing media message without its bytes.
	ErrNoMediaData = errors.New("media has no data")
	// ErrIncomplete: an outgoing message without what its type needs (a
	// location without coordinates, a reaction without its target…).
	ErrIncomplete = errors.New("incomplete message")
)
