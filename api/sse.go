package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

const (
	// replayPage is how many log events one replay read fetches.
	replayPage = 500
	// maxFramesPerFlush lets a burst of queued events go out in one write.
	maxFramesPerFlush = 64
)

// Event streams (Server-Sent Events here, WebSocket in ws.go) are views of
// the workspace's event log: a stream subscribes to live events first,
// then replays the log after the client's resume point, then writes live
// events, skipping those it already replayed (by seq). Nothing falls in
// between, and a client that reconnects with the last seq it saw misses
// nothing the log still holds (the retention is at least 24 h).

// deviceEvents streams one device's events as Server-Sent Events.
//
// The stream opens with the device's current status (and its QR code while
// it waits for a scan), as frames without an id: they are not log entries.
// With Last-Event-ID (or ?since=) the log is replayed from there first, and
// the current state follows the replay, so that it is what the client ends
// on. device.qr and device.status are named qr and status (the seed's
// names).
func (s *Server) deviceEvents(c *fiber.Ctx) error {
	p := principalOf(c)
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	since, resume, err := resumePoint(c)
	if err != nil {
		return err
	}
	snapshot, err := s.snapshotFrames(c.UserContext(), d)
	if err != nil {
		return err
	}
	feed := s.newEventFeed(p, eventFilter{deviceID: d.ID}, since)
	return s.serveSSE(c, feed, resume, snapshot, sseEventName)
}

// resumePoint reads where a client wants to resume: the Last-Event-ID
// header (what EventSource sends on reconnect) or ?since=.
func resumePoint(c *fiber.Ctx) (uint64, bool, error) {
	field, raw := "Last-Event-ID", strings.TrimSpace(c.Get("Last-Event-ID"))
	if raw == "" {
		field, raw = "since", c.Query("since")
	}
	if raw == "" {
		return 0, false, nil
	}
	seq, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, false, validationError(field, field+" must be an event seq (a non-negative integer)")
	}
	return seq, true, nil
}

// serveSSE answers with an event stream of feed. snapshot (frames, may be
// empty) goes after the replay; name gives each event its SSE event name.
func (s *Server) serveSSE(c *fiber.Ctx, feed *eventFeed, resume bool, snapshot []byte, name func(string) string) error {
	if s.stopCtx.Err() != nil {
		return actors.ErrStopped
	}
	conn := c.Context().Conn()
	streamID, ok := s.streams.add(conn)
	if !ok {
		return actors.ErrStopped
	}
	feed.subscribe()

	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderConnection, "keep-alive")
	c.Set("X-Accel-Buffering", "no")
	c.Status(fiber.StatusOK)
	c.Response().ImmediateHeaderFlush = true

	st := &sseStream{s: s, conn: conn, feed: feed, resume: resume, snapshot: snapshot, name: name}
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		defer s.streams.remove(streamID)
		defer feed.close()
		st.run(w)
	}))
	return nil
}

