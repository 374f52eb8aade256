package pacing

import "errors"

var (
	// ErrBadRate is wrapped by every error about a malformed or out-of-range Rate.
	ErrBadRate = errors.New("invalid rate")
	// ErrBadSettings is wrapped by every error about malformed or
	// out-of-range pacer Settings, and by ParseProfile.
	ErrBadSettings = errors.New("invalid pacing settings")
	// ErrBadSnapshot is wrapped by every error of Pacer.Restore.
	ErrBadSnapshot = errors.New("invalid pacing snapshot")
)
