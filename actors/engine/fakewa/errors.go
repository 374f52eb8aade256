package fakewa

import "errors"

// Errors of the fake server, wrapped with context; test with errors.Is.
var (
	// ErrProtocol: a client broke the protocol (bad frame, bad handshake).
	ErrProtocol = errors.New("protocol error")
	// ErrNoPairing: nothing to pair (no QR code with that ref, no pairing
	// code request from that phone number).
	ErrNoPairing = errors.New("no pairing in progress")
	// ErrUnknownDevice: no companion device with that JID.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrOffline: the device has no connection.
	ErrOffline = errors.New("device offline")
	// ErrTimeout: what a Wait… call waited for did not happen in time.
	ErrTimeout = errors.New("timed out")
	// ErrUnknownAccount: no account with that phone number.
	ErrUnknownAccount = errors.New("unknown account")
	// ErrUnknownGroup: no group with that JID, or the account is not in it.
	ErrUnknownGroup = errors.New("unknown group")
	// ErrUnknownMessage: no message with that id was received.
	ErrUnknownMessage = errors.New("no such message received")
)
