package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// maxSendWait bounds ?wait=true.
const maxSendWait = 60 * time.Second

// messageStatuses are the states a message can be listed by.
var messageStatuses = map[string]bool{
	"queued": true, "sent": true, "delivered": true, "read": true,
	"played": true, "failed": true, "received": true,
}

// statusQueued is the state of an admitted message not yet sent.
const statusQueued = "queued"

// maxTestKeyScan bounds how many messages a test-key listing reads to fill
// one page with sandbox messages; the page may then come back short, with a
// cursor to go on.
const maxTestKeyScan = 10 * maxListLimit

type sendTextRequest struct {
	DeviceID    flexID   `json:"deviceId"`
	To          string   `json:"to"`
	Text        string   `json:"text"`
	QuotedID    string   `json:"quotedId"`
	Mentions    []string `json:"mentions"`
	LinkPreview bool     `json:"linkPreview"`
	Wait        bool     `json:"wait"`
}

// sendText admits a text message: validated, rate limited, stored as queued
// (202). With wait it answers once the message is sent or failed (200), or,
// after at most a minute, still queued (202).
func (s *Server) sendText(c *fiber.Ctx) error {
	p := principalOf(c)
	var req sendTextRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	deviceID, to, err := s.sendTarget(c, p, req.DeviceID, req.To)
	if err != nil {
		return err
	}
	if err := textField("text", req.Text); err != nil {
		return err
	}
	mentions, err := parseMentions(req.Mentions)
	if err != nil {
		return err
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID:    deviceID,
		To:          to,
		Type:        engine.TypeText,
		Text:        req.Text,
		QuotedID:    strings.TrimSpace(req.QuotedID),
		Mentions:    mentions,
		LinkPreview: req.LinkPreview,
	})
}

// sendTarget reads the device and recipient every send names, and checks
// that a test key sees the device.
func (s *Server) sendTarget(c *fiber.Ctx, p *principal, id flexID, rawTo string) (int64, engine.JID, error) {
	deviceID, err := requestedDevice(p, id, "deviceId")
	if err != nil {
		return 0, engine.JID{}, err
	}
	to, err := recipientField("to", rawTo)
	if err != nil {
		return 0, engine.JID{}, err
	}
	if p.Kind == principalTest {
		if _, err := s.visibleDevice(c, p, deviceID); err != nil {
			return 0, engine.JID{}, err
		}
	}
	return deviceID, to, nil
}

// admit hands a validated send to the device (rate limit, durable queue)
// and answers 202 with the queued message, or with wait 200 once it is
// sent or failed. Every send kind ends here.
func (s *Server) admit(c *fiber.Ctx, p *principal, wait bool, req actors.SendRequest) error {
	res, err := s.actorsSend(c, p.WorkspaceID, req)
	if err != nil {
		return err
	}
	setRateLimitHeaders(c, res.Limit)
	msg := res.Message
	if wait || c.QueryBool("wait") {
		msg = s.waitSent(p.WorkspaceID, msg)
	}
	status := fiber.StatusOK
	if msg.Status == statusQueued {
		status = fiber.StatusAccepted
	}
	return respond(c, status, newMessageDTO(msg))
}

// waitSent waits until an admitted message is sent or failed, for at most
// maxSendWait or until shutdown. The message is already stored, so a wait
// that ends otherwise answers it as still queued rather than as an error a
// client would retry (and send twice).
func (s *Server) waitSent(ws int64, queued storage.Message) storage.Message {
	ctx, cancel := context.WithTimeout(s.stopCtx, maxSendWait)
	defer cancel()
	m, err := s.gw.WaitSent(ctx, ws, queued.ID)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		s.log.Warn("waiting for a send failed", "messageId", queued.ID, "err", err)
	}
	if m.ID == "" {
		return queued
	}
	return m
}

// requestedDevice is the device a request names in field. Device keys need
// not name theirs; naming another is naming one that does not exist.
func requestedDevice(p *principal, id flexID, field string) (int64, error) {
	if id.Present && !id.Valid {
		return 0, validationError(field, field+" must be a device id (a positive integer)")
	}
	if p.Kind == principalDevice {
		if id.Present && id.Value != p.DeviceID {
			return 0, actors.ErrDeviceNotFound
		}
		return p.DeviceID, nil
	}
	if !id.Present {
		return 0, validationError(field, field+" is required")
	}
	return id.Value, nil
}

