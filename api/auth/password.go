package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password length policy, in characters (Unicode code points).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

// argon2Params are the Argon2id cost parameters of one hash.
type argon2Params struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
}

// New hashes use the OWASP Password Storage Cheat Sheet minimum for Argon2id.
var currentParams = argon2Params{memoryKiB: 19 * 1024, time: 2, threads: 1}

const (
	saltLen = 16
	hashLen = 32

	// Bounds on parameters read from a stored hash, so that a corrupted or
	// tampered row cannot make one verification allocate gigabytes or spin
	// for minutes.
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	minHashLen   = 16
	maxHashLen   = 128
)

// maxConcurrentHashes bounds the Argon2id computations running at once in
// the process: each holds 19 MiB and a core, and a login flood must queue
// rather than exhaust the machine.
const maxConcurrentHashes = 2

var hashSlots = make(chan struct{}, maxConcurrentHashes)

// acquireHashSlot waits for a free hashing slot or for ctx to end.
func acquireHashSlot(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func releaseHashSlot() { <-hashSlots }

// ValidatePassword checks the length policy: MinPasswordLen to
// MaxPasswordLen characters. It returns ErrWeakPassword, whose message can be
// shown to the user as is.
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return ErrWeakPassword
	}
	return nil
}

// HashPassword hashes pw with Argon2id and a fresh random salt and returns
// the PHC string to store:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// It waits for a hashing slot (see maxConcurrentHashes) and returns ctx's
// error if ctx ends first. It does not apply the length policy; callers run
// ValidatePassword on passwords a user chooses.
func HashPassword(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	if err := acquireHashSlot(ctx); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer releaseHashSlot()
	p := currentParams
	sum := argon2.IDKey([]byte(pw), salt, p.time, p.memoryKiB, p.threads, hashLen)
	return encodePHC(p, salt, sum), nil
}

// VerifyPassword reports whether pw matches the stored PHC string. The cost
// parameters are read from phc, so hashes made with older parameters keep
// verifying. A wrong password is (false, nil); an unreadable phc is
// ErrPasswordHash; ctx ending while waiting for a hashing slot is ctx's
// error.
func VerifyPassword(ctx context.Context, phc, pw string) (bool, error) {
	p, salt, want, err := decodePHC(phc)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	if err := acquireHashSlot(ctx); err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	defer releaseHashSlot()
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memoryKiB, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether phc was made with parameters other than the
// current ones (or cannot be read), so that the caller can store a fresh
// hash after the next successful login.
func NeedsRehash(phc string) bool {
	p, salt, sum, err := decodePHC(phc)
	return err != nil || p != currentParams || len(salt) != saltLen || len(sum) != hashLen
}

func encodePHC(p argon2Params, salt, sum []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memoryKiB, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(sum))
}

// decodePHC parses an Argon2id PHC string strictly: the fields in their
// standard order, parameters within sane bounds, unpadded standard base64.
func decodePHC(phc string) (p argon2Params, salt, sum []byte, err error) {
	fields := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(fields) != 6 || fields[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: not a PHC string", ErrPasswordHash)
	}
	if fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q", ErrPasswordHash, fields[1])
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", ErrPasswordHash, fields[2])
	}
	if p, err = parseArgon2Params(fields[3]); err != nil {
		return p, nil, nil, err
	}
	if salt, err = base64.RawStdEncoding.Strict().DecodeString(fields[4]); err != nil || len(salt) < minSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrPasswordHash)
	}
	if sum, err = base64.RawStdEncoding.Strict().DecodeString(fields[5]); err != nil ||
		len(sum) < minHashLen || len(sum) > maxHashLen {
		return p, nil, nil, fmt.Errorf("%w: hash", ErrPasswordHash)
	}
	return p, salt, sum, nil
}

func parseArgon2Params(s string) (argon2Params, error) {
	var p argon2Params
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return p, fmt.Errorf("%w: parameters %q", ErrPasswordHash, s)
	}
	m, okM := parseParam(parts[0], "m=", maxMemoryKiB)
	t, okT := parseParam(parts[1], "t=", maxTime)
	threads, okP := parseParam(parts[2], "p=", 255)
	// Argon2 needs at least 8 KiB of memory per lane.
	if !okM || !okT || !okP || m < 8*threads {
		return p, fmt.Errorf("%w: parameters %q", ErrPasswordHash, s)
	}
	return argon2Params{memoryKiB: uint32(m), time: uint32(t), threads: uint8(threads)}, nil
}

// parseParam reads "<name>=<n>" with 1 <= n <= limit in canonical decimal.
func parseParam(s, name string, limit uint64) (uint64, bool) {
	digits, ok := strings.CutPrefix(s, name)
	if !ok || digits == "" || digits[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	if err != nil || n > limit {
		return 0, false
	}
	return n, true
}
