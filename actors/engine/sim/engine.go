package sim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// Defaults of Config. Delays are short so that sandbox devices feel live;
// the QR rotation matches WhatsApp Web's (a code every 20 s, six codes).
const (
	DefaultQRInterval   = 20 * time.Second
	DefaultQRCount      = 6
	DefaultConnectDelay = 50 * time.Millisecond
	DefaultAckDelay     = 150 * time.Millisecond
	DefaultReadDelay    = 300 * time.Millisecond
	DefaultBanDuration  = time.Hour
	DefaultKeepSent     = 1000
	DefaultKeepSentIDs  = 100
)

// heldReceiptsLimit bounds the receipts kept for one offline device: a
// device that never comes back must not grow the engine without end.
const heldReceiptsLimit = 10000

// GroupSenderPhone is the phone number of the simulated participant who
// writes the messages Inbound delivers to a group (From is then the group).
// It is in the UK's range reserved for drama, far from sandbox numbers.
const GroupSenderPhone = "447700900123"

// Config configures an Engine. Zero (or negative) durations and counts take
// the defaults.
type Config struct {
	// Store keeps pairings; nil keeps them in memory (NewMemoryStore).
	Store Store
	// Logger receives debug logs of session transitions; nil discards.
	Logger *slog.Logger

	QRInterval   time.Duration // lifetime of one QR code (DefaultQRInterval)
	QRCount      int           // codes shown before QRTimeout (DefaultQRCount)
	ConnectDelay time.Duration // from Connect to the first QR or Connected, and from PairPhone to pairing
	AckDelay     time.Duration // from a send to its "delivered" receipt
	ReadDelay    time.Duration // from "delivered" to "read"
	BanDuration  time.Duration // length of a simulated temporary ban

	// KeepSent is how many sent messages Engine.Sent keeps per device, the
	// most recent ones (DefaultKeepSent).
	KeepSent int
	// KeepSentIDs is how many ids of sent messages each device's stored
	// pairing keeps, the most recent ones (DefaultKeepSentIDs), for
	// Engine.SentIDs and to recognise a message sent again after a crash.
	// A device sends one message at a time, so only its last few can come
	// again; the list is written with the pairing on every send, so it is
	// kept short.
	KeepSentIDs int

	// Rand is the source of QR codes, message ids and pairing codes;
	// nil is crypto/rand. A seeded reader makes a run reproducible. It is
	// read under a lock and must not fail.
	Rand io.Reader
	// Now gives event timestamps, ban expiries and QR expiries; nil is
	// time.Now. Delays themselves always run on the time package's timers.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Store == nil {
		c.Store = NewMemoryStore()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	setDefault(&c.QRInterval, DefaultQRInterval)
	setDefault(&c.QRCount, DefaultQRCount)
	setDefault(&c.ConnectDelay, DefaultConnectDelay)
	setDefault(&c.AckDelay, DefaultAckDelay)
	setDefault(&c.ReadDelay, DefaultReadDelay)
	setDefault(&c.BanDuration, DefaultBanDuration)
	setDefault(&c.KeepSent, DefaultKeepSent)
	setDefault(&c.KeepSentIDs, DefaultKeepSentIDs)
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func setDefault[T time.Duration | int](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Engine is the simulator: it opens sessions and plays WhatsApp's servers
// and the contacts' phones for them. Safe for concurrent use.
type Engine struct {
	cfg Config
	log *slog.Logger

	randMu sync.Mutex // guards cfg.Rand, which need not be goroutine-safe

	mu   sync.Mutex
	sent map[int64][]engine.OutMessage // per device, the last KeepSent
	held map[int64][]engine.Receipt    // receipts for offline devices
	bans map[int64]time.Time           // ban expiry per device

	dir *directory // contacts, groups, inbound media, presence and reads
}

// New returns a simulator engine.
func New(cfg Config) *Engine {
	cfg = cfg.withDefaults()
	return &Engine{
		cfg:  cfg,
		log:  cfg.Logger,
		sent: make(map[int64][]engine.OutMessage),
		held: make(map[int64][]engine.Receipt),
		bans: make(map[int64]time.Time),
		dir:  newDirectory(),
	}
}

// Name implements engine.Engine.
func (e *Engine) Name() string { return "sim" }

// Open implements engine.Engine: it loads the device's pairing from the
// Store and starts the session's goroutine, which Close stops. A nil emit
// discards events.
func (e *Engine) Open(ctx context.Context, deviceID int64, emit func(engine.Event)) (engine.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open device %d: %w", deviceID, err)
	}
	p, err := loadPairing(e.cfg.Store, deviceID)
	if err != nil {
		return nil, err
	}
	if emit == nil {
		emit = func(engine.Event) {}
	}
	return newSession(e, deviceID, p, emit), nil
}

// Forget implements engine.Engine: it deletes the device's pairing and
// everything the simulated servers keep for it (ban, held receipts, the
// record of sent messages).
func (e *Engine) Forget(ctx context.Context, deviceID int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("forget device %d: %w", deviceID, err)
	}
	if err := e.cfg.Store.Delete(deviceID); err != nil {
		return fmt.Errorf("forget device %d: %w", deviceID, err)
	}
	e.mu.Lock()
	delete(e.sent, deviceID)
	delete(e.held, deviceID)
	delete(e.bans, deviceID)
	e.mu.Unlock()
	e.dir.forget(deviceID)
	return nil
}