// snapshotFrames renders the device's current state as stream frames.
func (s *Server) snapshotFrames(ctx context.Context, d storage.Device) ([]byte, error) {
	var buf strings.Builder
	w := bufio.NewWriter(&buf)
	status, err := json.Marshal(statusDataDTO{Status: d.Status, Reason: d.StatusReason, Phone: d.Phone})
	if err != nil {
		return nil, err
	}
	if err := writeEventFrame(w, s.snapshotEvent(d, actors.EventDeviceStatus, status), sseEventName); err != nil {
		return nil, err
	}
	if d.Status == actors.StatusScanQR {
		qr, err := s.gw.QR(ctx, d.WorkspaceID, d.ID)
		switch {
		case err == nil:
			dto, err := newQRDTO(qr.Code, qr.ExpiresAt)
			if err != nil {
				return nil, err
			}
			data, err := json.Marshal(dto)
			if err != nil {
				return nil, err
			}
			if err := writeEventFrame(w, s.snapshotEvent(d, actors.EventDeviceQR, data), sseEventName); err != nil {
				return nil, err
			}
		case !isNoQR(err):
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return []byte(buf.String()), nil
}

// snapshotEvent is an envelope for the current state: a fresh id, seq 0
// (it is not in the log) and the time it was read.
func (s *Server) snapshotEvent(d storage.Device, typ string, data json.RawMessage) storage.Event {
	return storage.Event{
		ID:          storage.NewEventID(),
		Type:        typ,
		CreatedAt:   s.now().UTC(),
		WorkspaceID: d.WorkspaceID,
		DeviceID:    d.ID,
		Data:        data,
	}
}

// sseStream is one open event stream.
type sseStream struct {
	s        *Server
	conn     net.Conn
	feed     *eventFeed
	resume   bool
	snapshot []byte
	name     func(string) string
}

// run writes the stream until the client goes away (a failed flush), the
// subscription ends (the client fell behind, or the gateway stops: the
// stream ends so that the client reconnects and resumes) or the server
// shuts down.
func (st *sseStream) run(w *bufio.Writer) {
	if st.resume {
		err := st.feed.replay(st.s.stopCtx, func(e storage.Event) error {
			return writeEventFrame(w, e, st.name)
		}, func() error { return st.flush(w) })
		if err != nil {
			return
		}
	}
	if _, err := w.Write(st.snapshot); err != nil || st.flush(w) != nil {
		return
	}
	heartbeat := time.NewTicker(st.s.heartbeat)
	defer heartbeat.Stop()
	stopping := st.s.stopCtx.Done()
	live := st.feed.sub.C
	for {
		select {
		case <-stopping:
			return
		case <-heartbeat.C:
			if _, err := w.WriteString(": ping\n\n"); err != nil || st.flush(w) != nil {
				return
			}
		case e, ok := <-live:
			if !ok {
				return
			}
			for n := 0; ; n++ {
				if st.feed.accept(e) {
					if err := writeEventFrame(w, e, st.name); err != nil {
						return
					}
				}
				if n == maxFramesPerFlush || len(live) == 0 {
					break
				}
				if e, ok = <-live; !ok {
					_ = st.flush(w)
					return
				}
			}
			if st.flush(w) != nil {
				return
			}
		}
	}
}

// flush pushes buffered frames to the client. fasthttp sets the write
// deadline once per response, which would cut every stream after
// WriteTimeout; renewing it before each flush makes it a bound on writing
// one batch instead, so a reader that stalls is still dropped.
func (st *sseStream) flush(w *bufio.Writer) error {
	if d := st.s.cfg.WriteTimeout; d > 0 && st.conn != nil {
		if err := st.conn.SetWriteDeadline(time.Now().Add(d)); err != nil {
			return err
		}
	}
	return w.Flush()
}

// writeEventFrame writes one event as an SSE frame: "id:" only for logged
// events, the event's name, and the envelope as data — the bytes webhooks
// and WebSocket frames carry (actors.EncodeEvent).
func writeEventFrame(w *bufio.Writer, e storage.Event, name func(string) string) error {
	if e.Type == actors.EventDeviceQR {
		e.Data = withQRImage(e.Data)
	}
	data, err := actors.EncodeEvent(e)
	if err != nil {
		return fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	if e.Seq > 0 {
		w.WriteString("id: ")
		w.WriteString(strconv.FormatUint(e.Seq, 10))
		w.WriteByte('\n')
	}
	w.WriteString("event: ")
	w.WriteString(name(e.Type))
	w.WriteString("\ndata: ")
	w.Write(data)
	_, err = w.WriteString("\n\n")
	return err
}

// withQRImage completes device.qr data logged without its image (before
// the log carried images) into the full QR DTO. Data that has its image,
// or that it cannot read, is passed on as it is.
func withQRImage(data json.RawMessage) json.RawMessage {
	var q struct {
		Code      string    `json:"code"`
		Image     string    `json:"image"`
		ExpiresAt time.Time `json:"expiresAt"`
	}
	if err := json.Unmarshal(data, &q); err != nil || q.Code == "" || q.Image != "" {
		return data
	}
	dto, err := newQRDTO(q.Code, q.ExpiresAt)
	if err != nil {
		return data
	}
	out, err := json.Marshal(dto)
	if err != nil {
		return data
	}
	return out
}

// isNoQR reports whether err says there is no QR code to show now.
func isNoQR(err error) bool {
	return errors.Is(err, actors.ErrNoQR) || errors.Is(err, engine.ErrNoQR)
}

// sseEventName is the SSE event name of an event type on a device's
// stream: the seed's short names for the device's own events, the type
// otherwise.
func sseEventName(typ string) string {
	switch typ {
	case actors.EventDeviceQR:
		return "qr"
	case actors.EventDeviceStatus:
		return "status"
	}
	return typ
}

// streamRegistry tracks open event streams (SSE responses and hijacked
// WebSocket connections) so that Shutdown can end them: fasthttp waits for
// every response to finish, and a stream never does by itself; it does not
// track hijacked connections at all.
type streamRegistry struct {
	mu      sync.Mutex
	closed  bool
	next    uint64
	conns   map[uint64]net.Conn
	drained chan struct{} // closed once closed and empty
}

func newStreamRegistry() *streamRegistry {
	return &streamRegistry{conns: make(map[uint64]net.Conn), drained: make(chan struct{})}
}

// add registers a stream; false once Shutdown began.
func (r *streamRegistry) add(conn net.Conn) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, false
	}
	r.next++
	r.conns[r.next] = conn
	return r.next, true
}

func (r *streamRegistry) remove(id uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, id)
	if r.closed && len(r.conns) == 0 {
		r.closeDrained()
	}
}

// closeDrained closes drained once; r.mu is held.
func (r *streamRegistry) closeDrained() {
	select {
	case <-r.drained:
	default:
		close(r.drained)
	}
}

// open counts the streams still open.
func (r *streamRegistry) open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// wait refuses new streams and waits until the open ones ended or ctx
// ends; it reports whether they all ended.
func (r *streamRegistry) wait(ctx context.Context) bool {
	r.mu.Lock()
	r.closed = true
	if len(r.conns) == 0 {
		r.closeDrained()
	}
	r.mu.Unlock()
	select {
	case <-r.drained:
		return true
	case <-ctx.Done():
		return false
	}
}

// cut fails the pending writes and reads of the streams still open, whose
// clients stopped reading.
func (r *streamRegistry) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, conn := range r.conns {
		if conn != nil {
			_ = conn.SetDeadline(time.Now())
		}
	}
}
