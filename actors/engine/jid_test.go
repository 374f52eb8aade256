package engine

import (
	"errors"
	"testing"
)

func TestParseRecipient(t *testing.T) {
	tests := []struct {
		in   string
		want JID
		ok   bool
	}{
		{"628111222333", UserJID("628111222333"), true},
		{"+62 811-1222-333", UserJID("628111222333"), true},
		{" (62) 811.1222.333 ", UserJID("628111222333"), true},
		{"628111222333@s.whatsapp.net", UserJID("628111222333"), true},
		{"628111222333:12@s.whatsapp.net", UserJID("628111222333"), true},
		{"628111222333.0:12@s.whatsapp.net", UserJID("628111222333"), true},
		{"120363025246125486@g.us", JID{User: "120363025246125486", Server: ServerGroup}, true},
		{"12036302524@lid", JID{User: "12036302524", Server: ServerLID}, true},
		{"120363144038483540@newsletter", JID{User: "120363144038483540", Server: ServerNewsletter}, true},
		{"status@broadcast", JID{User: "status", Server: ServerBroadcast}, true},
		{"", JID{}, false},
		{"123", JID{}, false},              // too short
		{"0811222333", JID{}, false},       // national format, no country code
		{"1234567890123456", JID{}, false}, // longer than E.164
		{"62811a222333", JID{}, false},
		{"62811222333@example.com", JID{}, false},
		{"abc@s.whatsapp.net", JID{}, false},
		{"@g.us", JID{}, false},
		{"62811222333@", JID{}, false},
	}
	for _, tt := range tests {
		got, err := ParseRecipient(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("ParseRecipient(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidRecipient) {
			t.Errorf("ParseRecipient(%q): error %v does not wrap ErrInvalidRecipient", tt.in, err)
		}
	}
}

func TestJIDHelpers(t *testing.T) {
	u := UserJID("628111222333")
	if u.String() != "628111222333@s.whatsapp.net" || u.Phone() != "628111222333" || u.IsGroup() || u.IsZero() {
		t.Fatalf("user JID helpers wrong: %v", u)
	}
	g := JID{User: "1203", Server: ServerGroup}
	if !g.IsGroup() || g.Phone() != "" {
		t.Fatalf("group JID helpers wrong: %v", g)
	}
	if !(JID{}).IsZero() || (JID{}).String() != "" {
		t.Fatal("zero JID helpers wrong")
	}
}

// FuzzParseRecipient: never panics, and whatever parses formats back to
// something that parses to the same JID.
func FuzzParseRecipient(f *testing.F) {
	for _, s := range []string{"628111222333", "+62 811", "1@g.us", "x@lid", "1:2@s.whatsapp.net", "@", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := ParseRecipient(s)
		if err != nil {
			return
		}
		again, err := ParseRecipient(j.String())
		if err != nil || again != j {
			t.Fatalf("%q → %v → %v, %v", s, j, again, err)
		}
	})
}
