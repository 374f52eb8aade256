package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

const (
	// sessionPrefix marks dashboard session tokens so that they are never
	// mistaken for API keys in an "Authorization: Bearer" header.
	sessionPrefix      = "gws_"
	sessionRandomBytes = 32
)

var sessionTokenLen = len(sessionPrefix) + base64.RawURLEncoding.EncodedLen(sessionRandomBytes)

// NewSessionToken returns a new dashboard session token ("gws_" and 32
// random bytes in unpadded base64url) and its SHA-256 hash, the form in which
// it is stored.
func NewSessionToken() (token string, hash [32]byte, err error) {
	var b [sessionRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("new session token: %w", err)
	}
	token = sessionPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 of a session token.
func HashToken(t string) [32]byte {
	return sha256.Sum256([]byte(t))
}

// LooksLikeSessionToken reports whether s has the shape of a session token:
// the prefix, the length and the base64url alphabet. A token of the right
// shape may still be unknown or expired.
func LooksLikeSessionToken(s string) bool {
	if len(s) != sessionTokenLen {
		return false
	}
	rest, ok := strings.CutPrefix(s, sessionPrefix)
	if !ok {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	return err == nil
}
