package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		want         error
	}{
		{"https://93.184.216.34/hook", false, nil},
		{"http://93.184.216.34:8443/hook?x=1", false, nil},
		{"https://[2606:2800:220:1:248:1893:25c8:1946]/", false, nil},
		{"ftp://93.184.216.34/", false, ErrInvalidURL},
		{"file:///etc/passwd", false, ErrInvalidURL},
		{"gopher://93.184.216.34/", false, ErrInvalidURL},
		{"/relative/path", false, ErrInvalidURL},
		{"http://", false, ErrInvalidURL},
		{"http://93.184.216.34:99999/", false, ErrInvalidURL},
		{"http://93.184.216.34:0/", false, ErrInvalidURL},
		{"not a url", false, ErrInvalidURL},
		{"http://127.0.0.1:8080/", false, ErrPrivateAddress},
		{"http://[::1]/", false, ErrPrivateAddress},
		{"http://[::ffff:127.0.0.1]/", false, ErrPrivateAddress},
		{"http://[::ffff:10.0.0.1]/", false, ErrPrivateAddress},
		{"http://169.254.169.254/latest/meta-data", false, ErrPrivateAddress},
		{"http://10.1.2.3/", false, ErrPrivateAddress},
		{"http://172.16.0.1/", false, ErrPrivateAddress},
		{"http://192.168.1.1/", false, ErrPrivateAddress},
		{"http://100.64.0.1/", false, ErrPrivateAddress},
		{"http://0.0.0.0/", false, ErrPrivateAddress},
		{"http://224.0.0.1/", false, ErrPrivateAddress},
		{"http://[fe80::1]/", false, ErrPrivateAddress},
		{"http://[fc00::1]/", false, ErrPrivateAddress},
		{"http://[64:ff9b::7f00:1]/", false, ErrPrivateAddress},
		{"http://localhost/", false, ErrPrivateAddress},
		{"http://127.0.0.1:8080/", true, nil},
		{"http://localhost:9/", true, nil},
		{"ftp://127.0.0.1/", true, ErrInvalidURL},
	} {
		_, err := CheckURL(ctx, tc.url, tc.allowPrivate)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("CheckURL(%q, allowPrivate=%v) = %v, want %v", tc.url, tc.allowPrivate, err, tc.want)
		}
	}
}

func TestClientRefusesPrivateAddressesAtDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))

	guarded := NewClient(Options{})
	// Both an address and a name that resolves to one: the check runs on
	// what is dialled, after resolution.
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/"} {
		resp, err := guarded.Get(u)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("GET %s: %v, want ErrPrivateAddress", u, err)
		}
	}

	open := NewClient(Options{AllowPrivate: true})
	resp, err := open.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("status %d", resp.StatusCode)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	var followed bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed = true
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := NewClient(Options{AllowPrivate: true}).Post(srv.URL, "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || followed {
		t.Errorf("status %d, followed %v; want the 302 itself", resp.StatusCode, followed)
	}
}

func TestClientTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := NewClient(Options{AllowPrivate: true, Timeout: 100 * time.Millisecond})
	resp, err := c.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a request to an endpoint that never answers succeeded")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("error %v is not a timeout", err)
	}
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		limit     int64
		want      string
		truncated bool
	}{
		{"short", "ok", 10, "ok", false},
		{"exact", "0123456789", 10, "0123456789", false},
		{"long", strings.Repeat("x", 100), 10, "xxxxxxxxxx", true},
		{"empty", "", 10, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(tc.body)) }))
			defer srv.Close()
			resp, err := NewClient(Options{AllowPrivate: true}).Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, truncated, err := ReadBody(resp, tc.limit)
			if err != nil || string(got) != tc.want || truncated != tc.truncated {
				t.Errorf("ReadBody = %q, %v, %v; want %q, %v", got, truncated, err, tc.want, tc.truncated)
			}
		})
	}
}
