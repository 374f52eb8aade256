package auth

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewSessionToken(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		tok, hash, err := NewSessionToken()
		if err != nil {
			t.Fatalf("NewSessionToken: %v", err)
		}
		rest, ok := strings.CutPrefix(tok, "gws_")
		if !ok {
			t.Fatalf("token %q lacks the gws_ prefix", tok)
		}
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if err != nil || len(raw) != 32 {
			t.Fatalf("token body %q: %d bytes, %v; want 32 bytes of base64url", rest, len(raw), err)
		}
		if hash != HashToken(tok) {
			t.Fatal("returned hash is not HashToken(token)")
		}
		if !LooksLikeSessionToken(tok) {
			t.Fatalf("LooksLikeSessionToken(%q) = false for a new token", tok)
		}
		if LooksLikeKey(tok) {
			t.Fatalf("LooksLikeKey(%q) = true for a session token", tok)
		}
		if _, err := ParseKey(tok); err == nil {
			t.Fatalf("ParseKey accepted session token %q", tok)
		}
		if seen[tok] {
			t.Fatal("token generated twice")
		}
		seen[tok] = true
	}
}

func TestLooksLikeSessionToken(t *testing.T) {
	valid := "gws_" + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"valid", valid, true},
		{"empty", "", false},
		{"prefix only", "gws_", false},
		{"short", valid[:len(valid)-1], false},
		{"long", valid + "A", false},
		{"other prefix", "gwx_" + valid[4:], false},
		{"standard base64 alphabet", valid[:10] + "+" + valid[11:], false},
		{"padding", valid[:len(valid)-1] + "=", false},
		{"non-canonical last character", valid[:len(valid)-1] + "l", false},
		{"api key", mustWorkspaceKey(t, KindLive).Secret, false},
	}
	for _, tt := range tests {
		if got := LooksLikeSessionToken(tt.in); got != tt.want {
			t.Errorf("%s: LooksLikeSessionToken(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestHashToken(t *testing.T) {
	a, b := HashToken("gws_a"), HashToken("gws_b")
	if a == b || a != HashToken("gws_a") {
		t.Error("HashToken is not a deterministic function of its input")
	}
	if HashToken("gws_a") != HashKey("gws_a") {
		t.Error("HashToken and HashKey disagree on SHA-256")
	}
}
