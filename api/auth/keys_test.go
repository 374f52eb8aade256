package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

func mustWorkspaceKey(t testing.TB, kind Kind) Key {
	t.Helper()
	k, err := NewWorkspaceKey(kind)
	if err != nil {
		t.Fatalf("NewWorkspaceKey(%q): %v", kind, err)
	}
	return k
}

func mustDeviceKey(t testing.TB, workspaceID int64) Key {
	t.Helper()
	k, err := NewDeviceKey(workspaceID)
	if err != nil {
		t.Fatalf("NewDeviceKey(%d): %v", workspaceID, err)
	}
	return k
}

func TestNewKeyShape(t *testing.T) {
	tests := []struct {
		name       string
		key        Key
		kind       Kind
		workspace  int64
		typePrefix string
	}{
		{"live", mustWorkspaceKey(t, KindLive), KindLive, 0, "gw_live_"},
		{"test", mustWorkspaceKey(t, KindTest), KindTest, 0, "gw_test_"},
		{"device", mustDeviceKey(t, 1), KindDevice, 1, "dev_1_"},
		{"device large id", mustDeviceKey(t, 9223372036854775807), KindDevice, 9223372036854775807, "dev_9223372036854775807_"},
	}
	body := regexp.MustCompile(`^[0-9A-Za-z]{38}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.key
			if k.Kind != tt.kind || k.WorkspaceID != tt.workspace {
				t.Errorf("kind, workspace = %q, %d; want %q, %d", k.Kind, k.WorkspaceID, tt.kind, tt.workspace)
			}
			rest, ok := strings.CutPrefix(k.Secret, tt.typePrefix)
			if !ok || !body.MatchString(rest) {
				t.Fatalf("secret %q: want %s followed by 38 base62 characters", k.Secret, tt.typePrefix)
			}
			if want := tt.typePrefix + rest[:12] + "..."; k.Prefix != want {
				t.Errorf("Prefix = %q, want %q", k.Prefix, want)
			}
			if k.Hash != HashKey(k.Secret) {
				t.Error("Hash is not the SHA-256 of Secret")
			}
			p, err := ParseKey(k.Secret)
			if err != nil {
				t.Fatalf("ParseKey(new key): %v", err)
			}
			want := Parsed{Kind: k.Kind, WorkspaceID: k.WorkspaceID, Hash: k.Hash, Prefix: k.Prefix}
			if p != want {
				t.Errorf("ParseKey = %+v, want %+v", p, want)
			}
		})
	}
}

func TestNewKeysDiffer(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		k := mustWorkspaceKey(t, KindLive)
		if seen[k.Secret] {
			t.Fatalf("key %s generated twice", k.Prefix)
		}
		seen[k.Secret] = true
	}
}

func TestNewKeyRefusesBadArguments(t *testing.T) {
	for _, kind := range []Kind{KindDevice, "", "LIVE"} {
		if _, err := NewWorkspaceKey(kind); !errors.Is(err, ErrKeyKind) {
			t.Errorf("NewWorkspaceKey(%q) error = %v, want ErrKeyKind", kind, err)
		}
	}
	for _, id := range []int64{0, -1} {
		if _, err := NewDeviceKey(id); !errors.Is(err, ErrKeyFormat) {
			t.Errorf("NewDeviceKey(%d) error = %v, want ErrKeyFormat", id, err)
		}
	}
}

func TestKeyDoesNotPrintSecret(t *testing.T) {
	k := mustDeviceKey(t, 7)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("made", "key", k)
	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", k),
		"%+v":  fmt.Sprintf("%+v", k),
		"%#v":  fmt.Sprintf("%#v", k),
		"%s":   fmt.Sprintf("%s", k),
		"slog": logged.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, k.Secret) {
			t.Errorf("%s output contains the secret: %s", verb, out)
		}
		if !strings.Contains(out, k.Prefix) {
			t.Errorf("%s output %q lacks the prefix %q", verb, out, k.Prefix)
		}
	}
}

func TestChecksumEncoding(t *testing.T) {
	for _, sum := range []uint32{0, 1, 61, 62, 1<<32 - 1, 0xDEADBEEF} {
		enc := encodeChecksum(sum)
		if len(enc) != keyChecksumLen {
			t.Fatalf("encodeChecksum(%d) = %q: want %d characters", sum, enc, keyChecksumLen)
		}
		if got := decodeChecksum(enc); got != uint64(sum) {
			t.Errorf("decodeChecksum(encodeChecksum(%d)) = %d", sum, got)
		}
	}
	if got := encodeChecksum(61); got != "00000z" {
		t.Errorf("encodeChecksum(61) = %q, want 00000z", got)
	}
}

// withBody returns typePrefix followed by a 32-character random part built
// from fill and the matching checksum.
func withBody(typePrefix string, fill byte) string {
	return composeKey(typePrefix, strings.Repeat(string(fill), keyRandomLen))
}

func TestParseKey(t *testing.T) {
	live := withBody("gw_live_", 'a')
	test := withBody("gw_test_", 'Z')
	dev := withBody("dev_42_", '7')
	body := func(s string) string { return s[len(s)-keyBodyLen:] }
	// A valid body for one prefix is a checksum failure under another.
	tests := []struct {
		name    string
		in      string
		want    Parsed
		wantErr error
	}{
		{"live", live, Parsed{Kind: KindLive, Hash: HashKey(live), Prefix: "gw_live_aaaaaaaaaaaa..."}, nil},
		{"test", test, Parsed{Kind: KindTest, Hash: HashKey(test), Prefix: "gw_test_ZZZZZZZZZZZZ..."}, nil},
		{"device", dev, Parsed{Kind: KindDevice, WorkspaceID: 42, Hash: HashKey(dev), Prefix: "dev_42_777777777777..."}, nil},
		{"device max id", withBody("dev_9223372036854775807_", 'x'), Parsed{Kind: KindDevice, WorkspaceID: 9223372036854775807}, nil},

		{"empty", "", Parsed{}, ErrKeyFormat},
		{"unknown prefix", "sk_live_" + body(live), Parsed{}, ErrKeyFormat},
		{"upper-case prefix", "GW_LIVE_" + body(live), Parsed{}, ErrKeyFormat},
		{"prefix only", "gw_live_", Parsed{}, ErrKeyFormat},
		{"missing mode", "gw_" + body(live), Parsed{}, ErrKeyFormat},
		{"session token", "gws_" + body(live), Parsed{}, ErrKeyFormat},
		{"short", live[:len(live)-1], Parsed{}, ErrKeyFormat},
		{"long", live + "a", Parsed{}, ErrKeyFormat},
		{"much too long", live + strings.Repeat("a", 1000), Parsed{}, ErrKeyFormat},
		{"bad char", live[:20] + "-" + live[21:], Parsed{}, ErrKeyFormat},
		{"underscore in body", live[:20] + "_" + live[21:], Parsed{}, ErrKeyFormat},
		{"non-ASCII", live[:20] + "é" + live[22:], Parsed{}, ErrKeyFormat},
		{"space inside", live[:20] + " " + live[21:], Parsed{}, ErrKeyFormat},
		{"leading space", " " + live, Parsed{}, ErrKeyFormat},
		{"trailing newline", live + "\n", Parsed{}, ErrKeyFormat},
		{"device without id", "dev__" + body(dev), Parsed{}, ErrKeyFormat},
		{"device without separator", "dev_42" + body(dev), Parsed{}, ErrKeyFormat},
		{"device id zero", withBody("dev_0_", '7'), Parsed{}, ErrKeyFormat},
		{"device id leading zero", withBody("dev_042_", '7'), Parsed{}, ErrKeyFormat},
		{"device id negative", withBody("dev_-1_", '7'), Parsed{}, ErrKeyFormat},
		{"device id plus sign", withBody("dev_+1_", '7'), Parsed{}, ErrKeyFormat},
		{"device id not decimal", withBody("dev_x1_", '7'), Parsed{}, ErrKeyFormat},
		{"device id overflows int64", withBody("dev_9223372036854775808_", '7'), Parsed{}, ErrKeyFormat},
		{"device id too many digits", withBody("dev_12345678901234567890_", '7'), Parsed{}, ErrKeyFormat},
		{"device body short", dev[:len(dev)-1], Parsed{}, ErrKeyFormat},

		{"bad checksum", live[:len(live)-1] + flipBase62(live[len(live)-1]), Parsed{Kind: KindLive}, ErrKeyChecksum},
		{"live body under test prefix", "gw_test_" + body(live), Parsed{Kind: KindTest}, ErrKeyChecksum},
		{"device body under other workspace", "dev_43_" + body(dev), Parsed{Kind: KindDevice, WorkspaceID: 43}, ErrKeyChecksum},
		{"checksum above 2^32", live[:len(live)-keyChecksumLen] + "zzzzzz", Parsed{Kind: KindLive}, ErrKeyChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("ParseKey(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got.Kind != tt.want.Kind || got.WorkspaceID != tt.want.WorkspaceID {
				t.Errorf("ParseKey(%q) = kind %q workspace %d, want kind %q workspace %d",
					tt.in, got.Kind, got.WorkspaceID, tt.want.Kind, tt.want.WorkspaceID)
			}
			if tt.want.Prefix != "" && got.Prefix != tt.want.Prefix {
				t.Errorf("Prefix = %q, want %q", got.Prefix, tt.want.Prefix)
			}
			if tt.want.Hash != ([32]byte{}) && got.Hash != tt.want.Hash {
				t.Error("Hash is not the SHA-256 of the key")
			}
			if errors.Is(err, ErrKeyFormat) && got != (Parsed{}) {
				t.Errorf("format error with non-zero Parsed %+v", got)
			}
		})
	}
}

// flipBase62 returns a base62 character other than c.
func flipBase62(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// A single substituted character anywhere in a key, or two swapped
// neighbours, is never accepted; inside the body it is caught by the
// checksum. CRC-32 detects every error burst of up to 32 bits, so this holds
// for all keys, not just most.
func TestKeyMutationsRejected(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{
		mustWorkspaceKey(t, KindLive).Secret,
		mustWorkspaceKey(t, KindTest).Secret,
		mustDeviceKey(t, 1).Secret,
		mustDeviceKey(t, 987654321).Secret,
	}
	const printable = base62Alphabet + "_-+/=. "
	for _, key := range keys {
		bodyStart := len(key) - keyBodyLen
		for range 2000 {
			i := rng.IntN(len(key))
			c := printable[rng.IntN(len(printable))]
			if c == key[i] {
				continue
			}
			mutated := key[:i] + string(c) + key[i+1:]
			_, err := ParseKey(mutated)
			if err == nil {
				t.Fatalf("mutated key %q (position %d) accepted", mutated, i)
			}
			if i >= bodyStart && base62Value(c) >= 0 && !errors.Is(err, ErrKeyChecksum) {
				t.Fatalf("body mutation %q (position %d): error %v, want ErrKeyChecksum", mutated, i, err)
			}
		}
		for i := bodyStart; i+1 < len(key); i++ {
			if key[i] == key[i+1] {
				continue
			}
			swapped := key[:i] + string(key[i+1]) + string(key[i]) + key[i+2:]
			if _, err := ParseKey(swapped); !errors.Is(err, ErrKeyChecksum) {
				t.Fatalf("transposition at %d: error %v, want ErrKeyChecksum", i, err)
			}
		}
	}
}

func TestRandomBase62Uniform(t *testing.T) {
	// 62,000 draws, 1,000 expected per character; with rejection sampling
	// every character stays well inside ±25 %, while a plain modulo would
	// give the first 8 characters about 25 % more than the rest.
	s, err := randomBase62(62_000)
	if err != nil {
		t.Fatal(err)
	}
	var counts [62]int
	for i := 0; i < len(s); i++ {
		v := base62Value(s[i])
		if v < 0 {
			t.Fatalf("non-base62 character %q", s[i])
		}
		counts[v]++
	}
	low, high := 0, 0
	for v, n := range counts {
		if n < 750 || n > 1250 {
			t.Errorf("character %q drawn %d times, want about 1000", base62Alphabet[v], n)
		}
		if v < 8 {
			low += n
		} else {
			high += n
		}
	}
	// Mean of the first 8 against the rest: bias would show as ≈1.25.
	if ratio := (float64(low) / 8) / (float64(high) / 54); ratio > 1.12 {
		t.Errorf("first characters favoured: ratio %.3f", ratio)
	}
}

func TestLooksLikeKey(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"gw_live_x", true},
		{"gw_test_", true},
		{"dev_1_abc", true},
		{mustDeviceKey(t, 3).Secret, true},
		{"gws_abc", false},
		{"gw_prod_abc", false},
		{"Dev_1_abc", false},
		{"", false},
		{"eyJhbGciOi", false},
	}
	for _, tt := range tests {
		if got := LooksLikeKey(tt.in); got != tt.want {
			t.Errorf("LooksLikeKey(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestEqual(t *testing.T) {
	a := HashKey("gw_live_a")
	b := HashKey("gw_live_b")
	if !Equal(a, a) || Equal(a, b) {
		t.Errorf("Equal(a, a) = %v, Equal(a, b) = %v; want true, false", Equal(a, a), Equal(a, b))
	}
	c := a
	c[31] ^= 1
	if Equal(a, c) {
		t.Error("Equal ignores the last byte")
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(withBody("gw_live_", 'a'))
	f.Add(withBody("gw_test_", '0'))
	f.Add(withBody("dev_1_", 'Q'))
	f.Add(withBody("dev_9223372036854775807_", 'z'))
	f.Add("dev_0_" + strings.Repeat("a", keyBodyLen))
	f.Add("dev_99999999999999999999_" + strings.Repeat("a", keyBodyLen))
	f.Add("gw_live_" + strings.Repeat("a", keyBodyLen))
	f.Add("gws_abc")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseKey(s)
		switch {
		case errors.Is(err, ErrKeyFormat):
			if p != (Parsed{}) {
				t.Fatalf("format error with non-zero Parsed %+v", p)
			}
			return
		case err != nil && !errors.Is(err, ErrKeyChecksum):
			t.Fatalf("unexpected error %v", err)
		}
		// Shape is right: the key rebuilds from what was parsed.
		var typePrefix string
		switch p.Kind {
		case KindLive:
			typePrefix = prefixLive
		case KindTest:
			typePrefix = prefixTest
		case KindDevice:
			if p.WorkspaceID <= 0 {
				t.Fatalf("device key with workspace id %d", p.WorkspaceID)
			}
			typePrefix = devicePrefix(p.WorkspaceID)
		default:
			t.Fatalf("unknown kind %q", p.Kind)
		}
		if !strings.HasPrefix(s, typePrefix) || len(s) != len(typePrefix)+keyBodyLen {
			t.Fatalf("%q does not rebuild from kind %q workspace %d", s, p.Kind, p.WorkspaceID)
		}
		if p.Hash != HashKey(s) {
			t.Fatal("Hash is not the SHA-256 of the key")
		}
		if want := displayPrefix(typePrefix, s[len(typePrefix):]); p.Prefix != want {
			t.Fatalf("Prefix = %q, want %q", p.Prefix, want)
		}
		rebuilt := composeKey(typePrefix, s[len(typePrefix):len(typePrefix)+keyRandomLen])
		if (rebuilt == s) != (err == nil) {
			t.Fatalf("rebuilt %q from %q, parse error %v", rebuilt, s, err)
		}
	})
}
