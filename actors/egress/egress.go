package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Defaults for Options fields left zero.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultTimeout        = 10 * time.Second
)

// drainLimit is how much of an answer's unread rest ReadBody reads away so
// that the connection can be reused; a longer rest closes the connection.
const drainLimit = 64 << 10

// Options configure a Client.
type Options struct {
	// AllowPrivate lets requests reach loopback, private and link-local
	// addresses (tests, local development).
	AllowPrivate bool
	// ConnectTimeout bounds resolving and connecting (default 5s); Timeout
	// bounds the whole request, reading the answer included (default 10s).
	ConnectTimeout time.Duration
	Timeout        time.Duration
	// MaxConnsPerHost bounds the connections open to one host (0: no bound).
	MaxConnsPerHost int
}

// guard holds the address rules: any port, TCP only.
var guard = ssrf.New(ssrf.WithAnyPort(), ssrf.WithNetworks("tcp4", "tcp6"))

// NewClient returns an HTTP client for requests to client-chosen URLs. It
// never follows redirects (the 3xx answer is returned as it is), ignores
// proxy settings from the environment, and, unless o.AllowPrivate, refuses
// to connect to a private address whatever the name resolved to.
func NewClient(o Options) *http.Client {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = controlDial
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would be dialled instead of the checked address
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ResponseHeaderTimeout: o.Timeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   8,
		MaxConnsPerHost:       o.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// controlDial runs after resolution, just before the connect: it sees the
// address that is really dialled.
func controlDial(network, address string, c syscall.RawConn) error {
	if err := guard.Safe(network, address, c); err != nil {
		return fmt.Errorf("%w: %v", ErrPrivateAddress, err)
	}
	return nil
}

// CheckURL parses raw and checks that it is an absolute http or https URL
// and, unless allowPrivate, that its host is not and does not resolve to a
// private address. A name that does not resolve now is accepted: the dial
// is checked again at every request.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: scheme %q: only http and https", ErrInvalidURL, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("%w: no host", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		if n, err := netip.ParseAddrPort("0.0.0.0:" + p); err != nil || n.Port() == 0 {
			return nil, fmt.Errorf("%w: port %q", ErrInvalidURL, p)
		}
	}
	if allowPrivate {
		return u, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return u, checkAddr(ip)
	}
	lctx, cancel := context.WithTimeout(ctx, DefaultConnectTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(lctx, "ip", host)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) || errors.Is(err, context.DeadlineExceeded) {
		return u, nil
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if err := checkAddr(ip); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func checkAddr(ip netip.Addr) error {
	if err := guard.SafeAddr(ip); err != nil {
		return fmt.Errorf("%w: %v", ErrPrivateAddress, err)
	}
	return nil
}

// ReadBody reads at most limit bytes of resp's body and closes it. The
// rest, when short, is read away so that the connection can be reused;
// truncated says whether the body was longer than limit.
func ReadBody(resp *http.Response, limit int64) (body []byte, truncated bool, err error) {
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return body, false, err
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	return body, n > 0, nil
}
