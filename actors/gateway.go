package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Config of the actor system.
type Config struct {
	Logger           *slog.Logger
	DB               *storage.DB
	Engines          map[string]engine.Engine // by engine name
	DefaultRateLimit pacing.Rate              // default 30/m
	RequestTimeout   time.Duration            // actor request/response (default 30s)
	// PublicURL is the gateway's external origin; links in events (media
	// URLs) are absolute under it, else paths.
	PublicURL string
	// MediaRetention is how long downloaded inbound media stays cached
	// (default 24 h); MediaMaxBytes the largest media downloaded (default
	// 100 MiB).
	MediaRetention time.Duration
	MediaMaxBytes  int64
	// EventRetention is how long logged events (and webhook deliveries)
	// are kept: default 72 h, at least 24 h.
	EventRetention time.Duration
	// AllowPrivateURLs lets webhook URLs resolve to loopback, private and
	// link-local addresses (tests, local development).
	AllowPrivateURLs bool

	// webhookClient replaces the egress client in tests.
	webhookClient *http.Client
}

// Gateway is the plain-Go facade over the actor system: the api package
// calls it and never sees a PID or a future. Safe for concurrent use.
type Gateway struct {
	log         *slog.Logger
	db          *storage.DB
	engines     map[string]engine.Engine
	defaultRate pacing.Rate
	timeout     time.Duration
	media       mediaConfig
	sweepDone   chan struct{} // closed when the gateway stops

	sys     *actor.ActorSystem
	root    *actor.PID
	hub     *hub
	stopped atomic.Bool

	mu      sync.Mutex
	devices map[int64]*actor.PID

	// The event log and webhooks (webhook.go).
	retention        time.Duration
	processor        eventProcessor
	allowPrivateURLs bool
	webhookClient    *http.Client
	webhookCtx       context.Context // ends in-flight deliveries at Stop
	stopWebhooks     context.CancelFunc

	// metrics counts sends and webhook deliveries for GET /metrics (metrics.go).
	metrics *gatewayMetrics
}

// Start spawns the actor tree and starts an actor for every stored device,
// so that devices that were online reconnect by themselves.
func Start(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.DB == nil {
		return nil, errors.New("actors: no database")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultRateLimit.Limit <= 0 || cfg.DefaultRateLimit.Window <= 0 {
		cfg.DefaultRateLimit = pacing.Rate{Limit: 30, Window: time.Minute}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	g := &Gateway{
		log:         cfg.Logger,
		db:          cfg.DB,
		engines:     cfg.Engines,
		defaultRate: cfg.DefaultRateLimit,
		timeout:     cfg.RequestTimeout,
		hub:         newHub(),
		devices:     make(map[int64]*actor.PID),
		media:       newMediaConfig(cfg),
		sweepDone:   make(chan struct{}),
		metrics:     newGatewayMetrics(),
	}
	g.initWebhooks(cfg)
	// protoactor logs every lifecycle step at info; keep only its warnings.
	actorLog := slog.New(levelHandler{min: slog.LevelWarn, Handler: cfg.Logger.Handler()}).With("module", "actor")
	g.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return actorLog }))
	props := actor.PropsFromProducer(func() actor.Actor { return &rootActor{g: g} },
		actor.WithSupervisor(deviceSupervisor()))
	root, err := g.sys.Root.SpawnNamed(props, "gateway")
	if err != nil {
		return nil, fmt.Errorf("actors: spawn root: %w", err)
	}
	g.root = root

	devices, err := cfg.DB.ListAllDevices()
	if err != nil {
		g.shutdown()
		return nil, fmt.Errorf("actors: list devices: %w", err)
	}
	for _, d := range devices {
		if _, err := g.spawn(ctx, d); err != nil {
			g.shutdown()
			return nil, err
		}
	}
	if err := g.startWorkspaces(ctx); err != nil {
		g.shutdown()
		return nil, err
	}
	go g.sweepFiles()
	g.log.Info("actors started", "devices", len(devices))
	return g, nil
}

