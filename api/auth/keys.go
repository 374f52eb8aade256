package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash/crc32"
	"log/slog"
	"strconv"
	"strings"
)

// Kind is the kind of an API key.
type Kind string

// Key kinds.
const (
	KindLive   Kind = "live"   // workspace key, live mode
	KindTest   Kind = "test"   // workspace key, test mode
	KindDevice Kind = "device" // device key
)

// Type prefixes. Device keys continue with "<workspaceId>_".
const (
	prefixLive   = "gw_live_"
	prefixTest   = "gw_test_"
	prefixDevice = "dev_"
)

const (
	// base62Alphabet orders digits first so that the checksum, a number
	// written with leading zeros, reads naturally.
	base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

	keyRandomLen   = 32 // ≈190 bits from crypto/rand
	keyChecksumLen = 6  // 62^6 > 2^32, so any CRC-32 fits
	keyBodyLen     = keyRandomLen + keyChecksumLen

	// displayBodyLen body characters are shown in a key's display prefix.
	displayBodyLen = 12
	displaySuffix  = "..."

	// maxWorkspaceIDLen is the number of decimal digits of the largest int64.
	maxWorkspaceIDLen = 19
	// maxKeyLen bounds the work ParseKey does on arbitrary input.
	maxKeyLen = len(prefixDevice) + maxWorkspaceIDLen + 1 + keyBodyLen
)

// Key is a freshly generated API key. Secret is shown to its owner once and
// never stored; the store keeps Hash and Prefix.
//
// String and LogValue return only the display prefix, so a Key passed to a
// logger or a format verb by mistake does not leak its secret.
type Key struct {
	Secret      string   // the full key
	Kind        Kind     // live, test or device
	WorkspaceID int64    // device keys only; 0 for workspace keys
	Hash        [32]byte // SHA-256 of Secret
	Prefix      string   // display form, e.g. "dev_1_abc123xyz789..."
}

// String returns the display prefix, never the secret.
func (k Key) String() string { return k.Prefix }

// GoString returns the display prefix, never the secret.
func (k Key) GoString() string { return "auth.Key{" + k.Prefix + "}" }

// LogValue returns the display prefix, never the secret.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.Prefix) }

// Parsed describes a string that ParseKey recognised as a key.
type Parsed struct {
	Kind        Kind
	WorkspaceID int64    // device keys only; 0 for workspace keys
	Hash        [32]byte // SHA-256 of the whole key: the lookup index
	Prefix      string   // display form, as in Key.Prefix
}

// NewWorkspaceKey returns a new workspace key of kind KindLive or KindTest.
func NewWorkspaceKey(kind Kind) (Key, error) {
	var prefix string
	switch kind {
	case KindLive:
		prefix = prefixLive
	case KindTest:
		prefix = prefixTest
	default:
		return Key{}, fmt.Errorf("new workspace key: %q: %w", kind, ErrKeyKind)
	}
	return newKey(kind, 0, prefix)
}

// NewDeviceKey returns a new device key for a device of the given workspace.
func NewDeviceKey(workspaceID int64) (Key, error) {
	if workspaceID <= 0 {
		return Key{}, fmt.Errorf("new device key: workspace id %d: %w", workspaceID, ErrKeyFormat)
	}
	return newKey(KindDevice, workspaceID, devicePrefix(workspaceID))
}

func newKey(kind Kind, workspaceID int64, prefix string) (Key, error) {
	random, err := randomBase62(keyRandomLen)
	if err != nil {
		return Key{}, fmt.Errorf("new %s key: %w", kind, err)
	}
	secret := composeKey(prefix, random)
	return Key{
		Secret:      secret,
		Kind:        kind,
		WorkspaceID: workspaceID,
		Hash:        HashKey(secret),
		Prefix:      displayPrefix(prefix, secret[len(prefix):]),
	}, nil
}

func devicePrefix(workspaceID int64) string {
	return prefixDevice + strconv.FormatInt(workspaceID, 10) + "_"
}

// composeKey appends the checksum of prefix+random to them.
func composeKey(prefix, random string) string {
	var b strings.Builder
	b.Grow(len(prefix) + keyBodyLen)
	b.WriteString(prefix)
	b.WriteString(random)
	sum := crc32.ChecksumIEEE([]byte(b.String()))
	b.WriteString(encodeChecksum(sum))
	return b.String()
}