// Sent returns the messages the device sent, oldest first, as the contacts
// received them (with their WhatsApp ids): one entry per successful Send,
// so a message sent twice appears twice. At most Config.KeepSent are kept,
// and media over 1 MiB is kept without its Data (its Size stays). The
// caller owns the returned slice.
func (e *Engine) Sent(deviceID int64) []engine.OutMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sent[deviceID]
	return append([]engine.OutMessage(nil), s[max(len(s)-e.cfg.KeepSent, 0):]...)
}

// SentIDs returns the WhatsApp ids of the messages the device's contacts
// received, oldest first, each once: a message sent again with the same id
// (after a crash mid-send) is one message on the contact's phone, as on
// WhatsApp. Unlike Sent, it is read from the Store, where each id is
// written before its send is acknowledged, so it covers what the device
// sent before a restart of the process too, as WhatsApp's servers would
// remember it. At most Config.KeepSentIDs ids are kept; a logout forgets
// them with the pairing.
func (e *Engine) SentIDs(deviceID int64) ([]string, error) {
	p, err := loadPairing(e.cfg.Store, deviceID)
	if err != nil {
		return nil, err
	}
	return p.Sent, nil
}

func (e *Engine) recordSent(deviceID int64, m engine.OutMessage) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := append(e.sent[deviceID], m)
	// Trimmed to the last KeepSent when twice that: one copy every
	// KeepSent sends rather than one per send.
	if len(s) >= 2*e.cfg.KeepSent {
		s = append(s[:0:0], s[len(s)-e.cfg.KeepSent:]...)
	}
	e.sent[deviceID] = s
}

// holdReceipts keeps receipts that reached an offline device until it
// connects again, as WhatsApp's servers do.
func (e *Engine) holdReceipts(deviceID int64, rs ...engine.Receipt) {
	if len(rs) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	h := append(e.held[deviceID], rs...)
	if over := len(h) - heldReceiptsLimit; over > 0 {
		h = append(h[:0:0], h[over:]...)
	}
	e.held[deviceID] = h
}

// takeHeldReceipts returns and forgets the receipts held for a device.
func (e *Engine) takeHeldReceipts(deviceID int64) []engine.Receipt {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.held[deviceID]
	delete(e.held, deviceID)
	return h
}

func (e *Engine) dropHeldReceipts(deviceID int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.held, deviceID)
}

func (e *Engine) ban(deviceID int64, until time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bans[deviceID] = until
}

// bannedUntil returns the end of the device's ban, if one is running at now.
func (e *Engine) bannedUntil(deviceID int64, now time.Time) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	until, ok := e.bans[deviceID]
	if ok && !now.Before(until) {
		delete(e.bans, deviceID)
		return time.Time{}, false
	}
	return until, ok
}

func (e *Engine) now() time.Time { return e.cfg.Now() }

func (e *Engine) random(n int) []byte {
	b := make([]byte, n)
	e.randMu.Lock()
	defer e.randMu.Unlock()
	if _, err := io.ReadFull(e.cfg.Rand, b); err != nil {
		panic("sim: reading Config.Rand: " + err.Error())
	}
	return b
}

// newMessageID returns an id shaped like WhatsApp Web's: "3EB0" and 16
// upper-case hex digits.
func (e *Engine) newMessageID() string {
	return "3EB0" + strings.ToUpper(hex.EncodeToString(e.random(8)))
}

// qrKeys returns the three base64 keys a QR code carries after its ref
// (noise key, identity key, advertising secret). They stay the same for
// all the codes of one pairing attempt, as on a real client.
func (e *Engine) qrKeys() string {
	b := e.random(96)
	enc := base64.StdEncoding
	return enc.EncodeToString(b[:32]) + "," + enc.EncodeToString(b[32:64]) + "," + enc.EncodeToString(b[64:])
}

// qrCode returns a code shaped like a real one: "2@<ref>,<keys>".
func (e *Engine) qrCode(keys string) string {
	return "2@" + base64.StdEncoding.EncodeToString(e.random(48)) + "," + keys
}

// pairCodeAlphabet is the alphabet of WhatsApp's phone pairing codes.
const pairCodeAlphabet = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"

// pairCode returns a phone pairing code such as "K3T7-QWX9".
func (e *Engine) pairCode() string {
	b := e.random(8)
	code := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			code = append(code, '-')
		}
		code = append(code, pairCodeAlphabet[int(c)%len(pairCodeAlphabet)])
	}
	return string(code)
}

// sandboxPairing is who a device becomes when Scan pairs it: a fictional
// North American number, "1555" and the device id on 7 digits (more for
// ids past 9,999,999; the id is taken modulo 10^11 to stay a valid number).
func sandboxPairing(deviceID int64) pairing {
	return pairing{
		Paired:   true,
		Phone:    "1555" + fmt.Sprintf("%07d", uint64(deviceID)%1e11),
		LID:      lidFor(deviceID),
		PushName: "Sandbox " + strconv.FormatInt(deviceID, 10),
	}
}

// lidFor is the device's simulated LID user part (15 digits like real ones).
func lidFor(deviceID int64) string {
	return strconv.FormatUint(2e14+uint64(deviceID)%1e14, 10)
}

var _ engine.Engine = (*Engine)(nil)
