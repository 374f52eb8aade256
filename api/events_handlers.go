package api

import (
	"context"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/storage"
)

// workspaceEvents streams the workspace's events as Server-Sent Events
// (GET /api/events): ?deviceId= narrows it to one device, ?types=a,b to
// some event types, and Last-Event-ID (or ?since=) resumes from the log.
// Each event is named by its type. A device key sees its own device's
// events, a test key those of sandbox devices.
func (s *Server) workspaceEvents(c *fiber.Ctx) error {
	p := principalOf(c)
	filter, err := s.eventFilterOf(c, p)
	if err != nil {
		return err
	}
	since, resume, err := resumePoint(c)
	if err != nil {
		return err
	}
	return s.serveSSE(c, s.newEventFeed(p, filter, since), resume, nil, eventTypeName)
}

// eventTypeName names an SSE frame by its event type.
func eventTypeName(typ string) string { return typ }

// eventFilter is what a workspace stream shows.
type eventFilter struct {
	deviceID int64    // 0: every device the caller sees
	types    []string // empty: every type
	// sandboxOnly keeps the events of live devices from test keys.
	sandboxOnly bool
}

// eventFilterOf reads a stream's ?deviceId= and ?types= for the caller.
func (s *Server) eventFilterOf(c *fiber.Ctx, p *principal) (eventFilter, error) {
	f := eventFilter{sandboxOnly: p.Kind == principalTest}
	if raw := c.Query("deviceId"); raw != "" {
		id, ok := parseID(raw)
		if !ok {
			return f, validationError("deviceId", "deviceId must be a device id (a positive integer)")
		}
		d, err := s.visibleDevice(c, p, id)
		if err != nil {
			return f, err
		}
		f.deviceID = d.ID
	} else if p.Kind == principalDevice {
		f.deviceID = p.DeviceID
	}
	types, err := actors.ParseEventTypes(c.Query("types"))
	if err != nil {
		return f, err
	}
	f.types = types
	return f, nil
}

// eventFeed is the source of one stream: the log after the resume point,
// then live events, each once and in seq order.
type eventFeed struct {
	s      *Server
	ws     int64
	filter eventFilter
	sub    *actors.Subscription
	last   uint64         // seq of the last event passed on (or skipped)
	engine map[int64]bool // sandboxOnly: device → is a sandbox device
}

func (s *Server) newEventFeed(p *principal, f eventFilter, since uint64) *eventFeed {
	return &eventFeed{s: s, ws: p.WorkspaceID, filter: f, last: since, engine: map[int64]bool{}}
}

// subscribe starts receiving live events; it comes before the replay, so
// that no event falls between the two.
func (f *eventFeed) subscribe() {
	f.sub = f.s.gw.Subscribe(f.ws, actors.SubscribeFilter{DeviceID: f.filter.deviceID, Types: f.filter.types})
}

func (f *eventFeed) close() {
	if f.sub != nil {
		f.sub.Close()
	}
}

// accept reports whether e is new (after the last seq passed on) and for
// this stream.
func (f *eventFeed) accept(e storage.Event) bool {
	if e.Seq <= f.last {
		return false
	}
	f.last = e.Seq
	return f.visible(e)
}

func (f *eventFeed) visible(e storage.Event) bool {
	if f.filter.deviceID != 0 && e.DeviceID != f.filter.deviceID {
		return false
	}
	if len(f.filter.types) > 0 && !slices.Contains(f.filter.types, e.Type) {
		return false
	}
	if !f.filter.sandboxOnly || e.DeviceID == 0 {
		return true
	}
	sandbox, known := f.engine[e.DeviceID]
	if !known {
		d, err := f.s.gw.Device(context.Background(), f.ws, e.DeviceID)
		sandbox = err == nil && d.Engine == engineSim
		f.engine[e.DeviceID] = sandbox
	}
	return sandbox
}

// replay writes the logged events after the resume point, a page at a
// time, flushing after each page. It stops at the end of the log, or with
// an error when writing fails or ctx ends.
func (f *eventFeed) replay(ctx context.Context, write func(storage.Event) error, flush func() error) error {
	for {
		evs, err := f.s.db.ReadEvents(f.ws, f.last, replayPage)
		if err != nil {
			f.s.log.Warn("event replay failed", "workspaceId", f.ws, "after", f.last, "err", err)
			return err
		}
		for _, e := range evs {
			if f.accept(e) {
				if err := write(e); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(evs) < replayPage {
			return nil
		}
	}
}