func displayPrefix(typePrefix, body string) string {
	return typePrefix + body[:displayBodyLen] + displaySuffix
}

// randomBase62 returns n uniformly random base62 characters. Bytes at or
// above 248 (the largest multiple of 62 that fits a byte) are discarded so
// that the modulo does not favour the first characters of the alphabet.
func randomBase62(n int) (string, error) {
	const limit = 256 - 256%len(base62Alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("read random: %w", err)
		}
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			out = append(out, base62Alphabet[int(b)%len(base62Alphabet)])
			if len(out) == n {
				break
			}
		}
	}
	return string(out), nil
}

func encodeChecksum(sum uint32) string {
	var out [keyChecksumLen]byte
	v := uint64(sum)
	for i := keyChecksumLen - 1; i >= 0; i-- {
		out[i] = base62Alphabet[v%uint64(len(base62Alphabet))]
		v /= uint64(len(base62Alphabet))
	}
	return string(out[:])
}

// decodeChecksum reads a checksum field already known to be base62. Six
// base62 digits can exceed 2^32; such a value simply never matches.
func decodeChecksum(s string) uint64 {
	var v uint64
	for i := 0; i < len(s); i++ {
		v = v*uint64(len(base62Alphabet)) + uint64(base62Value(s[i]))
	}
	return v
}

// base62Value returns the digit value of c, or -1 if c is not base62.
func base62Value(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 36
	}
	return -1
}

// ParseKey checks that s is a well-formed API key and returns what it says
// about itself. It does not trim s; callers trim surrounding spaces.
//
// It returns ErrKeyFormat when s is not shaped like a key (the Parsed value
// is then zero) and ErrKeyChecksum when it is shaped like one but its
// checksum does not match. In the latter case Parsed is filled in as typed,
// so that the caller can word the refusal by kind; such a key cannot have
// been issued and is not worth a lookup.
func ParseKey(s string) (Parsed, error) {
	if len(s) > maxKeyLen {
		return Parsed{}, ErrKeyFormat
	}
	var (
		kind        Kind
		workspaceID int64
		typePrefix  string
	)
	switch {
	case strings.HasPrefix(s, prefixLive):
		kind, typePrefix = KindLive, prefixLive
	case strings.HasPrefix(s, prefixTest):
		kind, typePrefix = KindTest, prefixTest
	case strings.HasPrefix(s, prefixDevice):
		rest := s[len(prefixDevice):]
		end := strings.IndexByte(rest, '_')
		if end < 0 {
			return Parsed{}, ErrKeyFormat
		}
		id, ok := parseWorkspaceID(rest[:end])
		if !ok {
			return Parsed{}, ErrKeyFormat
		}
		kind, workspaceID = KindDevice, id
		typePrefix = s[:len(prefixDevice)+end+1]
	default:
		return Parsed{}, ErrKeyFormat
	}

	body := s[len(typePrefix):]
	if len(body) != keyBodyLen {
		return Parsed{}, ErrKeyFormat
	}
	for i := 0; i < len(body); i++ {
		if base62Value(body[i]) < 0 {
			return Parsed{}, ErrKeyFormat
		}
	}

	p := Parsed{
		Kind:        kind,
		WorkspaceID: workspaceID,
		Hash:        HashKey(s),
		Prefix:      displayPrefix(typePrefix, body),
	}
	signed := s[:len(s)-keyChecksumLen]
	if decodeChecksum(s[len(signed):]) != uint64(crc32.ChecksumIEEE([]byte(signed))) {
		return p, ErrKeyChecksum
	}
	return p, nil
}

// parseWorkspaceID accepts the canonical decimal form of a positive int64:
// digits only, no sign, no leading zero.
func parseWorkspaceID(s string) (int64, bool) {
	if len(s) == 0 || len(s) > maxWorkspaceIDLen || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}

// LooksLikeKey reports whether s starts like an API key. It tells keys from
// session tokens in an "Authorization: Bearer" header; ParseKey decides
// whether the key is well formed.
func LooksLikeKey(s string) bool {
	return strings.HasPrefix(s, prefixLive) ||
		strings.HasPrefix(s, prefixTest) ||
		strings.HasPrefix(s, prefixDevice)
}

// HashKey returns the SHA-256 of a key, the form in which keys are stored.
func HashKey(s string) [32]byte {
	return sha256.Sum256([]byte(s))
}

// Equal compares two hashes in constant time.
func Equal(a, b [32]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
