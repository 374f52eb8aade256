package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Defaults for Config fields left zero.
const (
	DefaultBodyLimit    = 1 << 20 // 1 MiB: the largest send-text (64 KiB text) with room to spare
	DefaultReadTimeout  = 30 * time.Second
	DefaultWriteTimeout = 30 * time.Second
	DefaultIdleTimeout  = 120 * time.Second
)

// Sign-up policies.
const (
	SignupOpen   = "open"
	SignupClosed = "closed"
)

const (
	// sessionTTL is how long a dashboard login lasts.
	sessionTTL = 14 * 24 * time.Hour
	// sseHeartbeat keeps idle streams alive through proxies and finds clients
	// that went away (a disconnect is only seen when a write fails).
	sseHeartbeat = 15 * time.Second
	// streamCloseGrace is how long Shutdown lets streams end on their own
	// before cutting their connections.
	streamCloseGrace = 2 * time.Second
)

// Config configures the HTTP server.
type Config struct {
	Logger  *slog.Logger
	Gateway *actors.Gateway
	DB      *storage.DB
	// BodyLimit is the largest request body in bytes (default 1 MiB).
	BodyLimit int
	// Signup is "open" (default) or "closed" (POST /auth/register refused).
	Signup string
	// PublicURL is the gateway's external origin (e.g. https://wa.example.com).
	// It is accepted as a same origin by the CSRF check and announced as the
	// server in the OpenAPI document.
	PublicURL string
	// Version is the build version, shown in the OpenAPI document.
	Version string
	// AllowPrivateURLs lets media and webhook URLs resolve to loopback,
	// private and link-local addresses (tests, local development). Off,
	// such URLs are refused so that clients cannot make the gateway reach
	// into its own network.
	AllowPrivateURLs bool
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies
	// in front of the gateway: for a request from one of them the client's
	// address is read from X-Forwarded-For (clientIP): the login throttle
	// counts failures per client address, and the access log shows it.
	// Empty: the connection's address, always, which is what a gateway
	// reachable without a proxy must use, since anyone can send the header.
	TrustedProxies []string
	// ReadTimeout bounds reading a request, WriteTimeout writing an answer
	// (for event streams: writing each frame), IdleTimeout a kept-alive
	// connection between requests. Zero takes the default.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	IdleTimeout  time.Duration
	// MediaMaxBytes bounds images, video, audio, voice notes and stickers
	// (default 16 MiB), DocumentMaxBytes documents and uploaded files
	// (default 100 MiB). Requests that carry media (send-media, uploads)
	// may be as large as a base64 document; every other body keeps
	// BodyLimit.
	MediaMaxBytes    int64
	DocumentMaxBytes int64
	// FileRetention is how long uploaded files and the media of sends are
	// kept (default 24 h); MediaFetchTimeout bounds fetching media from a
	// URL (default 60 s).
	FileRetention     time.Duration
	MediaFetchTimeout time.Duration
}

// Server is the gateway's HTTP API.
type Server struct {
	cfg        Config
	log        *slog.Logger
	gw         *actors.Gateway
	db         *storage.DB
	app        *fiber.App
	throttle   *auth.Throttle
	usage      *keyUsage
	idem       *idempotency
	streams    *streamRegistry
	openapi    []byte
	proxies    []*net.IPNet           // Config.TrustedProxies
	metrics    *serverMetrics         // GET /metrics and the HTTP latency (metrics.go)
	llmsFull   func() ([]byte, error) // llms.txt + the reference, built on first use
	publicHost string
	now        func() time.Time
	heartbeat  time.Duration
	// mediaClient fetches media from client-given URLs (private-address guard).
	mediaClient *http.Client
	// dummyHash is verified against when a login names no account, so that
	// unknown e-mails cost the same time as wrong passwords.
	dummyHash func() (string, error)

	// stopCtx is cancelled when Shutdown begins: it ends event streams and
	// waits for sends.
	stopCtx      context.Context
	stop         context.CancelFunc
	shutdownOnce sync.Once
	shutdownErr  error

	// listeners are closed by Shutdown too: fasthttp only closes those its
	// Serve has registered, and a Serve that starts late would never end.
	mu        sync.Mutex
	listeners []net.Listener
	conns     *connTracker
}