// Stop ends every subscription and stops every actor (closing the
// sessions), waiting until they are stopped or ctx ends. It does not close
// the database.
func (g *Gateway) Stop(ctx context.Context) error {
	if g.stopped.Swap(true) {
		return nil
	}
	close(g.sweepDone)
	g.stopWebhooks() // also cuts plugin replies short: their sends use its context
	g.hub.close()
	done := make(chan struct{})
	go func() {
		if p, ok := g.processor.(*pluginProcessor); ok {
			p.replying.Wait() // while the actors still answer their sends
		}
		_ = g.sys.Root.StopFuture(g.root).Wait()
		close(done)
	}()
	select {
	case <-done:
		g.sys.Shutdown()
		return nil
	case <-ctx.Done():
		return fmt.Errorf("actors: stop: %w", ctx.Err())
	}
}

func (g *Gateway) shutdown() {
	if !g.stopped.Swap(true) {
		close(g.sweepDone)
	}
	g.stopWebhooks()
	g.hub.close()
	g.sys.Root.Stop(g.root)
	g.sys.Shutdown()
}

// Ready reports whether the gateway can serve.
func (g *Gateway) Ready() error {
	if g.stopped.Load() {
		return ErrStopped
	}
	return nil
}

// ---- routing

// spawn returns the device's actor, starting it when needed.
func (g *Gateway) spawn(ctx context.Context, d storage.Device) (*actor.PID, error) {
	g.mu.Lock()
	pid, ok := g.devices[d.ID]
	g.mu.Unlock()
	if ok {
		return pid, nil
	}
	res, err := g.request(ctx, g.root, ensureDevice{device: d})
	if err != nil {
		return nil, err
	}
	pid = res.(*actor.PID)
	g.mu.Lock()
	g.devices[d.ID] = pid
	g.mu.Unlock()
	return pid, nil
}

// forgetDevice drops a stopped device actor from the routing table.
func (g *Gateway) forgetDevice(id int64, pid *actor.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if cur, ok := g.devices[id]; ok && cur.Equal(pid) {
		delete(g.devices, id)
	}
}

// request sends msg to pid and waits for its reply.
func (g *Gateway) request(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	if g.stopped.Load() {
		return nil, ErrStopped
	}
	timeout := g.timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return nil, ErrTimeout
	}
	res, err := g.sys.Root.RequestFuture(pid, msg, timeout).Result()
	switch {
	case errors.Is(err, actor.ErrTimeout):
		return nil, ErrTimeout
	case err != nil:
		return nil, err
	}
	switch r := res.(type) {
	case reply:
		return r.val, r.err
	case *actor.DeadLetterResponse:
		return nil, errDeadActor
	}
	return res, nil
}

var errDeadActor = errors.New("actor is gone")

// device finds a device of the workspace and asks its actor.
func (g *Gateway) ask(ctx context.Context, ws, id int64, msg any) (any, error) {
	for attempt := 0; ; attempt++ {
		d, err := g.Device(ctx, ws, id)
		if err != nil {
			return nil, err
		}
		pid, err := g.spawn(ctx, d)
		if err != nil {
			return nil, err
		}
		res, err := g.request(ctx, pid, msg)
		if errors.Is(err, errDeadActor) && attempt == 0 {
			g.forgetDevice(id, pid) // stopped after too many failures: start it afresh
			continue
		}
		if errors.Is(err, errDeadActor) {
			return nil, ErrDeviceNotFound
		}
		return res, err
	}
}

// ---- devices

// DeviceSpec describes a device to create.
type DeviceSpec struct {
	Name      string
	Engine    string             // "sim" or "whatsmeow"
	RateLimit *storage.RateLimit // nil: the default
}

// CreateDevice stores the device with its key (the caller set key.Hash,
// Prefix, Kind and Name) and starts its actor, not connected.
func (g *Gateway) CreateDevice(ctx context.Context, ws int64, spec DeviceSpec, key storage.APIKey) (storage.Device, storage.APIKey, error) {
	if _, ok := g.engines[spec.Engine]; !ok {
		return storage.Device{}, storage.APIKey{}, fmt.Errorf("%w: %q is not available on this server", ErrUnknownEngine, spec.Engine)
	}
	rl := storage.RateLimit{Limit: g.defaultRate.Limit, WindowSeconds: int(g.defaultRate.Window / time.Second)}
	if spec.RateLimit != nil {
		rl = *spec.RateLimit
	}
	d := storage.Device{
		WorkspaceID: ws,
		Name:        spec.Name,
		Engine:      spec.Engine,
		Status:      StatusDisconnected,
		RateLimit:   rl,
		Pacing:      string(DefaultPacingProfile(spec.Engine)),
		CreatedAt:   time.Now().UTC(),
	}
	key.WorkspaceID = ws
	key.Kind = storage.KeyDevice
	d, key, err := g.db.CreateDevice(d, key)
	if errors.Is(err, storage.ErrConflict) {
		return storage.Device{}, storage.APIKey{}, ErrNameTaken
	}
	if err != nil {
		return storage.Device{}, storage.APIKey{}, fmt.Errorf("create device: %w", err)
	}
	if _, err := g.spawn(ctx, d); err != nil {
		return storage.Device{}, storage.APIKey{}, err
	}
	return d, key, nil
}

