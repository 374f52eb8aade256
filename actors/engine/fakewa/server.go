package fakewa

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// Config configures a Server.
type Config struct {
	// Logger receives the server's protocol log at debug level; nil
	// discards.
	Logger *slog.Logger
	// MinVersion refuses clients announcing an older WhatsApp Web version
	// ("2.3000.1031080782") with 405, client outdated; empty accepts any.
	MinVersion string
	// CurrentVersion is the version web.whatsapp.com announces to clients
	// that look it up; empty is whatsmeow's built-in version.
	CurrentVersion string
	// AutoRead makes simulated phones read every message right after it
	// arrives (a "read" receipt follows the "delivered" one). Without it
	// only Phone.Read sends read receipts.
	AutoRead bool
	// PrekeyBatch is how many one-time prekeys the server reports to a
	// client that asks; zero reports what the client uploaded.
	PrekeyBatch int
}

// Server is a fake WhatsApp: the servers, and the phones of simulated
// accounts. Real whatsmeow clients connect to it through HTTPClient. Safe
// for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	tr     *trust
	ln     net.Listener
	http   *http.Server
	client *http.Client

	mu         sync.Mutex
	closed     bool
	minVersion store.WAVersionContainer
	current    store.WAVersionContainer
	accounts   map[string]*Phone  // by phone number
	lids       map[string]*Phone  // by LID user
	devices    map[string]*device // companions by "phone:device"
	qrRefs     map[string]*conn   // QR refs shown, to their connection
	links      map[string]*link   // pairing-code requests, by phone number
	sent       map[string]*sentMessage
	groups     map[string]*group // by the user part of the group JID
	// presenceSubs: who subscribed to an account's presence, until their
	// connection ends.
	presenceSubs map[*Phone]map[*device]bool
	media        map[string][]byte // media path → encrypted bytes
	mediaAuth    string
	conns        map[*conn]struct{}
	wg           sync.WaitGroup
}

// New starts a fake server on a loopback port. The first Server of a
// process replaces whatsmeow's WhatsApp root key with a test one
// (whatsmeow.WACertPubKey): from then on the process can only reach fake
// servers.
func New(cfg Config) (*Server, error) {
	tr, err := processTrust()
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger.With("component", "fakewa"),
		tr:           tr,
		current:      store.GetWAVersion(),
		accounts:     make(map[string]*Phone),
		lids:         make(map[string]*Phone),
		devices:      make(map[string]*device),
		qrRefs:       make(map[string]*conn),
		links:        make(map[string]*link),
		sent:         make(map[string]*sentMessage),
		groups:       make(map[string]*group),
		presenceSubs: make(map[*Phone]map[*device]bool),
		media:        make(map[string][]byte),
		mediaAuth:    randomHex(16),
		conns:        make(map[*conn]struct{}),
	}
	if cfg.MinVersion != "" {
		if s.minVersion, err = parseVersion(cfg.MinVersion); err != nil {
			return nil, err
		}
	}
	if cfg.CurrentVersion != "" {
		if s.current, err = parseVersion(cfg.CurrentVersion); err != nil {
			return nil, err
		}
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{tr.tlsCert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.ln = ln
	s.client = tr.httpClient(ln.Addr().String())
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	return s, nil
}

// HTTPClient is the client to give whatsmeow (for the WebSocket before
// and after login, and for media): it reaches this server whatever host it
// asks for and trusts only the server's test certificate authority.
func (s *Server) HTTPClient() *http.Client { return s.client }

// Addr is the server's loopback address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server and drops every connection.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.http.Shutdown(ctx)
	s.wg.Wait()
	s.client.CloseIdleConnections()
}

// SetMinVersion changes Config.MinVersion for the next logins.
func (s *Server) SetMinVersion(v string) error {
	parsed, err := parseVersion(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minVersion = parsed
	return nil
}

// SetCurrentVersion changes Config.CurrentVersion.
func (s *Server) SetCurrentVersion(v string) error {
	parsed, err := parseVersion(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = parsed
	return nil
}

// ServeHTTP routes the server's endpoints: the WebSocket, the version page
// of web.whatsapp.com and the media host.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := strings.Cut(r.Host, ":")
	switch {
	case r.URL.Path == "/ws/chat":
		s.serveWebSocket(w, r)
	case host == webHost && r.Method == http.MethodGet && r.URL.Path == "/":
		s.mu.Lock()
		rev := s.current[2]
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><script>window.__x={"client_revision":%d,"other":1};</script></html>`, rev)
	case strings.HasPrefix(r.URL.Path, "/mms/") && r.Method == http.MethodPost:
		s.serveUpload(w, r)
	case strings.HasPrefix(r.URL.Path, mediaPathPrefix) && r.Method == http.MethodGet:
		s.serveDownload(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil) // Origin https://web.whatsapp.com is its own host
	if err != nil {
		s.log.Debug("websocket accept", "err", err)
		return
	}
	ws.SetReadLimit(1 << 24)
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{s: s, t: &transport{ws: ws, ctx: ctx}, cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		_ = ws.CloseNow()
		return
	}
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.serve()
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Media paths: uploads are stored under mediaPathPrefix and served there.
const mediaPathPrefix = "/v/fake/"

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	auth := s.mediaAuth
	s.mu.Unlock()
	if r.URL.Query().Get("auth") != auth {
		http.Error(w, "bad auth", http.StatusUnauthorized)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path := s.storeMedia(data)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"url":"https://%s%s","direct_path":"%s"}`, mediaHost, path, path)
}

func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.media[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(data)
}

// storeMedia keeps encrypted media and returns its direct path (with a
// query, as WhatsApp's have, so that clients append parameters with "&").
func (s *Server) storeMedia(data []byte) string {
	id := randomHex(16)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[mediaPathPrefix+id+".enc"] = data
	return mediaPathPrefix + id + ".enc?ccb=11-4"
}

// mediaBytes returns stored media by its direct path or URL.
func (s *Server) mediaBytes(pathOrURL string) ([]byte, bool) {
	p := strings.TrimPrefix(pathOrURL, "https://"+mediaHost)
	p, _, _ = strings.Cut(p, "?")
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.media[p]
	return data, ok
}

func parseVersion(v string) (store.WAVersionContainer, error) {
	var out store.WAVersionContainer
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return out, fmt.Errorf("version %q: want major.minor.patch", v)
	}
	for i, p := range parts {
		var n uint32
		if _, err := fmt.Sscan(p, &n); err != nil {
			return out, fmt.Errorf("version %q: %w", v, err)
		}
		out[i] = n
	}
	return out, nil
}

func older(a, b store.WAVersionContainer) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newMessageID is an id shaped like WhatsApp's: "3EB0" and 16 hex digits.
func newMessageID() string { return "3EB0" + strings.ToUpper(randomHex(8)) }

// deviceKey is the devices map key of a companion JID.
func deviceKey(jid types.JID) string { return fmt.Sprintf("%s:%d", jid.User, jid.Device) }
