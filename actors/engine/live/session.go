package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// Reasons the events of a session carry.
const (
	reasonRequested   = "requested"
	reasonLost        = "connection lost"
	reasonPhoneLogout = "logged out from the phone"
)

// Timings of a session.
const (
	// dropGrace is how long a connection drop waits for the reason (a
	// stream error handled just after the socket closed) before it is
	// reported as transient.
	dropGrace = 500 * time.Millisecond
	// loginAfterPairing bounds the reconnection whatsmeow makes by itself
	// after pairing (the server's 515 restart); past it the drop is
	// reported and the actor reconnects.
	loginAfterPairing = 30 * time.Second
	// pairDisplayName is the client shown on the phone when pairing by
	// code; WhatsApp accepts only common "Browser (OS)" names.
	pairDisplayName = "Chrome (Linux)"
	// quietPeriod and maxQuiesce: closing a connection first waits until
	// no event was handled for quietPeriod, at most maxQuiesce (quiesce).
	quietPeriod = 30 * time.Millisecond
	maxQuiesce  = 500 * time.Millisecond
)

// state is where a session's connection stands.
type state int

const (
	stateIdle       state = iota // not connected, not connecting
	stateConnecting              // dialing, logging in or waiting to retry
	stateQR                      // unpaired, showing QR codes
	stateConnected               // logged in
)

// attempt is one connection attempt: a whatsmeow client and its context.
// Events of an attempt that is no longer the session's current one are
// dropped.
type attempt struct {
	cli     *whatsmeow.Client
	ctx     context.Context
	cancel  context.CancelFunc
	version store.WAVersionContainer // announced by this attempt
	qrCodes []string                 // the codes WhatsApp gave this attempt to show
	// subscribed: the users whose presence this connection asked for
	// (WhatsApp forgets subscriptions with the connection).
	subscribed sync.Map
}

// session is one device's connection to WhatsApp; it implements
// engine.Session and engine.MediaDownloader.
type session struct {
	e    *Engine
	id   int64
	log  *slog.Logger
	emit func(engine.Event)

	ctx    context.Context // the session's lifetime, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the session

	paired    atomic.Bool
	lastEvent atomic.Int64 // when a whatsmeow event was last handled (unix ns)

	mu              sync.Mutex
	closed          bool
	state           state
	cur             *attempt // nil while idle
	retriedOutdated bool     // a "client outdated" retry was made since Connect
	dropTimer       *time.Timer
	loginTimer      *time.Timer
	qrTimer         *time.Timer
}

var (
	_ engine.Session         = (*session)(nil)
	_ engine.MediaDownloader = (*session)(nil)
)

func newSession(e *Engine, id int64, paired bool, emit func(engine.Event)) *session {
	s := &session{e: e, id: id, log: e.log.With("device", id), emit: emit}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.paired.Store(paired)
	return s
}

// Paired implements engine.Session.
func (s *session) Paired() bool { return s.paired.Load() }

// Connect implements engine.Session. It opens a client on the device's
// keys (fresh keys while unpaired) and dials in the
// background; a dial that fails is reported as a transient Disconnected.
func (s *session) Connect(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("connect: %w", engine.ErrClosed)
	}
	if s.state != stateIdle {
		return nil
	}
	s.retriedOutdated = false
	if err := s.startAttempt(); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	return nil
}

// startAttempt opens a new client and dials it. Called with s.mu held and
// the session idle.
func (s *session) startAttempt() error {
	d, err := s.e.cfg.Store.Device(s.ctx, s.id)
	if err != nil {
		return err
	}
	cli := whatsmeow.NewClient(d, wastore.Logger(s.log, "Client"))
	version := s.e.currentVersion()
	cli.GetClientPayload = payloadWithVersion(d, version)
	// The device actor reconnects, with backoff, and never after a
	// permanent end; whatsmeow must not do it behind its back.
	cli.EnableAutoReconnect = false
	cli.InitialAutoReconnect = false
	// Acknowledge a message only once the handler has taken it, and keep
	// its plaintext until then so that a redelivery is not decrypted twice.
	cli.SynchronousAck = true
	cli.EnableDecryptedEventBuffer = true
	if hc := s.e.cfg.HTTPClient; hc != nil {
		cli.SetWebsocketHTTPClient(hc)
		cli.SetPreLoginHTTPClient(hc)
	}
	if hc := s.e.cfg.MediaHTTPClient; hc != nil {
		cli.SetMediaHTTPClient(hc)
	}
	a := &attempt{cli: cli, version: version}
	a.ctx, a.cancel = context.WithCancel(s.ctx)
	cli.BackgroundEventCtx = a.ctx
	cli.AddEventHandlerWithSuccessStatus(func(evt any) bool { return s.onEvent(a, evt) })
	s.cur, s.state = a, stateConnecting
	s.wg.Add(1)
	go s.dial(a)
	return nil
}

