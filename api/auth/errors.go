package auth

import "errors"

// Errors returned by this package. Callers match them with errors.Is; the
// API layer maps ErrKeyFormat and ErrKeyChecksum to 401, ErrWeakPassword and
// ErrBadEmail to 400.
var (
	// ErrKeyFormat: the string is not shaped like any kind of API key
	// (unknown prefix, bad workspace id, wrong length or character).
	ErrKeyFormat = errors.New("invalid API key format")
	// ErrKeyChecksum: the string is shaped like a key but its checksum does
	// not match, so it cannot be a key this gateway issued.
	ErrKeyChecksum = errors.New("invalid API key checksum")
	// ErrKeyKind: a key of an unknown or unsuitable kind was requested.
	ErrKeyKind = errors.New("unknown API key kind")
	// ErrPasswordHash: a stored password hash is not an Argon2id PHC string
	// this package can verify.
	ErrPasswordHash = errors.New("malformed password hash")
	// ErrWeakPassword: the password does not meet the length policy. Its
	// message is fit to show to the user.
	ErrWeakPassword = errors.New("password must be between 8 and 128 characters")
	// ErrBadEmail: the string is not a single bare e-mail address.
	ErrBadEmail = errors.New("invalid email address")
)