// Device returns a device of the workspace (ErrDeviceNotFound otherwise).
func (g *Gateway) Device(_ context.Context, ws, id int64) (storage.Device, error) {
	d, err := g.db.GetDevice(id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && d.WorkspaceID != ws) {
		return storage.Device{}, ErrDeviceNotFound
	}
	return d, err
}

// Devices lists the workspace's devices.
func (g *Gateway) Devices(_ context.Context, ws int64) ([]storage.Device, error) {
	return g.db.ListDevices(ws)
}

// DevicePatch changes a device; nil fields stay as they are.
type DevicePatch struct {
	Name      *string
	RateLimit *storage.RateLimit
	// Pacing is a JSON object merged into the device's pacing settings as
	// pacing.Settings.Apply does ({"profile":"careful"} switches profile);
	// errors wrap pacing.ErrBadSettings.
	Pacing json.RawMessage
}

// UpdateDevice applies a patch through the device's actor.
func (g *Gateway) UpdateDevice(ctx context.Context, ws, id int64, p DevicePatch) (storage.Device, error) {
	return askDevice(g.ask(ctx, ws, id, cmdUpdate{patch: p}))
}

// DeleteDevice logs the device out, stops its actor, forgets its WhatsApp
// keys and deletes it with its key and messages.
func (g *Gateway) DeleteDevice(ctx context.Context, ws, id int64) error {
	_, err := g.ask(ctx, ws, id, cmdDelete{})
	if err == nil {
		g.mu.Lock()
		delete(g.devices, id)
		g.mu.Unlock()
	}
	return err
}

// Connect starts connecting the device (idempotent while connecting or connected).
func (g *Gateway) Connect(ctx context.Context, ws, id int64) (storage.Device, error) {
	return askDevice(g.ask(ctx, ws, id, cmdConnect{}))
}

// Disconnect closes the device's connection and keeps its pairing.
func (g *Gateway) Disconnect(ctx context.Context, ws, id int64) (storage.Device, error) {
	return askDevice(g.ask(ctx, ws, id, cmdDisconnect{}))
}

// Logout unlinks the device from its phone.
func (g *Gateway) Logout(ctx context.Context, ws, id int64) (storage.Device, error) {
	return askDevice(g.ask(ctx, ws, id, cmdLogout{}))
}

func askDevice(v any, err error) (storage.Device, error) {
	if err != nil {
		return storage.Device{}, err
	}
	return v.(storage.Device), nil
}

// QRCode is the code to scan now.
type QRCode struct {
	Code      string
	ExpiresAt time.Time
}

// QR returns the current QR code (ErrNoQR unless the status is SCAN_QR).
func (g *Gateway) QR(ctx context.Context, ws, id int64) (QRCode, error) {
	v, err := g.ask(ctx, ws, id, cmdQR{})
	if err != nil {
		return QRCode{}, err
	}
	return v.(QRCode), nil
}

