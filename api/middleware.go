package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

const (
	// sessionCookie carries the dashboard session token.
	sessionCookie = "wa_session"
	// headerAPIKey is the API key header of the seed.
	headerAPIKey = "X-API-Key"
	// headerRequestID returns the id under which a request was logged.
	headerRequestID = "X-Request-ID"
)

// localsKey keys the values middleware leaves in fiber's Locals.
type localsKey int

const (
	localsRequestID localsKey = iota
	localsPrincipal
)

// principalKind is how a request authenticated.
type principalKind string

const (
	principalLive    principalKind = "live"    // gw_live_ workspace key
	principalTest    principalKind = "test"    // gw_test_ workspace key: sandbox devices only
	principalDevice  principalKind = "device"  // dev_ key: one device
	principalSession principalKind = "session" // dashboard session (cookie or bearer token)
)

// principal is who made an authenticated request.
type principal struct {
	WorkspaceID int64
	Kind        principalKind
	KeyID       int64  // keys only
	DeviceID    int64  // device keys only
	UserID      int64  // sessions only
	Prefix      string // display prefix of the key; empty for sessions
	// DeviceEngine is the engine of a device key's device.
	DeviceEngine string
	// SessionHash identifies the session, for logout.
	SessionHash [32]byte
}

// seesDevice reports whether the principal may see a device of its
// workspace: test keys see only sandbox devices, device keys only their own.
func (p *principal) seesDevice(d storage.Device) bool {
	switch p.Kind {
	case principalTest:
		return d.Engine == engineSim
	case principalDevice:
		return d.ID == p.DeviceID
	}
	return true
}

// mode is live or test, as shown by /api/auth/me and the key list.
func (p *principal) mode() string {
	if p.Kind == principalTest || (p.Kind == principalDevice && p.DeviceEngine == engineSim) {
		return modeTest
	}
	return modeLive
}

// principalOf returns the principal authenticate stored; routes without
// authentication never call it.
func principalOf(c *fiber.Ctx) *principal {
	p, _ := c.Locals(localsPrincipal).(*principal)
	return p
}

// requestID returns the id assignRequestID gave the request.
func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(localsRequestID).(string)
	return id
}

// assignRequestID gives every request an id, returned in X-Request-ID and
// written in its log lines. Ids sent by clients are not trusted: two
// requests must never share one.
func assignRequestID(c *fiber.Ctx) error {
	id := "req_" + rand.Text()[:16]
	c.Locals(localsRequestID, id)
	c.Set(headerRequestID, id)
	return c.Next()
}

// accessLog writes one line per request once its answer is known. Errors
// are turned into their envelope here, not after the chain, so that the
// line carries the final status.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	if err := c.Next(); err != nil {
		if werr := s.handleError(c, err); werr != nil {
			return werr
		}
	}
	status := c.Response().StatusCode()
	level := slog.LevelInfo
	switch {
	case status >= fiber.StatusInternalServerError:
		level = slog.LevelError
	case c.Path() == "/healthz" || c.Path() == "/readyz" || c.Path() == "/metrics":
		level = slog.LevelDebug // probes and scrapes, every few seconds
	}
	attrs := []slog.Attr{
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("ip", s.clientIP(c)),
		slog.String("requestId", requestID(c)),
	}
	if p := principalOf(c); p != nil {
		attrs = append(attrs, slog.Int64("workspaceId", p.WorkspaceID), slog.String("auth", string(p.Kind)))
	}
	s.log.LogAttrs(c.UserContext(), level, "http request", attrs...)
	return nil
}

// recoverPanics turns a handler panic into a 500 with an error id; the
// stack goes to the log.
func (s *Server) recoverPanics() fiber.Handler {
	return recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			s.log.Error("handler panic", "requestId", requestID(c), "panic", fmt.Sprint(e),
				"stack", string(debug.Stack()))
		},
	})
}

// authenticate resolves the request's credential into a principal, or
// refuses the request. Credentials are read from headers and the session
// cookie only, never from the query string, where they would end up in
// logs and browser history.
func (s *Server) authenticate(c *fiber.Ctx) error {
	p, err := s.resolvePrincipal(c)
	if err != nil {
		return err
	}
	c.Locals(localsPrincipal, p)
	return c.Next()
}

// requireAdmin refuses device keys on the routes that manage the workspace.
func requireAdmin(c *fiber.Ctx) error {
	if principalOf(c).Kind == principalDevice {
		return errDeviceKeyForbidden
	}
	return c.Next()
}

func (s *Server) resolvePrincipal(c *fiber.Ctx) (*principal, error) {
	headerKey := strings.TrimSpace(c.Get(headerAPIKey))
	bearer, hasBearer := bearerToken(c.Get(fiber.HeaderAuthorization))
	switch {
	case headerKey != "" && hasBearer && headerKey != bearer:
		return nil, errConflictingCredentials
	case headerKey != "":
		return s.keyPrincipal(c, headerKey)
	case hasBearer && auth.LooksLikeKey(bearer):
		return s.keyPrincipal(c, bearer)
	case hasBearer && auth.LooksLikeSessionToken(bearer):
		return s.sessionPrincipal(bearer)
	case hasBearer:
		return nil, errInvalidKeyFormat
	}
	token := c.Cookies(sessionCookie)
	if token == "" {
		return nil, errMissingCredentials
	}
	p, err := s.sessionPrincipal(token)
	if err != nil {
		return nil, err
	}
	if isUnsafeMethod(c.Method()) && !s.sameOrigin(c) {
		return nil, errCSRF
	}
	return p, nil
}