// New builds the server; it serves nothing until Serve. Shutdown must be
// called to release it.
func New(cfg Config) (*Server, error) {
	if cfg.Gateway == nil || cfg.DB == nil {
		return nil, errors.New("api: gateway and db are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.BodyLimit < 0 {
		return nil, fmt.Errorf("api: body limit %d: must be positive", cfg.BodyLimit)
	}
	switch cfg.Signup {
	case "":
		cfg.Signup = SignupOpen
	case SignupOpen, SignupClosed:
	default:
		return nil, fmt.Errorf("api: signup %q: must be open or closed", cfg.Signup)
	}
	proxies, err := parseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.WriteTimeout = orDefault(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.IdleTimeout = orDefault(cfg.IdleTimeout, DefaultIdleTimeout)
	cfg.setMediaDefaults()

	s := &Server{
		cfg:       cfg,
		proxies:   proxies,
		log:       cfg.Logger,
		gw:        cfg.Gateway,
		db:        cfg.DB,
		throttle:  auth.NewThrottle(time.Now),
		usage:     newKeyUsage(cfg.DB, cfg.Logger),
		idem:      newIdempotency(cfg.DB, cfg.Logger),
		streams:   newStreamRegistry(),
		conns:     newConnTracker(),
		now:       time.Now,
		heartbeat: sseHeartbeat,
	}
	s.mediaClient = newMediaClient(cfg)
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	s.dummyHash = sync.OnceValues(func() (string, error) {
		return auth.HashPassword(context.Background(), "no account has this password")
	})
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("api: public url %q: not an absolute URL", cfg.PublicURL)
		}
		s.publicHost = u.Host
	}
	spec, err := buildOpenAPI(cfg.Version, cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	s.openapi = spec
	s.llmsFull = sync.OnceValues(func() ([]byte, error) {
		ref, err := renderReference(spec)
		return append(slices.Clone(llmsTxt), ref...), err
	})

	fc := fiber.Config{
		// Handlers hand request values to actors that outlive the request;
		// fasthttp would otherwise recycle the bytes under them.
		Immutable:             true,
		BodyLimit:             max(cfg.BodyLimit, mediaBodyLimit(cfg)),
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		JSONEncoder:           json.Marshal,
		JSONDecoder:           json.Unmarshal,
	}
	s.app = fiber.New(fc)
	s.app.Use(assignRequestID, s.accessLog, s.recoverPanics(), s.limitBody)
	s.registerRoutes()

	go s.usage.run(keyUsageFlushInterval)
	go s.idem.run(idempotencySweepInterval)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Serve serves HTTP on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.stopCtx.Err() != nil {
		s.mu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	if err := s.app.Listener(s.conns.listener(ln)); err != nil {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections, ends every open event stream,
// waits for requests in flight (until ctx ends) and writes the coalesced
// key last-used times. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() {
		s.mu.Lock()
		s.stop()
		listeners := s.listeners
		s.mu.Unlock()
		// Streams notice s.stopCtx at once unless a write to a stalled
		// client holds them; those connections are cut after a grace.
		graceCtx, cancel := context.WithTimeout(ctx, streamCloseGrace)
		if !s.streams.wait(graceCtx) {
			s.streams.cut()
		}
		cancel()
		// Requests in flight finish; connections that never sent one are not
		// waited for (fasthttp would wait for their read timeout).
		s.conns.closeUnused()
		var errs []error
		if err := s.app.ShutdownWithContext(ctx); err != nil {
			errs = append(errs, fmt.Errorf("api: shutdown: %w", err))
		}
		for _, ln := range listeners {
			_ = ln.Close() // already closed unless Serve had not started yet
		}
		if err := s.usage.close(); err != nil {
			errs = append(errs, fmt.Errorf("api: shutdown: %w", err))
		}
		s.idem.close()
		s.shutdownErr = errors.Join(errs...)
	})
	return s.shutdownErr
}
