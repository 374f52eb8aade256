package auth

import (
	"fmt"
	"net/mail"
	"strings"
)

// maxEmailLen is the longest address SMTP can carry (RFC 5321 §4.5.3.1.3).
const maxEmailLen = 254

// NormalizeEmail returns s as a bare, lower-cased e-mail address, the form
// in which accounts are stored and looked up. Surrounding spaces are
// ignored; a display name, angle brackets, comments, a list of addresses or
// anything net/mail cannot parse is ErrBadEmail.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEmailLen {
		return "", ErrBadEmail
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadEmail, err)
	}
	// ParseAddress also accepts "Name <a@b>" and strips comments and quotes;
	// only an address that came back exactly as given is bare.
	if addr.Name != "" || addr.Address != s {
		return "", ErrBadEmail
	}
	return strings.ToLower(addr.Address), nil
}
