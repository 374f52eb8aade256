package engine

import (
	"fmt"
	"strings"
)

// WhatsApp JID servers.
const (
	ServerUser       = "s.whatsapp.net"
	ServerGroup      = "g.us"
	ServerLID        = "lid"
	ServerNewsletter = "newsletter"
	ServerBroadcast  = "broadcast"
)

// JID is a WhatsApp address: user@server (device parts are not kept).
type JID struct {
	User   string
	Server string
}

// String formats the JID as user@server; the zero JID is "".
func (j JID) String() string {
	if j.Server == "" {
		return j.User
	}
	return j.User + "@" + j.Server
}

// IsZero reports whether j is the zero JID.
func (j JID) IsZero() bool { return j.User == "" && j.Server == "" }

// IsGroup reports whether j is a group chat.
func (j JID) IsGroup() bool { return j.Server == ServerGroup }

// Phone returns the phone number of a user JID, or "" for other kinds.
func (j JID) Phone() string {
	if j.Server == ServerUser {
		return j.User
	}
	return ""
}

// UserJID is the JID of a phone number.
func UserJID(phone string) JID { return JID{User: phone, Server: ServerUser} }

// ParseRecipient turns what a client wrote as a recipient into a JID.
//
// A phone number is digits with the country code; "+", spaces, dashes, dots
// and parentheses are stripped. Anything with an "@" is taken as a JID of a
// known server (s.whatsapp.net, g.us, lid, newsletter, broadcast); a device
// part ("123:4@s.whatsapp.net") is dropped. Everything else wraps
// ErrInvalidRecipient.
func ParseRecipient(s string) (JID, error) {
	s = strings.TrimSpace(s)
	if user, server, ok := strings.Cut(s, "@"); ok {
		if i := strings.IndexByte(user, ':'); i >= 0 {
			user = user[:i]
		}
		if dot := strings.IndexByte(user, '.'); dot >= 0 && server != ServerGroup {
			user = user[:dot] // agent part of an AD JID
		}
		switch server {
		case ServerUser, ServerLID:
			if !isDigits(user) || len(user) < 5 || len(user) > 20 {
				return JID{}, fmt.Errorf("%w: %q", ErrInvalidRecipient, s)
			}
		case ServerGroup, ServerNewsletter, ServerBroadcast:
			if user == "" || strings.ContainsAny(user, "@ \t\r\n") {
				return JID{}, fmt.Errorf("%w: %q", ErrInvalidRecipient, s)
			}
		default:
			return JID{}, fmt.Errorf("%w: unknown server in %q", ErrInvalidRecipient, s)
		}
		return JID{User: user, Server: server}, nil
	}
	phone, err := NormalizePhone(s)
	if err != nil {
		return JID{}, err
	}
	return UserJID(phone), nil
}

// NormalizePhone strips "+", spaces, dashes, dots and parentheses from a
// phone number and checks that what is left is 7 to 15 digits (E.164 without
// the plus) that does not start with 0.
func NormalizePhone(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("%w: %q", ErrInvalidRecipient, s)
		}
	}
	p := b.String()
	if len(p) < 7 || len(p) > 15 || p[0] == '0' {
		return "", fmt.Errorf("%w: %q is not a phone number with country code", ErrInvalidRecipient, s)
	}
	return p, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
