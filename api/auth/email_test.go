package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"ann@example.com", "ann@example.com", false},
		{"Ann.Lee@Example.COM", "ann.lee@example.com", false},
		{"  ann@example.com\t", "ann@example.com", false},
		{"ann+tag@example.co.id", "ann+tag@example.co.id", false},
		{"admin@localhost", "admin@localhost", false},
		{"", "", true},
		{"   ", "", true},
		{"ann", "", true},
		{"ann@", "", true},
		{"@example.com", "", true},
		{"ann@@example.com", "", true},
		{"ann lee@example.com", "", true},
		{"Ann <ann@example.com>", "", true},
		{"<ann@example.com>", "", true},
		{"ann@example.com (Ann)", "", true},
		{`"ann lee"@example.com`, "", true},
		{"ann@example.com, bob@example.com", "", true},
		{"ann@example.com\r\nBcc: eve@example.com", "", true},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190) + ".com", "", true},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrBadEmail) || got != "" {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want ErrBadEmail", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
