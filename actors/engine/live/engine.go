package live

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/store"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// Name is the engine's name in the API.
const Name = "whatsmeow"

// Config configures an Engine.
type Config struct {
	// Logger receives the engine's logs and whatsmeow's (its info logs at
	// debug, its debug logs at wastore.LevelTrace); nil discards.
	Logger *slog.Logger
	// Store keeps whatsmeow's keys. Required.
	Store *wastore.Container

	// Version, when set ("2.3000.1031080782"), is the WhatsApp Web version
	// to announce instead of whatsmeow's built-in one. It is never replaced
	// by a fetched one.
	Version string
	// FetchVersion returns the WhatsApp Web version WhatsApp accepts now,
	// as "major.minor.patch"; it is called after WhatsApp refused ours.
	// Nil reads it from web.whatsapp.com through HTTPClient.
	FetchVersion func(ctx context.Context) (string, error)

	// HTTPClient opens the WebSocket to WhatsApp (before and after login)
	// and fetches the version; nil uses whatsmeow's default client.
	HTTPClient *http.Client
	// MediaHTTPClient uploads and downloads media; nil uses whatsmeow's
	// default client.
	MediaHTTPClient *http.Client
}

// Engine is the whatsmeow engine. Safe for concurrent use.
type Engine struct {
	cfg          Config
	log          *slog.Logger
	fetchVersion func(ctx context.Context) (string, error)

	refreshMu sync.Mutex // one version refresh at a time
	versionMu sync.Mutex // guards version
	version   store.WAVersionContainer

	qrFirst, qrNext time.Duration // how long QR codes show (tests shorten them)
}

var _ engine.Engine = (*Engine)(nil)

// New returns the engine. It announces Config.Version when set, else a
// version learned from WhatsApp and stored earlier when newer than
// whatsmeow's built-in one.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, ErrNoStore
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, log: cfg.Logger.With("engine", Name), fetchVersion: cfg.FetchVersion,
		qrFirst: qrFirstDefault, qrNext: qrNextDefault}
	if e.fetchVersion == nil {
		e.fetchVersion = fetchLatest(cfg.HTTPClient)
	}
	v, err := e.startVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("whatsmeow engine: %w", err)
	}
	e.version = v
	return e, nil
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return Name }

// Open implements engine.Engine: it loads the device's keys, if paired,
// and does no network I/O.
func (e *Engine) Open(ctx context.Context, deviceID int64, emit func(engine.Event)) (engine.Session, error) {
	d, err := e.cfg.Store.Device(ctx, deviceID)
	if err != nil {
		return nil, fmt.Errorf("open device %d: %w", deviceID, err)
	}
	if emit == nil {
		emit = func(engine.Event) {}
	}
	return newSession(e, deviceID, d.ID != nil, emit), nil
}

// Forget implements engine.Engine: every key of the device goes.
func (e *Engine) Forget(ctx context.Context, deviceID int64) error {
	return e.cfg.Store.Forget(ctx, deviceID)
}
