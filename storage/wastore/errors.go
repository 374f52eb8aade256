package wastore

import "errors"

// Errors of the store, wrapped with context; test with errors.Is.
var (
	// ErrNoJID: whatsmeow tried to save or delete a device before it had
	// a JID (before pairing).
	ErrNoJID = errors.New("device JID must be known before it is stored")
	// ErrCorrupt: a stored key or value cannot be decoded.
	ErrCorrupt = errors.New("corrupt whatsmeow store data")
	// ErrFormatTooNew: the store was written by a newer build whose format
	// this build does not know.
	ErrFormatTooNew = errors.New("whatsmeow store format too new")
	// ErrInvalid: an argument whatsmeow's contract rules out (a LID mapping
	// between JIDs of the wrong servers).
	ErrInvalid = errors.New("invalid argument")
)
