package fakewa

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPhonesTalkAndReceipts(t *testing.T) {
	s := newTestServer(t, Config{})
	ctx := testContext(t)
	ann, ben := s.Phone("+15550001111"), s.Phone("15550002222")
	if s.Phone("15550001111") != ann {
		t.Fatal("Phone does not return the existing account")
	}
	id, err := ann.SendText(ctx, ben.Number(), "hi Ben")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ben.WaitReceived(ctx, func(r Received) bool { return r.ID == id })
	if err != nil || r.Text != "hi Ben" || r.From != ann.Number() || r.Type != "text" {
		t.Fatalf("Ben received %+v, %v", r, err)
	}
	// A phone is always online: delivered at once; read when Ben reads.
	if got := ann.Status(id); got != StatusDelivered {
		t.Errorf("status = %q, want delivered", got)
	}
	if err := ben.Read(id); err != nil {
		t.Fatal(err)
	}
	if err := ann.WaitStatus(ctx, id, StatusRead); err != nil {
		t.Error(err)
	}
	if err := ben.Read("nope"); !errors.Is(err, ErrUnknownMessage) {
		t.Errorf("Read of an unknown message = %v", err)
	}
	if _, err := ann.SendText(ctx, "15559999999", "x"); !errors.Is(err, ErrUnknownAccount) {
		t.Errorf("send to a number not on WhatsApp = %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := ann.WaitReceived(short, nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("WaitReceived with nothing = %v", err)
	}
}

func TestAutoRead(t *testing.T) {
	s := newTestServer(t, Config{AutoRead: true})
	ann, ben := s.Phone("15550001111"), s.Phone("15550002222")
	id, err := ann.SendText(testContext(t), ben.Number(), "read me")
	if err != nil {
		t.Fatal(err)
	}
	if got := ann.Status(id); got != StatusRead {
		t.Errorf("status = %q, want read", got)
	}
}

func TestMediaRoundTrip(t *testing.T) {
	s := newTestServer(t, Config{})
	ann, ben := s.Phone("15550001111"), s.Phone("15550002222")
	img := bytes.Repeat([]byte{0xff, 0xd8, 1, 2, 3}, 1000)
	id, err := ann.SendImage(testContext(t), ben.Number(), img, "image/jpeg", "cap")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ben.WaitReceived(testContext(t), func(r Received) bool { return r.ID == id })
	if err != nil || r.Type != "image" || r.Text != "cap" {
		t.Fatalf("received %+v, %v", r, err)
	}
	data, err := ben.Download(r)
	if err != nil || !bytes.Equal(data, img) {
		t.Fatalf("download = %d bytes, %v", len(data), err)
	}
	// Tampered media is refused.
	s.mu.Lock()
	for k, v := range s.media {
		v[0] ^= 1
		s.media[k] = v
	}
	s.mu.Unlock()
	if _, err := ben.Download(r); !errors.Is(err, ErrProtocol) {
		t.Errorf("download of tampered media = %v", err)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	s := newTestServer(t, Config{CurrentVersion: "2.3000.123456"})
	hc := s.HTTPClient()
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("https://web.whatsapp.com/"); code != 200 || !strings.Contains(body, `"client_revision":123456,`) {
		t.Errorf("version page = %d %q", code, body)
	}
	if code, _ := get("https://mmg.whatsapp.net/v/fake/none.enc"); code != 404 {
		t.Errorf("unknown media = %d", code)
	}
	resp, err := hc.Post("https://mmg.whatsapp.net/mms/image/x?auth=wrong", "application/octet-stream", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("upload with a bad token = %d", resp.StatusCode)
	}
	// Only the fake's authority is trusted: a plain client refuses it.
	if _, err := http.Get("https://" + s.Addr() + "/"); err == nil {
		t.Error("the default client trusted the test certificate")
	}
}

func TestNoPairingAndUnknownDevices(t *testing.T) {
	s := newTestServer(t, Config{})
	p := s.Phone("15550001111")
	ctx := testContext(t)
	for _, code := range []string{"", "2@ref,a,b,c", "2@ref,AAAA,AAAA,AAAA"} {
		if err := p.ScanQR(ctx, code); !errors.Is(err, ErrNoPairing) {
			t.Errorf("ScanQR(%q) = %v", code, err)
		}
	}
	if err := p.EnterCode(ctx, "ABCD-EFGH"); !errors.Is(err, ErrNoPairing) {
		t.Errorf("EnterCode with no request = %v", err)
	}
	const jid = "15550001111:1@s.whatsapp.net"
	for name, err := range map[string]error{
		"Replace": s.Replace(jid), "Drop": s.Drop(jid), "Restart": s.Restart(jid),
		"Ban": s.Ban(jid, 101, time.Hour), "Unlink": p.Unlink(jid), "Unlink bad JID": p.Unlink("not a jid"),
	} {
		if !errors.Is(err, ErrUnknownDevice) {
			t.Errorf("%s of an unknown device = %v", name, err)
		}
	}
	if s.Online(jid) {
		t.Error("an unknown device is online")
	}
	if p.Devices() != nil {
		t.Errorf("devices = %v", p.Devices())
	}
}

func TestVersions(t *testing.T) {
	if _, err := New(Config{MinVersion: "2.x"}); err == nil {
		t.Error("New accepted a bad version")
	}
	s := newTestServer(t, Config{})
	if err := s.SetMinVersion("2.3000"); err == nil {
		t.Error("SetMinVersion accepted a bad version")
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{"2.3000.1", "2.3000.2", true},
		{"2.3000.2", "2.3000.1", false},
		{"2.3000.1", "2.3000.1", false},
		{"1.9999.9", "2.0.0", true},
	}
	for _, tc := range tests {
		a, _ := parseVersion(tc.a)
		b, _ := parseVersion(tc.b)
		if older(a, b) != tc.want {
			t.Errorf("older(%s, %s) = %v", tc.a, tc.b, !tc.want)
		}
	}
}
