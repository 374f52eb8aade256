package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/egress"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/plugins"
	"github.com/wa-gateway/wa-gateway/scripting"
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
	// line and column locate a plugin's compile error in its source.
	line, column int
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

	// Media, files and the other kinds of message (media_input.go, file_handlers.go).
	errFileNotFound      = &apiError{status: http.StatusNotFound, code: "file_not_found", message: "File not found (unknown, expired or of another workspace)"}
	errMediaTooLarge     = &apiError{status: http.StatusRequestEntityTooLarge, code: "media_too_large", message: "Media too large"}
	errMediaKindMismatch = &apiError{status: http.StatusBadRequest, code: "media_type_mismatch", message: "The content does not fit the media kind"}
	errVoiceFormat       = &apiError{status: http.StatusBadRequest, code: "unsupported_voice_format",
		message: "Voice notes must be Opus audio, mono, in an OGG container (audio/ogg; codecs=opus), as WhatsApp's phones need to play them; convert with: ffmpeg -i input -vn -c:a libopus -ac 1 -ar 16000 -b:a 24k voice.ogg. Send other audio as kind audio"}
	errInvalidURL       = &apiError{status: http.StatusBadRequest, code: "invalid_url", message: "The media URL must be an absolute http or https URL"}
	errURLNotAllowed    = &apiError{status: http.StatusBadRequest, code: "url_not_allowed", message: "The media URL points to a private, loopback or link-local address, which this gateway does not fetch"}
	errMediaFetchFailed = &apiError{status: http.StatusBadRequest, code: "media_fetch_failed", message: "Could not fetch the media URL"}
	errNotEditable      = &apiError{status: http.StatusConflict, code: "not_editable", message: "Only text and captions of messages this device sent can be edited, once sent and within 15 minutes"}
	errNotRevocable     = &apiError{status: http.StatusConflict, code: "not_revocable", message: "Only messages this device sent can be revoked, once sent"}
	errNotReactable     = &apiError{status: http.StatusConflict, code: "not_reactable", message: "This message cannot be reacted to: it has not reached WhatsApp"}

	// The device-key surface of the Device API Keys guide (/api/accounts, /api/whatsapp).
	errDisclaimerRequired = &apiError{status: http.StatusBadRequest, code: "disclaimer_required",
		message: "Live accounts run on an unofficial WhatsApp client that WhatsApp may ban; set baileysDisclaimerAccepted to true to accept the risk"}
	// errSessionNotConnected is the guide's 401 for a send through a device
	// that is not connected, whichever key named it.
	errSessionNotConnected = &apiError{status: http.StatusUnauthorized, code: "device_not_connected", message: "Device not connected"}

	// Events and webhooks (events_handlers.go, ws.go, webhook_handlers.go).
	errUpgradeRequired = &apiError{status: http.StatusUpgradeRequired, code: "upgrade_required", message: "This is a WebSocket endpoint; connect with a WebSocket client"}
	errTestKeyWebhooks = &apiError{status: http.StatusForbidden, code: "forbidden", message: "Test API keys cannot manage webhooks, which receive live events too; use a live key"}

	// Plugins (plugin_handlers.go).
	errPluginNotFound = &apiError{status: http.StatusNotFound, code: "plugin_not_found", message: "Plugin not found"}
	errPluginLimit    = &apiError{status: http.StatusConflict, code: "plugin_limit", message: "This workspace has as many plugins as it may (50); delete one first"}
	errTestKeyPlugins = &apiError{status: http.StatusForbidden, code: "forbidden", message: "Test API keys cannot manage plugins, which see live events too; use a live key (dry runs are allowed)"}

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
	{actors.ErrNoMedia, &apiError{status: http.StatusNotFound, code: "no_media", message: "This message has no media"}},
	{actors.ErrNotCancellable, &apiError{status: http.StatusConflict, code: "not_cancellable", message: "Only a queued message can be cancelled; this one was sent, failed or is being sent"}},
	{pacing.ErrBadSettings, validationError("pacing", "Invalid pacing settings")},
	{engine.ErrMediaExpired, &apiError{status: http.StatusGone, code: "media_expired", message: "The media is no longer available"}},
	{engine.ErrInvalidMediaRef, &apiError{status: http.StatusGone, code: "media_expired", message: "The media is no longer available"}},
	{engine.ErrNoAvatar, &apiError{status: http.StatusNotFound, code: "no_avatar", message: "No profile picture, or it is hidden"}},
	{engine.ErrGroupNotFound, &apiError{status: http.StatusNotFound, code: "group_not_found", message: "Group not found, or the device is not a member"}},
	{engine.ErrNotGroupAdmin, &apiError{status: http.StatusForbidden, code: "not_group_admin", message: "Only group admins can do this"}},
	{storage.ErrTooLarge, errMediaTooLarge},
	{actors.ErrWebhookNotFound, &apiError{status: http.StatusNotFound, code: "webhook_not_found", message: "Webhook not found"}},
	{actors.ErrDeliveryNotFound, &apiError{status: http.StatusNotFound, code: "delivery_not_found", message: "Delivery not found"}},
	{actors.ErrWebhookLimit, &apiError{status: http.StatusConflict, code: "webhook_limit", message: "This workspace has as many webhooks as it may (100); delete one first"}},
	{actors.ErrUnknownEventType, &apiError{status: http.StatusBadRequest, code: "unknown_event_type", message: "Unknown event type; the Event schema lists them"}},
	{actors.ErrNoEventTypes, validationError("events", `events must list at least one event type, or "*" for all`)},
	{actors.ErrEventExpired, &apiError{status: http.StatusGone, code: "event_expired", message: "The event is no longer in the log (it is older than the event retention)"}},
	{egress.ErrInvalidURL, &apiError{status: http.StatusBadRequest, code: "invalid_url", message: "The URL must be an absolute http or https URL"}},
	{egress.ErrPrivateAddress, &apiError{status: http.StatusBadRequest, code: "url_not_allowed", message: "The URL points to a private, loopback or link-local address, which this gateway does not reach"}},
	{scripting.ErrCompile, errPluginCompile},
	{scripting.ErrConfig, errPluginConfig},
	{plugins.ErrUnknownBundled, validationError("bundled", "Unknown bundled plugin; GET /api/plugins/bundled lists them")},
	{storage.ErrConflict, &apiError{status: http.StatusConflict, code: "conflict", message: "Already exists"}},
	{storage.ErrNotFound, errNotFound},
	{actors.ErrTimeout, &apiError{status: http.StatusGatewayTimeout, code: "timeout", message: "Timed out"}},
	{context.DeadlineExceeded, &apiError{status: http.StatusGatewayTimeout, code: "timeout", message: "Timed out"}},
}