// listMessages lists messages newest first, filtered by device, chat,
// direction and status.
func (s *Server) listMessages(c *fiber.Ctx) error {
	p := principalOf(c)
	var id flexID
	if raw := c.Query("deviceId"); raw != "" {
		id.Present = true
		id.Value, id.Valid = parseID(raw)
	}
	var deviceID int64
	if p.Kind == principalDevice || id.Present {
		var err error
		if deviceID, err = requestedDevice(p, id, "deviceId"); err != nil {
			return err
		}
		if _, err := s.visibleDevice(c, p, deviceID); err != nil {
			return err
		}
	}
	f, err := messageFilterQuery(c)
	if err != nil {
		return err
	}
	f.DeviceID = deviceID
	return s.respondMessages(c, p, f)
}

// messageFilterQuery reads the filters every message listing shares:
// chat, direction, status, limit and cursor. The device is the caller's to set.
func messageFilterQuery(c *fiber.Ctx) (storage.MessageFilter, error) {
	f := storage.MessageFilter{Cursor: c.Query("cursor")}
	var err error
	if f.Limit, err = listLimit(c); err != nil {
		return f, err
	}
	if chat := c.Query("chat"); chat != "" {
		jid, err := engine.ParseRecipient(chat)
		if err != nil {
			return f, err
		}
		f.Chat = jid.String()
	}
	switch f.Direction = c.Query("direction"); f.Direction {
	case "", "in", "out":
	default:
		return f, validationError("direction", "direction must be in or out")
	}
	if f.Status = c.Query("status"); f.Status != "" && !messageStatuses[f.Status] {
		return f, validationError("status", "status must be one of queued, sent, delivered, read, played, failed, received")
	}
	return f, nil
}

// respondMessages answers one page of the messages f selects, among those
// p can see.
func (s *Server) respondMessages(c *fiber.Ctx, p *principal, f storage.MessageFilter) error {
	var (
		msgs []storage.Message
		next string
		err  error
	)
	if p.Kind == principalTest && f.DeviceID == 0 {
		msgs, next, err = s.sandboxMessages(c, p, f)
	} else {
		msgs, next, err = s.gw.Messages(c.UserContext(), p.WorkspaceID, f)
	}
	if err != nil {
		return err
	}
	items := make([]messageDTO, len(msgs))
	for i, m := range msgs {
		items[i] = newMessageDTO(m)
	}
	return respond(c, fiber.StatusOK, newListDTO(items, next))
}

// sandboxMessages pages through the workspace's messages keeping those of
// sandbox devices, for a test key that named no device. Each read asks for
// no more than the page still lacks, so the cursor it returns is exact.
func (s *Server) sandboxMessages(c *fiber.Ctx, p *principal, f storage.MessageFilter) ([]storage.Message, string, error) {
	devices, err := s.gw.Devices(c.UserContext(), p.WorkspaceID)
	if err != nil {
		return nil, "", err
	}
	sandbox := make(map[int64]bool, len(devices))
	for _, d := range devices {
		sandbox[d.ID] = d.Engine == engineSim
	}
	limit := f.Limit
	out := make([]storage.Message, 0, limit)
	for scanned := 0; len(out) < limit && scanned < maxTestKeyScan; {
		f.Limit = limit - len(out)
		page, next, err := s.gw.Messages(c.UserContext(), p.WorkspaceID, f)
		if err != nil {
			return nil, "", err
		}
		scanned += len(page)
		for _, m := range page {
			if sandbox[m.DeviceID] {
				out = append(out, m)
			}
		}
		f.Cursor = next
		if next == "" || len(page) == 0 {
			return out, "", nil
		}
	}
	return out, f.Cursor, nil
}

// getMessage returns one message the caller can see.
func (s *Server) getMessage(c *fiber.Ctx) error {
	p := principalOf(c)
	m, err := s.gw.Message(c.UserContext(), p.WorkspaceID, c.Params("id"))
	if err != nil {
		return err
	}
	if p.Kind != principalLive && p.Kind != principalSession {
		if _, err := s.visibleDevice(c, p, m.DeviceID); err != nil {
			if errors.Is(err, actors.ErrDeviceNotFound) {
				return actors.ErrMessageNotFound
			}
			return err
		}
	}
	return respond(c, fiber.StatusOK, newMessageDTO(m))
}
