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
)
