package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestHashAndVerifyPassword(t *testing.T) {
	ctx := context.Background()
	const pw = "correct horse battery staple"
	phc, err := HashPassword(ctx, pw)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	shape := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !shape.MatchString(phc) {
		t.Fatalf("PHC string %q does not have the expected shape", phc)
	}
	if NeedsRehash(phc) {
		t.Error("NeedsRehash on a hash made with the current parameters")
	}

	tests := []struct {
		name string
		pw   string
		want bool
	}{
		{"right password", pw, true},
		{"wrong password", "correct horse battery stapler", false},
		{"case differs", strings.ToUpper(pw), false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(ctx, phc, tt.pw)
			if err != nil {
				t.Fatalf("VerifyPassword: %v", err)
			}
			if ok != tt.want {
				t.Errorf("VerifyPassword(%q) = %v, want %v", tt.pw, ok, tt.want)
			}
		})
	}

	again, err := HashPassword(ctx, pw)
	if err != nil {
		t.Fatalf("HashPassword: %v", err)
	}
	if again == phc {
		t.Error("two hashes of one password are equal: salt is not random")
	}
}

// lowCostPHC builds a valid PHC string with the given parameters, the way an
// older release with other settings would have stored it.
func lowCostPHC(t *testing.T, pw string, m, tm uint32, p uint8, salt []byte, keyLen uint32) string {
	t.Helper()
	sum := argon2.IDKey([]byte(pw), salt, tm, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, tm, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

func TestVerifyPasswordReadsParameters(t *testing.T) {
	ctx := context.Background()
	salt := []byte("0123456789abcdef")
	tests := []struct {
		name          string
		m, tm         uint32
		p             uint8
		salt          []byte
		keyLen        uint32
		wantNeedsHash bool
	}{
		{"older lower cost", 64, 1, 1, salt, 32, true},
		{"two lanes", 64, 3, 2, salt, 32, true},
		{"shorter salt and hash", 32, 1, 1, salt[:8], 16, true},
		{"longer hash", 32, 1, 1, salt, 64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phc := lowCostPHC(t, "s3cret-passw0rd", tt.m, tt.tm, tt.p, tt.salt, tt.keyLen)
			ok, err := VerifyPassword(ctx, phc, "s3cret-passw0rd")
			if err != nil || !ok {
				t.Fatalf("VerifyPassword(right password) = %v, %v; want true, nil", ok, err)
			}
			ok, err = VerifyPassword(ctx, phc, "s3cret-passw0rd!")
			if err != nil || ok {
				t.Fatalf("VerifyPassword(wrong password) = %v, %v; want false, nil", ok, err)
			}
			if got := NeedsRehash(phc); got != tt.wantNeedsHash {
				t.Errorf("NeedsRehash = %v, want %v", got, tt.wantNeedsHash)
			}
			p, _, _, err := decodePHC(phc)
			if err != nil {
				t.Fatalf("decodePHC: %v", err)
			}
			if want := (argon2Params{memoryKiB: tt.m, time: tt.tm, threads: tt.p}); p != want {
				t.Errorf("parameters read back = %+v, want %+v", p, want)
			}
		})
	}
}

func TestVerifyPasswordRefusesMalformedHash(t *testing.T) {
	ctx := context.Background()
	valid := lowCostPHC(t, "password1", 64, 1, 1, []byte("0123456789abcdef"), 32)
	fields := strings.Split(valid, "$")
	with := func(i int, v string) string {
		f := append([]string(nil), fields...)
		f[i] = v
		return strings.Join(f, "$")
	}
	tests := []struct {
		name string
		phc  string
	}{
		{"empty", ""},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", with(1, "argon2i")},
		{"argon2d", with(1, "argon2d")},
		{"old version", with(2, "v=16")},
		{"missing version", strings.Replace(valid, "$v=19", "", 1)},
		{"extra field", valid + "$x"},
		{"no leading dollar", strings.TrimPrefix(valid, "$")},
		{"parameters out of order", with(3, "t=1,m=64,p=1")},
		{"missing parameter", with(3, "m=64,t=1")},
		{"extra parameter", with(3, "m=64,t=1,p=1,k=2")},
		{"leading zero", with(3, "m=064,t=1,p=1")},
		{"zero time", with(3, "m=64,t=0,p=1")},
		{"zero lanes", with(3, "m=64,t=1,p=0")},
		{"too many lanes", with(3, "m=4096,t=1,p=256")},
		{"memory below 8 KiB per lane", with(3, "m=15,t=1,p=2")},
		{"huge memory", with(3, "m=4194304,t=1,p=1")},
		{"huge time", with(3, "m=64,t=1000000,p=1")},
		{"negative", with(3, "m=-64,t=1,p=1")},
		{"not a number", with(3, "m=lots,t=1,p=1")},
		{"spaces", with(3, "m=64, t=1, p=1")},
		{"padded salt", with(4, fields[4]+"==")},
		{"salt not base64", with(4, "!!!!!!!!!!!!!!!!!!!!!!")},
		{"short salt", with(4, base64.RawStdEncoding.EncodeToString([]byte("1234567")))},
		{"url-safe alphabet", with(5, strings.NewReplacer("+", "-", "/", "_").Replace(fields[5])+"-_")},
		{"short hash", with(5, base64.RawStdEncoding.EncodeToString(make([]byte, 8)))},
		{"empty hash", with(5, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := VerifyPassword(ctx, tt.phc, "password1")
			if ok || !errors.Is(err, ErrPasswordHash) {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false, ErrPasswordHash", tt.phc, ok, err)
			}
			if !NeedsRehash(tt.phc) {
				t.Errorf("NeedsRehash(%q) = false for an unreadable hash", tt.phc)
			}
		})
	}
}

func TestVerifyPasswordTamperedHash(t *testing.T) {
	ctx := context.Background()
	phc := lowCostPHC(t, "password1", 64, 1, 1, []byte("0123456789abcdef"), 32)
	fields := strings.Split(phc, "$")
	sum, _ := base64.RawStdEncoding.DecodeString(fields[5])
	sum[0] ^= 0x01
	tamperedSum := strings.Join(append(fields[:5:5], base64.RawStdEncoding.EncodeToString(sum)), "$")
	tamperedSalt := strings.Replace(phc, fields[4], base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdeF")), 1)
	tamperedCost := strings.Replace(phc, "t=1", "t=2", 1)
	for name, bad := range map[string]string{"hash": tamperedSum, "salt": tamperedSalt, "cost": tamperedCost} {
		ok, err := VerifyPassword(ctx, bad, "password1")
		if err != nil || ok {
			t.Errorf("tampered %s: VerifyPassword = %v, %v; want false, nil", name, ok, err)
		}
	}
}

// fillHashSlots takes every hashing slot and returns a function that gives
// one back.
func fillHashSlots(t *testing.T) (release func()) {
	t.Helper()
	for range maxConcurrentHashes {
		if err := acquireHashSlot(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	released := 0
	t.Cleanup(func() {
		for ; released < maxConcurrentHashes; released++ {
			releaseHashSlot()
		}
	})
	return func() {
		released++
		releaseHashSlot()
	}
}

func TestHashingWaitRespectsContext(t *testing.T) {
	fillHashSlots(t)
	phc := lowCostPHC(t, "password1", 64, 1, 1, []byte("0123456789abcdef"), 32)

	ctx, cancel := context.WithCancel(context.Background())
	hashErr := make(chan error, 1)
	verifyErr := make(chan error, 1)
	go func() {
		_, err := HashPassword(ctx, "password1")
		hashErr <- err
	}()
	go func() {
		_, err := VerifyPassword(ctx, phc, "password1")
		verifyErr <- err
	}()
	// Both calls are queued behind the full slots; only the cancellation
	// can release them.
	cancel()
	for name, ch := range map[string]chan error{"HashPassword": hashErr, "VerifyPassword": verifyErr} {
		select {
		case err := <-ch:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s error = %v, want context.Canceled", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not return after its context was cancelled", name)
		}
	}

	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := HashPassword(done, "password1"); !errors.Is(err, context.Canceled) {
		t.Errorf("HashPassword with a cancelled context: error = %v, want context.Canceled", err)
	}
}

func TestHashingProceedsWhenSlotFrees(t *testing.T) {
	release := fillHashSlots(t)
	phc := lowCostPHC(t, "password1", 64, 1, 1, []byte("0123456789abcdef"), 32)
	type result struct {
		ok  bool
		err error
	}
	got := make(chan result, 1)
	go func() {
		ok, err := VerifyPassword(context.Background(), phc, "password1")
		got <- result{ok, err}
	}()
	release()
	select {
	case r := <-got:
		if r.err != nil || !r.ok {
			t.Fatalf("VerifyPassword = %v, %v; want true, nil", r.ok, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("VerifyPassword did not run after a slot was released")
	}
	if n := len(hashSlots); n != maxConcurrentHashes-1 {
		t.Errorf("%d slots taken after the call returned, want %d", n, maxConcurrentHashes-1)
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		ok   bool
	}{
		{"empty", "", false},
		{"7 characters", "1234567", false},
		{"8 characters", "12345678", true},
		{"8 multi-byte characters", "ääääääää", true},
		{"7 multi-byte characters, 14 bytes", "äääääää", false},
		{"128 characters", strings.Repeat("x", 128), true},
		{"129 characters", strings.Repeat("x", 129), false},
		{"128 four-byte characters", strings.Repeat("😀", 128), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePassword(tt.pw)
			if tt.ok && err != nil {
				t.Errorf("ValidatePassword = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrWeakPassword) {
				t.Errorf("ValidatePassword = %v, want ErrWeakPassword", err)
			}
		})
	}
	if msg := ErrWeakPassword.Error(); !strings.Contains(msg, "8") || !strings.Contains(msg, "128") {
		t.Errorf("ErrWeakPassword message %q does not state the policy", msg)
	}
}
