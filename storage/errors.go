package storage

import "errors"

// Errors returned by DB methods, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: the record does not exist, or belongs to another workspace.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write would break a uniqueness rule (e-mail, device
	// name, key hash) or an invariant (a device has exactly one key).
	ErrConflict = errors.New("conflict")
	// ErrClosed: the DB has been closed.
	ErrClosed = errors.New("storage closed")
	// ErrBadCursor: a list cursor that this package did not produce.
	ErrBadCursor = errors.New("bad cursor")
	// ErrInvalid: a record is missing what its keys are built from (an ID, a
	// name, a hash…); a caller's bug rather than bad user input.
	ErrInvalid = errors.New("invalid record")
	// ErrCorrupt: a stored key or value cannot be decoded (unknown schema
	// version, bad JSON, an index without its record).
	ErrCorrupt = errors.New("corrupt data")
	// ErrFormatTooNew: the database was written by a newer build whose
	// format this build does not know.
	ErrFormatTooNew = errors.New("database format too new")
	// ErrTooLarge: a file is larger than the limit it was stored with.
	ErrTooLarge = errors.New("too large")
)