// PairPhone asks for a code to type on the phone (status must be SCAN_QR).
func (g *Gateway) PairPhone(ctx context.Context, ws, id int64, phone string) (string, error) {
	v, err := g.ask(ctx, ws, id, cmdPairPhone{phone: phone})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// SandboxScan plays the phone scanning the QR (sim devices only).
func (g *Gateway) SandboxScan(ctx context.Context, ws, id int64) error {
	_, err := g.ask(ctx, ws, id, cmdSandbox{op: "scan"})
	return err
}

// SandboxInbound delivers a message from a simulated contact.
func (g *Gateway) SandboxInbound(ctx context.Context, ws, id int64, in engine.SandboxInbound) error {
	_, err := g.ask(ctx, ws, id, cmdSandbox{op: "inbound", inbound: in})
	return err
}

// SandboxFault injects a failure (engine.Fault* kinds).
func (g *Gateway) SandboxFault(ctx context.Context, ws, id int64, kind string) error {
	_, err := g.ask(ctx, ws, id, cmdSandbox{op: "fault", fault: kind})
	return err
}

// SandboxActivity plays a simulated contact typing, coming online or
// going offline, or calling (engine.Activity* kinds).
func (g *Gateway) SandboxActivity(ctx context.Context, ws, id int64, a engine.SandboxActivity) error {
	_, err := g.ask(ctx, ws, id, cmdSandbox{op: "activity", activity: a})
	return err
}

// ---- messages

// SendRequest is an outgoing message, validated by the caller. Fields a
// Type does not use are zero.
type SendRequest struct {
	DeviceID int64
	// MessageID is the id the message gets, chosen beforehand (from
	// storage.NewMessageID) when a retry must find it; empty: a new one.
	// A message already stored under it is answered as it is, and not
	// admitted again.
	MessageID string
	To        engine.JID
	Type      engine.MessageType
	// Text is the text, the caption of media, the emoji of a reaction or
	// the new text of an edit.
	Text     string
	QuotedID string

	Mentions    []engine.JID
	LinkPreview bool
	// Media describes the stored file (FileID, in the same workspace) that
	// a media message sends.
	Media    *storage.MediaInfo
	Location *storage.Location
	Contact  *storage.ContactCard
	Poll     *storage.Poll
	// TargetID is the message (msg_…, of the same device) a reaction, an
	// edit or a revocation is about.
	TargetID string
}

// SendResult is the admitted, durably queued message and the limiter state.
type SendResult struct {
	Message storage.Message
	Limit   pacing.State
}

// Send admits a message (rate limit), stores it as queued (synced) and lets
// the device actor send it. *RateLimitedError when over the limit.
func (g *Gateway) Send(ctx context.Context, ws int64, req SendRequest) (SendResult, error) {
	v, err := g.ask(ctx, ws, req.DeviceID, cmdSend{req: req})
	if err != nil {
		return SendResult{}, err
	}
	return v.(SendResult), nil
}

// WaitSent waits until the message has left the queue (sent or failed, or
// further) or ctx ends, and returns it as it is then.
func (g *Gateway) WaitSent(ctx context.Context, ws int64, id string) (storage.Message, error) {
	m, err := g.Message(ctx, ws, id)
	if err != nil || m.Status != MessageQueued {
		return m, err
	}
	sub := g.Subscribe(ws, SubscribeFilter{DeviceID: m.DeviceID, Types: []string{EventMessageSent, EventMessageFailed}})
	defer sub.Close()
	// Read again: it may have been sent between the first read and the subscription.
	if m, err = g.Message(ctx, ws, id); err != nil || m.Status != MessageQueued {
		return m, err
	}
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				return g.Message(ctx, ws, id)
			}
			var d struct {
				ID string `json:"id"`
			}
			if json.Unmarshal(e.Data, &d) == nil && d.ID == id {
				return g.Message(ctx, ws, id)
			}
		case <-ctx.Done():
			return g.Message(context.WithoutCancel(ctx), ws, id)
		}
	}
}

// Message returns a message of the workspace.
func (g *Gateway) Message(_ context.Context, ws int64, id string) (storage.Message, error) {
	m, err := g.db.GetMessage(ws, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Message{}, ErrMessageNotFound
	}
	return m, err
}

// Messages lists the workspace's messages, newest first.
func (g *Gateway) Messages(_ context.Context, ws int64, f storage.MessageFilter) ([]storage.Message, string, error) {
	return g.db.ListMessages(ws, f)
}

// ---- events

// Subscribe starts receiving the workspace's events as they are appended.
func (g *Gateway) Subscribe(ws int64, f SubscribeFilter) *Subscription {
	f.Types = slices.Clone(f.Types)
	return g.hub.subscribe(ws, f)
}

// levelHandler drops records below min (for chatty libraries).
type levelHandler struct {
	min slog.Level
	slog.Handler
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return levelHandler{h.min, h.Handler.WithAttrs(as)}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{h.min, h.Handler.WithGroup(name)}
}
