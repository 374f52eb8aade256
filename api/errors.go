package api

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// apiError is an error with its place on the wire: the HTTP status, the
// stable code clients switch on and the sentence shown to people. This file
// is the only one that builds them.
type apiError struct {
	status  int
	code    string
	message string
	field   string // validation_failed only: the offending field
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// Errors of the HTTP layer itself. Handlers return them; handleError writes them.
var (
	errMissingCredentials     = &apiError{status: http.StatusUnauthorized, code: "missing_credentials", message: "Missing API key"}
	errInvalidKeyFormat       = &apiError{status: http.StatusUnauthorized, code: "invalid_api_key_format", message: "Invalid API key format"}
	errInvalidKey             = &apiError{status: http.StatusUnauthorized, code: "invalid_api_key", message: "Invalid API key"}
	errInvalidDeviceKey       = &apiError{status: http.StatusUnauthorized, code: "invalid_api_key", message: "Invalid device API key"}
	errInvalidSession         = &apiError{status: http.StatusUnauthorized, code: "invalid_session", message: "Session expired or invalid"}
	errConflictingCredentials = &apiError{status: http.StatusBadRequest, code: "conflicting_credentials", message: "Use one credential per request"}
	errCSRF                   = &apiError{status: http.StatusForbidden, code: "csrf_failed", message: "Cross-site request refused; send it from the dashboard's own origin"}

	errDeviceKeyForbidden = &apiError{status: http.StatusForbidden, code: "forbidden", message: "Device API keys cannot manage the workspace"}
	errTestKeyForbidden   = &apiError{status: http.StatusForbidden, code: "forbidden", message: "Test API keys can only create test keys"}
	errNotAKey            = &apiError{status: http.StatusBadRequest, code: "not_a_key", message: "Only API keys can be rotated; this request used a session"}
	errDeviceKeyDelete    = &apiError{status: http.StatusConflict, code: "device_key", message: "Device keys are removed with their device; regenerate it instead"}
	errKeyNotFound        = &apiError{status: http.StatusNotFound, code: "key_not_found", message: "API key not found"}

	errSignupClosed       = &apiError{status: http.StatusForbidden, code: "signup_closed", message: "Sign-up is closed on this gateway"}
	errEmailTaken         = &apiError{status: http.StatusConflict, code: "email_taken", message: "An account with this e-mail address already exists"}
	errInvalidCredentials = &apiError{status: http.StatusUnauthorized, code: "invalid_credentials", message: "Invalid e-mail or password"}

	errEngineNotAllowed = &apiError{status: http.StatusBadRequest, code: "engine_not_allowed", message: "Test API keys can only create sandbox devices (engine sim)"}
	errUnknownEngine    = &apiError{status: http.StatusBadRequest, code: "unknown_engine", message: "Unknown engine; use sim or whatsmeow"}
	errMediaByURL       = &apiError{status: http.StatusBadRequest, code: "unsupported", message: "Sandbox media must be given as base64"}

	errInvalidJSON      = &apiError{status: http.StatusBadRequest, code: "invalid_json", message: "Malformed JSON body"}
	errNotFound         = &apiError{status: http.StatusNotFound, code: "not_found", message: "Not found"}
	errMethodNotAllowed = &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", message: "Method not allowed"}
	errPayloadTooLarge  = &apiError{status: http.StatusRequestEntityTooLarge, code: "payload_too_large", message: "Request body too large"}
	errNotReady         = &apiError{status: http.StatusServiceUnavailable, code: "not_ready", message: "Not ready"}
	errInternal         = &apiError{status: http.StatusInternalServerError, code: "internal_error", message: "Internal server error"}
)

// errorsByCause maps the sentinels of the packages below to the wire. The
// first match in order wins, so more specific causes come first.
var errorsByCause = []struct {
	cause error
	wire  *apiError
}{
	{actors.ErrDeviceNotFound, &apiError{status: http.StatusNotFound, code: "device_not_found", message: "Device not found"}},
	{actors.ErrMessageNotFound, &apiError{status: http.StatusNotFound, code: "message_not_found", message: "Message not found"}},
	{actors.ErrNameTaken, &apiError{status: http.StatusConflict, code: "name_taken", message: "A device with this name already exists"}},
	{actors.ErrUnknownEngine, errUnknownEngine},
	{actors.ErrNotSandbox, &apiError{status: http.StatusNotFound, code: "not_sandbox", message: "Not a sandbox device"}},
	{actors.ErrNoQR, &apiError{status: http.StatusNotFound, code: "no_qr", message: "No QR code: the device is not waiting for a scan"}},
	{engine.ErrNoQR, &apiError{status: http.StatusNotFound, code: "no_qr", message: "No QR code: the device is not waiting for a scan"}},
	{actors.ErrNotConnected, &apiError{status: http.StatusConflict, code: "device_not_connected", message: "Device not connected"}},
	{engine.ErrNotConnected, &apiError{status: http.StatusConflict, code: "device_not_connected", message: "Device not connected"}},
	{actors.ErrAlreadyConnected, &apiError{status: http.StatusConflict, code: "already_connected", message: "Device already connected"}},
	{actors.ErrLoggedOut, &apiError{status: http.StatusConflict, code: "device_logged_out", message: "Device logged out; connect it and scan a new QR code"}},
	{engine.ErrNotPaired, &apiError{status: http.StatusConflict, code: "device_not_paired", message: "Device not paired"}},
	{actors.ErrStopped, &apiError{status: http.StatusServiceUnavailable, code: "shutting_down", message: "The gateway is shutting down"}},
	{engine.ErrInvalidRecipient, &apiError{status: http.StatusBadRequest, code: "invalid_recipient", message: "Invalid recipient: use a phone number with country code or a WhatsApp JID"}},
	{engine.ErrNotOnWhatsApp, &apiError{status: http.StatusBadRequest, code: "not_on_whatsapp", message: "The recipient is not on WhatsApp"}},
	{engine.ErrUnsupported, &apiError{status: http.StatusBadRequest, code: "unsupported", message: "Not supported by this device's engine"}},
	{storage.ErrBadCursor, &apiError{status: http.StatusBadRequest, code: "invalid_cursor", message: "Invalid cursor"}},
	{storage.ErrConflict, &apiError{status: http.StatusConflict, code: "conflict", message: "Already exists"}},
	{storage.ErrNotFound, errNotFound},
	{actors.ErrTimeout, &apiError{status: http.StatusGatewayTimeout, code: "timeout", message: "Timed out"}},
	{context.DeadlineExceeded, &apiError{status: http.StatusGatewayTimeout, code: "timeout", message: "Timed out"}},
}

// validationError is a 400 validation_failed naming the field at fault.
func validationError(field, message string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "validation_failed", message: message, field: field}
}