// dial opens the attempt's connection; whatsmeow's events take it from
// there.
func (s *session) dial(a *attempt) {
	defer s.wg.Done()
	err := a.cli.ConnectContext(a.ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != a {
		// Disconnected, logged out or closed while dialing.
		s.retire(a, false)
		return
	}
	if err != nil {
		s.log.Info("connect failed", "err", err)
		s.endAttempt()
		s.emit(engine.Disconnected{Reason: "connect failed: " + err.Error(), Transient: true})
	}
}

// endAttempt retires the current attempt and makes the session idle.
// Called with s.mu held.
func (s *session) endAttempt() {
	s.stopTimers()
	if s.cur != nil {
		s.retire(s.cur, false)
	}
	s.cur, s.state = nil, stateIdle
}

func (s *session) stopTimers() {
	if s.dropTimer != nil {
		s.dropTimer.Stop()
		s.dropTimer = nil
	}
	if s.loginTimer != nil {
		s.loginTimer.Stop()
		s.loginTimer = nil
	}
	if s.qrTimer != nil {
		s.qrTimer.Stop()
		s.qrTimer = nil
	}
}

// retire ends an attempt: its context is cancelled, which makes
// whatsmeow close its socket and stop every goroutine it runs for it (at
// once, but asynchronously), and its handlers are removed. With wait it
// returns once that is done; otherwise it does it in the background,
// because whatsmeow's handlers must not wait for their own removal.
//
// The client's Disconnect is not used: whatsmeow's socket reads its
// "closed" flag without a lock after a failed read, so closing it while its
// read loop is busy is a data race inside whatsmeow; a cancelled context
// lets the read loop close the socket itself.
func (s *session) retire(a *attempt, wait bool) {
	done := func() {
		s.quiesce()
		a.cancel()
		a.cli.RemoveEventHandlers()
	}
	if wait {
		done()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		done()
	}()
}

// quiesce waits, a little, until the session's last event is quietPeriod
// old: whatsmeow acknowledges an event to WhatsApp right after the handler
// returns, and an acknowledgement that gets out spares a redelivery. It
// also keeps the close away from whatsmeow's socket while it writes, which
// whatsmeow does not synchronise with closing.
func (s *session) quiesce() {
	deadline := time.Now().Add(maxQuiesce)
	for {
		idle := time.Since(time.Unix(0, s.lastEvent.Load()))
		if idle >= quietPeriod || time.Now().After(deadline) {
			return
		}
		time.Sleep(quietPeriod - idle)
	}
}

// Disconnect implements engine.Session: it closes the connection, keeps
// the pairing and emits Disconnected{Reason: "requested"}.
func (s *session) Disconnect() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	a := s.cur
	s.stopTimers()
	s.cur, s.state = nil, stateIdle
	s.mu.Unlock()
	if a != nil {
		s.retire(a, true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.emit(engine.Disconnected{Reason: reasonRequested})
	}
}

// Logout implements engine.Session: when connected it unlinks the device
// from the phone; in any case it closes the connection, deletes the keys
// and emits LoggedOut{Reason: "requested"}. A failed unlink is logged: the
// keys go anyway, and the phone drops the device when it next looks.
func (s *session) Logout(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("logout: %w", engine.ErrClosed)
	}
	a, connected := s.cur, s.state == stateConnected
	s.stopTimers()
	s.cur, s.state = nil, stateIdle
	s.mu.Unlock()

	if a != nil {
		if connected {
			if err := a.cli.Logout(ctx); err != nil {
				s.log.Warn("unlink from the phone failed; deleting the keys anyway", "err", err)
			}
		}
		s.retire(a, true)
	}
	if err := s.e.cfg.Store.Forget(ctx, s.id); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.paired.Store(false)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.emit(engine.LoggedOut{Reason: reasonRequested})
	}
	return nil
}

// PairPhone implements engine.Session. The session must be showing QR
// codes (engine.ErrNoQR otherwise); the code is shown by the phone's
// "Link with phone number" screen.
func (s *session) PairPhone(ctx context.Context, phone string) (string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return "", fmt.Errorf("pair phone: %w", err)
	}
	s.mu.Lock()
	a := s.cur
	ok := s.state == stateQR && !s.paired.Load()
	s.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("pair phone: %w", engine.ErrNoQR)
	}
	code, err := a.cli.PairPhone(ctx, p, true, whatsmeow.PairClientChrome, pairDisplayName)
	if err != nil {
		return "", fmt.Errorf("pair phone: %w", err)
	}
	return code, nil
}

// NewMessageID implements engine.Session: an id of WhatsApp's own format.
func (s *session) NewMessageID() string {
	s.mu.Lock()
	a := s.cur
	s.mu.Unlock()
	if a != nil {
		return a.cli.GenerateMessageID()
	}
	return whatsmeow.GenerateMessageID()
}

// connected returns the current attempt when the session is logged in.
func (s *session) connected() (*attempt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, engine.ErrClosed
	}
	if s.state != stateConnected {
		return nil, engine.ErrNotConnected
	}
	return s.cur, nil
}

// Close implements engine.Session: it disconnects without events and
// returns once every goroutine of the session has ended.
func (s *session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	a := s.cur
	s.stopTimers()
	s.cur, s.state = nil, stateIdle
	s.mu.Unlock()
	if a != nil {
		s.retire(a, true)
	}
	s.cancel()
	s.wg.Wait()
}

// transportError maps whatsmeow's "not connected" errors to the engine's.
func transportError(err error) error {
	if errors.Is(err, whatsmeow.ErrNotConnected) || errors.Is(err, whatsmeow.ErrNotLoggedIn) {
		return fmt.Errorf("%w: %v", engine.ErrNotConnected, err)
	}
	switch code, _ := serverErrorCode(err); code {
	case 429:
		return fmt.Errorf("%w: %v", engine.ErrRateLimited, err)
	case 463:
		return fmt.Errorf("%w: %v", engine.ErrReachOut, err)
	}
	return err
}

// serverErrorCode reads the code of an error ack to a sent message:
// whatsmeow reports it as ErrServerReturnedError followed by the number
// (429: too many messages; 463: the reach-out timelock on new contacts).
func serverErrorCode(err error) (int, bool) {
	if !errors.Is(err, whatsmeow.ErrServerReturnedError) {
		return 0, false
	}
	msg := err.Error()
	i := strings.LastIndexByte(msg, ' ')
	code, convErr := strconv.Atoi(msg[i+1:])
	if convErr != nil {
		return 0, false
	}
	return code, true
}
