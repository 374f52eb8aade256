package api

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Lengths of names people type (user, workspace, key and device names).
const (
	maxPersonName = 100
	maxObjectName = 64
)

type registerRequest struct {
	Name      string `json:"name"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	Workspace string `json:"workspace"`
}

type registerResponse struct {
	User         userDTO      `json:"user"`
	Workspace    workspaceDTO `json:"workspace"`
	APIKey       string       `json:"apiKey"`
	APIKeyPrefix string       `json:"apiKeyPrefix"`
	Token        string       `json:"token"`
	ExpiresAt    nullTime     `json:"expiresAt"`
}

// register creates a user, its workspace and the workspace's first live
// key, and logs the user in. The key is shown this once.
func (s *Server) register(c *fiber.Ctx) error {
	if s.cfg.Signup == SignupClosed {
		return errSignupClosed
	}
	var req registerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	acc, err := CreateAccount(c.UserContext(), s.db, AccountSpec{
		Name: req.Name, Email: req.Email, Password: req.Password, Workspace: req.Workspace,
	})
	if err != nil {
		return err
	}
	token, expires, err := s.startSession(c, acc.User)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusCreated, registerResponse{
		User:         newUserDTO(acc.User),
		Workspace:    newWorkspaceDTO(acc.Workspace),
		APIKey:       acc.APIKey,
		APIKeyPrefix: acc.Key.Prefix,
		Token:        token,
		ExpiresAt:    nullTime(expires),
	})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token     string       `json:"token"`
	User      userDTO      `json:"user"`
	Workspace workspaceDTO `json:"workspace"`
	ExpiresAt nullTime     `json:"expiresAt"`
}

// login checks an e-mail and password and starts a session. Unknown
// e-mails and wrong passwords get the same answer after the same work.
func (s *Server) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Email) == "" {
		return validationError("email", "email is required")
	}
	if req.Password == "" {
		return validationError("password", "password is required")
	}
	email, emailErr := auth.NormalizeEmail(req.Email)
	if emailErr != nil {
		email = strings.ToLower(strings.TrimSpace(req.Email))
	}
	ip := s.clientIP(c)
	if wait, ok := s.throttle.Check(email, ip); !ok {
		return &tooManyAttemptsError{retryAfter: wait}
	}

	var (
		user  storage.User
		found bool
	)
	if emailErr == nil {
		u, err := s.db.GetUserByEmail(email)
		switch {
		case err == nil:
			user, found = u, true
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("look up user: %w", err)
		}
	}
	phc := user.PasswordHash
	if !found {
		dummy, err := s.dummyHash()
		if err != nil {
			return err
		}
		phc = dummy
	}
	match, err := auth.VerifyPassword(c.UserContext(), phc, req.Password)
	if err != nil && !errors.Is(err, auth.ErrPasswordHash) {
		return err
	}
	if !found || !match {
		s.throttle.Fail(email, ip)
		return errInvalidCredentials
	}
	s.throttle.Succeed(email, ip)

	ws, err := s.db.GetWorkspace(user.WorkspaceID)
	if err != nil {
		return fmt.Errorf("load workspace of user: %w", err)
	}
	token, expires, err := s.startSession(c, user)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, loginResponse{
		Token:     token,
		User:      newUserDTO(user),
		Workspace: newWorkspaceDTO(ws),
		ExpiresAt: nullTime(expires),
	})
}

// startSession stores a new session for user and sets its cookie.
func (s *Server) startSession(c *fiber.Ctx, user storage.User) (string, time.Time, error) {
	token, hash, err := auth.NewSessionToken()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now().UTC()
	sess := storage.Session{
		Hash:        hash,
		UserID:      user.ID,
		WorkspaceID: user.WorkspaceID,
		CreatedAt:   now,
		ExpiresAt:   now.Add(sessionTTL),
	}
	if err := s.db.PutSession(sess); err != nil {
		return "", time.Time{}, fmt.Errorf("store session: %w", err)
	}
	c.Cookie(&fiber.Cookie{
		Name:     sessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  sess.ExpiresAt,
		MaxAge:   int(sessionTTL / time.Second),
		Secure:   isSecureRequest(c),
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	return token, sess.ExpiresAt, nil
}

// isSecureRequest reports whether the client reached us over TLS, directly
// or through a proxy that says so.
func isSecureRequest(c *fiber.Ctx) bool {
	return c.Context().IsTLS() || strings.EqualFold(c.Get(fiber.HeaderXForwardedProto), "https")
}

type loggedOutDTO struct {
	LoggedOut bool `json:"loggedOut"`
}

// logout ends the session of the request (bearer token or cookie) and
// clears the cookie. Logging out without a session is not an error.
func (s *Server) logout(c *fiber.Ctx) error {
	token, fromBearer := bearerToken(c.Get(fiber.HeaderAuthorization))
	if !fromBearer || !auth.LooksLikeSessionToken(token) {
		token = c.Cookies(sessionCookie)
		if token != "" && !s.sameOrigin(c) {
			return errCSRF
		}
	}
	if auth.LooksLikeSessionToken(token) {
		if err := s.db.DeleteSession(auth.HashToken(token)); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("delete session: %w", err)
		}
	}
	c.Cookie(&fiber.Cookie{
		Name:     sessionCookie,
		Value:    "",
		Path:     "/",
		Expires:  time.Unix(0, 0),
		Secure:   isSecureRequest(c),
		HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode,
	})
	return respond(c, fiber.StatusOK, loggedOutDTO{LoggedOut: true})
}

type meKeyDTO struct {
	Type   string `json:"type"` // workspace, device or session
	Mode   string `json:"mode"` // live or test
	Prefix string `json:"prefix,omitempty"`
}

type meResponse struct {
	Workspace workspaceDTO `json:"workspace"`
	Key       meKeyDTO     `json:"key"`
	DeviceID  *int64       `json:"deviceId,omitempty"`
	User      *userDTO     `json:"user,omitempty"`
}

// me tells the caller who it is.
func (s *Server) me(c *fiber.Ctx) error {
	p := principalOf(c)
	ws, err := s.db.GetWorkspace(p.WorkspaceID)
	if err != nil {
		return fmt.Errorf("load workspace: %w", err)
	}
	resp := meResponse{
		Workspace: newWorkspaceDTO(ws),
		Key:       meKeyDTO{Type: "workspace", Mode: p.mode(), Prefix: p.Prefix},
	}
	switch p.Kind {
	case principalDevice:
		resp.Key.Type = "device"
		id := p.DeviceID
		resp.DeviceID = &id
	case principalSession:
		resp.Key.Type = "session"
		u, err := s.db.GetUser(p.UserID)
		if err != nil {
			return fmt.Errorf("load user: %w", err)
		}
		dto := newUserDTO(u)
		resp.User = &dto
	}
	return respond(c, fiber.StatusOK, resp)
}

type rotatedKeyDTO struct {
	APIKey string `json:"apiKey"`
	Prefix string `json:"prefix"`
}

// rotateKey replaces the key that made the call; the old one stops working
// at once and the new one is shown this once.
func (s *Server) rotateKey(c *fiber.Ctx) error {
	p := principalOf(c)
	if p.Kind == principalSession {
		return errNotAKey
	}
	old, err := s.db.GetKey(p.WorkspaceID, p.KeyID)
	if errors.Is(err, storage.ErrNotFound) {
		// Deleted or rotated by a concurrent request.
		return invalidKeyError(auth.Kind(p.Kind))
	}
	if err != nil {
		return fmt.Errorf("load key: %w", err)
	}
	secret, replaced, err := s.replaceKey(old)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, rotatedKeyDTO{APIKey: secret, Prefix: replaced.Prefix})
}
