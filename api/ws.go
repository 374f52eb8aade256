package api

import (
	"context"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/storage"
)

// workspaceSocket streams the workspace's events over a WebSocket
// (GET /api/ws): one envelope per text frame, the same bytes as webhooks
// and SSE. ?deviceId= and ?types= filter as on GET /api/events; ?since=
// (or Last-Event-ID) replays the log after that seq first. The server
// pings every 15 s; a client that stops reading is cut off (its writes
// time out, or it falls a buffer behind) and never slows the others; it
// reconnects with ?since= the last seq it got. Clients send nothing: a
// data frame from them closes the connection.
func (s *Server) workspaceSocket(c *fiber.Ctx) error {
	if !isWebSocketUpgrade(c) {
		return errUpgradeRequired
	}
	p := principalOf(c)
	filter, err := s.eventFilterOf(c, p)
	if err != nil {
		return err
	}
	since, resume, err := resumePoint(c)
	if err != nil {
		return err
	}
	if s.stopCtx.Err() != nil {
		return actors.ErrStopped
	}
	feed := s.newEventFeed(p, filter, since)
	return s.acceptWebSocket(c, s.socketOptions(), func(ctx context.Context, conn *websocket.Conn) {
		feed.subscribe()
		defer feed.close()
		s.streamSocket(ctx, conn, feed, resume)
	})
}

// socketOptions: browsers may connect from this server's own origin (and
// the configured public one); other clients send no Origin.
func (s *Server) socketOptions() *websocket.AcceptOptions {
	opts := &websocket.AcceptOptions{}
	if s.publicHost != "" {
		opts.OriginPatterns = []string{s.publicHost}
	}
	return opts
}

// streamSocket writes the feed to conn until the client goes, the
// subscription ends or the server stops, and closes with a status that
// says which.
func (s *Server) streamSocket(ctx context.Context, conn *websocket.Conn, feed *eventFeed, resume bool) {
	// Reading is only for control frames (pongs, the client's close).
	clientGone := conn.CloseRead(ctx)
	write := func(e storage.Event) error {
		data, err := actors.EncodeEvent(e)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, data)
	}
	if resume {
		if err := feed.replay(s.stopCtx, write, func() error { return nil }); err != nil {
			return
		}
	}
	ping := time.NewTicker(s.heartbeat)
	defer ping.Stop()
	for {
		select {
		case <-s.stopCtx.Done():
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-clientGone.Done():
			return
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, s.cfg.WriteTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case e, ok := <-feed.sub.C:
			if !ok {
				// Fell behind, or the gateway stops: say where to resume.
				conn.Close(websocket.StatusTryAgainLater, "resume with since="+strconv.FormatUint(feed.last, 10))
				return
			}
			if feed.accept(e) {
				if err := write(e); err != nil {
					return
				}
			}
		}
	}
}
