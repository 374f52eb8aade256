package api

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/gofiber/fiber/v2"
)

// WebSocket on fiber's own port. github.com/coder/websocket accepts on a
// net/http ResponseWriter that can be hijacked; fiber runs on fasthttp,
// which can hand over the raw connection once the handler returns
// (RequestCtx.Hijack). The adapter copies the request while fasthttp's
// buffers are still valid, lets the route's middleware (authentication
// included) run as for any request, then replays the handshake on the raw
// connection through a minimal ResponseWriter. fasthttp does not track
// hijacked connections, so each one is registered with the server's
// streams, which Shutdown ends.

// isWebSocketUpgrade reports whether the request asks for a WebSocket.
func isWebSocketUpgrade(c *fiber.Ctx) bool {
	return strings.EqualFold(c.Get(fiber.HeaderUpgrade), "websocket") &&
		strings.Contains(strings.ToLower(c.Get(fiber.HeaderConnection)), "upgrade")
}

// acceptWebSocket answers the request with a WebSocket handshake and runs
// serve on the connection, on its own goroutine, after the handler has
// returned. The connection is closed when serve returns; serve watches the
// server's shutdown itself (ctx is the connection's: coder/websocket
// drops a connection whose read or write context ends, which would leave
// no chance to send a close status).
func (s *Server) acceptWebSocket(c *fiber.Ctx, opts *websocket.AcceptOptions, serve func(ctx context.Context, conn *websocket.Conn)) error {
	req, err := copyUpgradeRequest(c)
	if err != nil {
		return err
	}
	c.Context().HijackSetNoResponse(true) // the handshake below writes the answer
	c.Context().Hijack(func(raw net.Conn) {
		id, ok := s.streams.add(raw)
		if !ok {
			return // shutting down: fasthttp closes the connection
		}
		defer s.streams.remove(id)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &hijackResponse{conn: raw, header: http.Header{}}
		conn, err := websocket.Accept(w, req.WithContext(ctx), opts)
		if err != nil {
			s.log.Debug("websocket handshake failed", "err", err)
			return // Accept answered with an error status when it could
		}
		defer conn.CloseNow()
		serve(ctx, conn)
	})
	return nil
}

// copyUpgradeRequest builds the net/http request websocket.Accept reads,
// from copies of fasthttp's bytes (they are reused once the handler
// returns).
func copyUpgradeRequest(c *fiber.Ctx) (*http.Request, error) {
	rc := c.Context()
	req := &http.Request{
		Method:     c.Method(),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Host:       string(rc.Request.Host()),
		RequestURI: string(rc.Request.RequestURI()),
		RemoteAddr: rc.RemoteAddr().String(),
	}
	u, err := url.ParseRequestURI(req.RequestURI)
	if err != nil {
		return nil, fiber.ErrBadRequest
	}
	req.URL = u
	rc.Request.Header.VisitAll(func(k, v []byte) { req.Header.Add(string(k), string(v)) })
	return req, nil
}

// hijackResponse is the ResponseWriter of a hijacked connection: enough of
// one for websocket.Accept to write the handshake's answer and take the
// connection over.
type hijackResponse struct {
	conn        net.Conn
	header      http.Header
	wroteHeader bool
	hijacked    bool
}

func (w *hijackResponse) Header() http.Header { return w.header }

func (w *hijackResponse) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	var b strings.Builder
	b.WriteString("HTTP/1.1 ")
	b.WriteString(strconv.Itoa(code))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(code))
	b.WriteString("\r\n")
	if code != http.StatusSwitchingProtocols {
		// An error answer ends the connection: nothing else will be read.
		w.header.Set("Connection", "close")
	}
	_ = w.header.Write(&b)
	b.WriteString("\r\n")
	_, _ = w.conn.Write([]byte(b.String()))
}

func (w *hijackResponse) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.WriteHeader(http.StatusOK)
	return w.conn.Write(p)
}

// Hijack implements http.Hijacker.
func (w *hijackResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, errors.New("connection already hijacked")
	}
	w.hijacked = true
	conn := &closableConn{Conn: w.conn}
	return conn, bufio.NewReadWriter(bufio.NewReader(conn), bufio.NewWriter(conn)), nil
}

// closableConn makes Close end the connection's I/O at once. fasthttp's
// hijacked connection ignores Close (fasthttp closes it itself when the
// hijack handler returns), so without this a write blocked on a client
// that stopped reading would never return when coder/websocket closes the
// connection on a timeout. An expired deadline fails pending and later
// reads and writes alike.
type closableConn struct {
	net.Conn
	once sync.Once
}

func (c *closableConn) Close() error {
	c.once.Do(func() { _ = c.Conn.SetDeadline(time.Unix(1, 0)) })
	return nil
}

var (
	_ http.ResponseWriter = (*hijackResponse)(nil)
	_ http.Hijacker       = (*hijackResponse)(nil)
)