// Plugin sources and configs that a plugin cannot run with; pluginError
// gives them the script's message and place.
var (
	errPluginCompile = &apiError{status: http.StatusBadRequest, code: "compile_error", message: "The plugin's source does not compile"}
	errPluginConfig  = &apiError{status: http.StatusBadRequest, code: "invalid_config", message: "The plugin does not accept this config"}
)

// pluginError is the wire form of a plugin that failed to compile or load:
// compile_error (with line and column when known) or invalid_config.
func pluginError(e *scripting.Error) *apiError {
	wire := *errPluginCompile
	switch {
	case errors.Is(e, scripting.ErrConfig):
		wire = *errPluginConfig
	case errors.Is(e, scripting.ErrSourceTooLarge):
		return validationError("source", e.Message)
	}
	wire.message += ": " + e.Message
	if e.Line > 0 {
		wire.message += fmt.Sprintf(" (line %d, column %d)", e.Line, e.Column)
		wire.line, wire.column = e.Line, e.Column
	}
	return &wire
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
		Line    int    `json:"line,omitempty"`
		Column  int    `json:"column,omitempty"`
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
	body := errorBody{Code: wire.code, Message: wire.message, Field: wire.field, Line: wire.line, Column: wire.column}
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
		se  *scripting.Error
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
	case errors.As(err, &se):
		return pluginError(se)
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
	case http.StatusBadGateway:
		// fiber's name for a network error while reading the request (the
		// client hung up or reset the connection): the client's failure,
		// not the server's, and not worth an error in the log.
		return &apiError{status: http.StatusBadRequest, code: "bad_request", message: "The request could not be read"}
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
