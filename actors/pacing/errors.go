package pacing

import "errors"

// ErrBadRate is wrapped by every error about a malformed or out-of-range Rate.
var ErrBadRate = errors.New("invalid rate")
