package actors

import (
	"errors"

	"github.com/wa-gateway/wa-gateway/actors/pacing"
)

// Errors the facade returns; api/errors.go maps them to HTTP.
var (
	ErrDeviceNotFound   = errors.New("device not found")
	ErrMessageNotFound  = errors.New("message not found")
	ErrNameTaken        = errors.New("device name already in use")
	ErrUnknownEngine    = errors.New("unknown engine")
	ErrNotSandbox       = errors.New("not a sandbox device")
	ErrNoQR             = errors.New("no QR code")
	ErrNotConnected     = errors.New("device not connected")
	ErrAlreadyConnected = errors.New("device already connected")
	ErrLoggedOut        = errors.New("device logged out")
	ErrStopped          = errors.New("gateway stopped")
	ErrTimeout          = errors.New("timed out")

	ErrWebhookNotFound  = errors.New("webhook not found")
	ErrDeliveryNotFound = errors.New("delivery not found")
	ErrWebhookLimit     = errors.New("too many webhooks")
	ErrUnknownEventType = errors.New("unknown event type")
	ErrNoEventTypes     = errors.New("no event types")
	ErrEventExpired     = errors.New("event no longer in the log")
	ErrNoMedia          = errors.New("message has no media")
	// ErrNotCancellable: only a queued message that is not being sent
	// right now can be cancelled.
	ErrNotCancellable = errors.New("message can no longer be cancelled")
)

// RateLimitedError is returned by Send when the device's admission limit is
// exhausted; State says when to retry.
type RateLimitedError struct{ State pacing.State }

func (e *RateLimitedError) Error() string { return "rate limited" }
