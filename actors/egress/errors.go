package egress

import "errors"

// Errors of CheckURL and of requests made with a Client; test with errors.Is.
var (
	// ErrInvalidURL: not an absolute http or https URL with a host.
	ErrInvalidURL = errors.New("invalid url")
	// ErrPrivateAddress: the host is, or resolves to, an address the
	// gateway does not send to (loopback, private, link-local…).
	ErrPrivateAddress = errors.New("private address")
)