// tooManyAttemptsError refuses a throttled login.
type tooManyAttemptsError struct{ retryAfter time.Duration }

func (e *tooManyAttemptsError) Error() string { return "too many login attempts" }

// Wire envelopes.
type (
	successEnvelope struct {
		Success bool `json:"success"`
		Data    any  `json:"data"`
	}
	errorEnvelope struct {
		Success bool      `json:"success"`
		Error   errorBody `json:"error"`
	}
	errorBody struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
		ID      string `json:"id,omitempty"`
	}
)

// respond writes a success envelope.
func respond(c *fiber.Ctx, status int, data any) error {
	return c.Status(status).JSON(successEnvelope{Success: true, Data: data})
}

// handleError is fiber's ErrorHandler: every error a handler or middleware
// returns, and every error fiber or fasthttp raise themselves, is written
// here as an error envelope.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	wire := s.wireError(c, err)
	body := errorBody{Code: wire.code, Message: wire.message, Field: wire.field}
	if wire.status >= http.StatusInternalServerError && wire.code == errInternal.code {
		body.ID = "err_" + rand.Text()[:16]
		s.log.Error("request failed", "errorId", body.ID, "requestId", requestID(c),
			"method", c.Method(), "path", c.Path(), "err", err)
	}
	return c.Status(wire.status).JSON(errorEnvelope{Error: body})
}

// wireError finds the wire form of err and sets the headers that go with it.
func (s *Server) wireError(c *fiber.Ctx, err error) *apiError {
	var (
		ae  *apiError
		rl  *actors.RateLimitedError
		tma *tooManyAttemptsError
		fe  *fiber.Error
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &rl):
		setRateLimitHeaders(c, rl.State)
		c.Set(fiber.HeaderRetryAfter, retryAfterSeconds(rl.State.RetryAfter))
		return &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
			message: "Rate limit exceeded for this device; retry after " + retryAfterSeconds(rl.State.RetryAfter) + " s"}
	case errors.As(err, &tma):
		c.Set(fiber.HeaderRetryAfter, retryAfterSeconds(tma.retryAfter))
		return &apiError{status: http.StatusTooManyRequests, code: "too_many_attempts",
			message: "Too many failed logins; retry after " + retryAfterSeconds(tma.retryAfter) + " s"}
	case errors.As(err, &fe):
		return fiberError(fe)
	}
	for _, m := range errorsByCause {
		if errors.Is(err, m.cause) {
			return m.wire
		}
	}
	return errInternal
}

// fiberError maps the errors fiber and fasthttp produce before or instead of
// a handler: unknown routes, wrong methods, oversized or unreadable requests.
func fiberError(fe *fiber.Error) *apiError {
	switch fe.Code {
	case http.StatusNotFound:
		return errNotFound
	case http.StatusMethodNotAllowed:
		return errMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		return errPayloadTooLarge
	case http.StatusRequestHeaderFieldsTooLarge:
		return &apiError{status: fe.Code, code: "headers_too_large", message: "Request headers too large"}
	case http.StatusRequestTimeout:
		return &apiError{status: fe.Code, code: "request_timeout", message: "Request timed out"}
	case http.StatusBadRequest:
		return &apiError{status: fe.Code, code: "bad_request", message: "Malformed request"}
	}
	if fe.Code >= http.StatusInternalServerError {
		return errInternal
	}
	return &apiError{status: fe.Code, code: "http_" + strconv.Itoa(fe.Code), message: http.StatusText(fe.Code)}
}

// setRateLimitHeaders writes the admission state of a send, admitted or not.
func setRateLimitHeaders(c *fiber.Ctx, st pacing.State) {
	c.Set("X-RateLimit-Limit", strconv.Itoa(st.Limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(max(st.Remaining, 0)))
	c.Set("X-RateLimit-Reset", strconv.FormatInt(unixCeil(st.Reset), 10))
}

// retryAfterSeconds rounds up to whole seconds, at least one: a client that
// waits exactly that long is then admitted.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(int64(math.Ceil(d.Seconds())), 1), 10)
}

// unixCeil is t in Unix seconds, rounded up so that the allowance is full
// at the announced second.
func unixCeil(t time.Time) int64 {
	if t.IsZero() {
		return time.Now().Unix()
	}
	sec := t.Unix()
	if t.Nanosecond() > 0 {
		sec++
	}
	return sec
}