// bearerToken returns the credential of an "Authorization: Bearer" header.
// Other schemes are not ours (a proxy's Basic auth, say) and are ignored.
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		if strings.EqualFold(scheme, "Bearer") {
			return "", true
		}
		return "", false
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// keyPrincipal authenticates an API key. A key whose checksum fails is
// refused without a lookup.
func (s *Server) keyPrincipal(c *fiber.Ctx, raw string) (*principal, error) {
	parsed, err := auth.ParseKey(raw)
	if errors.Is(err, auth.ErrKeyChecksum) {
		return nil, invalidKeyError(parsed.Kind)
	}
	if err != nil {
		return nil, errInvalidKeyFormat
	}
	k, err := s.db.GetKeyByHash(parsed.Hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, invalidKeyError(parsed.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("look up key: %w", err)
	}
	if !auth.Equal(k.Hash, parsed.Hash) || string(k.Kind) != string(parsed.Kind) ||
		(parsed.Kind == auth.KindDevice && k.WorkspaceID != parsed.WorkspaceID) {
		return nil, invalidKeyError(parsed.Kind)
	}
	p := &principal{WorkspaceID: k.WorkspaceID, Kind: principalKind(k.Kind), KeyID: k.ID, Prefix: k.Prefix}
	if k.Kind == storage.KeyDevice {
		d, err := s.gw.Device(c.UserContext(), k.WorkspaceID, k.DeviceID)
		if errors.Is(err, actors.ErrDeviceNotFound) {
			return nil, errInvalidDeviceKey
		}
		if err != nil {
			return nil, fmt.Errorf("look up device of key: %w", err)
		}
		p.DeviceID, p.DeviceEngine = d.ID, d.Engine
	}
	s.usage.touch(k.ID, s.now())
	return p, nil
}

func invalidKeyError(kind auth.Kind) *apiError {
	if kind == auth.KindDevice {
		return errInvalidDeviceKey
	}
	return errInvalidKey
}

// sessionPrincipal authenticates a dashboard session token.
func (s *Server) sessionPrincipal(token string) (*principal, error) {
	if !auth.LooksLikeSessionToken(token) {
		return nil, errInvalidSession
	}
	hash := auth.HashToken(token)
	sess, err := s.db.GetSession(hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errInvalidSession
	}
	if err != nil {
		return nil, fmt.Errorf("look up session: %w", err)
	}
	if !sess.ExpiresAt.After(s.now()) {
		return nil, errInvalidSession
	}
	return &principal{WorkspaceID: sess.WorkspaceID, Kind: principalSession, UserID: sess.UserID, SessionHash: hash}, nil
}

func isUnsafeMethod(m string) bool {
	switch m {
	case fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch, fiber.MethodDelete:
		return true
	}
	return false
}

// sameOrigin is the CSRF check for cookie-authenticated changes: the
// browser says the request is same-origin (Fetch Metadata), or its Origin
// is this server as the client addressed it (or as configured in
// PublicURL, for deployments behind a proxy that rewrites Host).
func (s *Server) sameOrigin(c *fiber.Ctx) bool {
	switch c.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	}
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, string(c.Request().Host())) {
		return true
	}
	return s.publicHost != "" && strings.EqualFold(u.Host, s.publicHost)
}

// visibleDevice loads device id for the principal: a device of another
// workspace, another device than a device key's own, or a live device seen
// with a test key are all simply not found.
func (s *Server) visibleDevice(c *fiber.Ctx, p *principal, id int64) (storage.Device, error) {
	if p.Kind == principalDevice && id != p.DeviceID {
		return storage.Device{}, actors.ErrDeviceNotFound
	}
	d, err := s.gw.Device(c.UserContext(), p.WorkspaceID, id)
	if err != nil {
		return storage.Device{}, err
	}
	if !p.seesDevice(d) {
		return storage.Device{}, actors.ErrDeviceNotFound
	}
	return d, nil
}

// ownedDeviceParam is deviceParam for changes only the workspace may make
// (rename, rate limit, delete, new key): a device key gets 404 for another
// device, as everywhere, and 403 for its own.
func (s *Server) ownedDeviceParam(c *fiber.Ctx) (storage.Device, error) {
	d, err := s.deviceParam(c)
	if err != nil {
		return d, err
	}
	if principalOf(c).Kind == principalDevice {
		return storage.Device{}, errDeviceKeyForbidden
	}
	return d, nil
}

// deviceParam resolves the {id} path parameter to a visible device. A
// non-numeric id names no device.
func (s *Server) deviceParam(c *fiber.Ctx) (storage.Device, error) {
	id, ok := pathID(c)
	if !ok {
		return storage.Device{}, actors.ErrDeviceNotFound
	}
	return s.visibleDevice(c, principalOf(c), id)
}

// engineSim and engineWhatsmeow are the engines a device can run on.
const (
	engineSim       = "sim"
	engineWhatsmeow = "whatsmeow"
)

// Key modes on the wire.
const (
	modeLive = "live"
	modeTest = "test"
)
