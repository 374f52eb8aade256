package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The messaging surface of the Device API Keys guide (/api/whatsapp): sends
// and history in the guide's words. A device key acts on its own device; a
// workspace key or a session names one in sessionId, by id or by name.
// Sends go through the same admission, rate-limit headers and lifecycle as
// /api/messages, media and contacts through the same code as send-media and
// /api/contacts; only the device must be connected for a send or the
// contacts, which the guide answers with 401 "Device not connected".

// sessionRef is the guide's sessionId: a device's id (a number or a numeric
// string) or its name. It never fails to decode, so that the handler can
// name the field in its validation error.
type sessionRef struct {
	Raw     string
	Present bool // given and not null or blank
	Invalid bool // given, but neither a string nor a number
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *sessionRef) UnmarshalJSON(b []byte) error {
	*r = sessionRef{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &r.Raw); err != nil {
			r.Invalid = true
		}
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			r.Invalid = true
			return nil
		}
		r.Raw = n.String()
	}
	r.Raw = strings.TrimSpace(r.Raw)
	r.Present = r.Invalid || r.Raw != ""
	return nil
}

// sessionQuery reads sessionId from the query string.
func sessionQuery(c *fiber.Ctx) sessionRef {
	raw := strings.TrimSpace(c.Query("sessionId"))
	return sessionRef{Raw: raw, Present: raw != ""}
}

// sessionDevice resolves the device a request on this surface acts on.
// A device key needs no sessionId; naming another device than its own is
// naming one that does not exist. Anything else must name one.
func (s *Server) sessionDevice(c *fiber.Ctx, p *principal, ref sessionRef) (storage.Device, error) {
	if ref.Invalid {
		return storage.Device{}, validationError("sessionId", "sessionId must be a device id or a device name")
	}
	if !ref.Present {
		if p.Kind == principalDevice {
			return s.visibleDevice(c, p, p.DeviceID)
		}
		return storage.Device{}, validationError("sessionId",
			"sessionId is required unless you use a device API key: the id or the name of the device")
	}
	if id, ok := parseID(ref.Raw); ok {
		d, err := s.visibleDevice(c, p, id)
		if !errors.Is(err, actors.ErrDeviceNotFound) {
			return d, err
		}
		// Not a visible id: a device may still be named so.
	}
	d, err := s.db.GetDeviceByName(p.WorkspaceID, ref.Raw)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Device{}, actors.ErrDeviceNotFound
	}
	if err != nil {
		return storage.Device{}, fmt.Errorf("look up device by name: %w", err)
	}
	if !p.seesDevice(d) {
		return storage.Device{}, actors.ErrDeviceNotFound
	}
	return d, nil
}

// connectedSession is sessionDevice for sends and contacts: the device
// must be connected.
func (s *Server) connectedSession(c *fiber.Ctx, p *principal, ref sessionRef) (storage.Device, error) {
	d, err := s.sessionDevice(c, p, ref)
	if err != nil {
		return d, err
	}
	if d.Status != actors.StatusConnected {
		return storage.Device{}, errSessionNotConnected
	}
	return d, nil
}

type whatsappSendRequest struct {
	SessionID sessionRef `json:"sessionId"`
	Recipient string     `json:"recipient"`
	Message   string     `json:"message"`
	Wait      bool       `json:"wait"`
}

// whatsappSend admits a text, as POST /api/messages/send-text does.
func (s *Server) whatsappSend(c *fiber.Ctx) error {
	p := principalOf(c)
	var req whatsappSendRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.connectedSession(c, p, req.SessionID)
	if err != nil {
		return err
	}
	to, err := recipientField("recipient", req.Recipient)
	if err != nil {
		return err
	}
	if err := textField("message", req.Message); err != nil {
		return err
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: d.ID,
		To:       to,
		Type:     engine.TypeText,
		Text:     req.Message,
	})
}

type whatsappMediaRequest struct {
	SessionID sessionRef `json:"sessionId"`
	Recipient string     `json:"recipient"`
	FileID    string     `json:"fileId"`
	URL       string     `json:"url"`
	Base64    string     `json:"base64"`
	Caption   string     `json:"caption"`
	FileName  string     `json:"filename"`
	MimeType  string     `json:"mimetype"`
	Wait      bool       `json:"wait"`
}

// The media sends: POST /api/messages/send-media with the kind in the path.
func (s *Server) whatsappSendImage(c *fiber.Ctx) error {
	return s.whatsappSendMedia(c, engine.TypeImage)
}

func (s *Server) whatsappSendDocument(c *fiber.Ctx) error {
	return s.whatsappSendMedia(c, engine.TypeDocument)
}

func (s *Server) whatsappSendVideo(c *fiber.Ctx) error {
	return s.whatsappSendMedia(c, engine.TypeVideo)
}

func (s *Server) whatsappSendAudio(c *fiber.Ctx) error {
	return s.whatsappSendMedia(c, engine.TypeAudio)
}

func (s *Server) whatsappSendMedia(c *fiber.Ctx, kind engine.MessageType) error {
	p := principalOf(c)
	var req whatsappMediaRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.connectedSession(c, p, req.SessionID)
	if err != nil {
		return err
	}
	to, err := recipientField("recipient", req.Recipient)
	if err != nil {
		return err
	}
	if err := checkMediaFields(kind, req.Caption, req.FileName, req.MimeType); err != nil {
		return err
	}
	send, err := s.mediaSend(c, p, d.ID, to, kind, req.Caption, mediaInput{
		URL: req.URL, Base64: req.Base64, FileID: req.FileID, MimeType: req.MimeType, FileName: req.FileName,
	})
	if err != nil {
		return err
	}
	return s.admit(c, p, req.Wait, send)
}

// whatsappContacts lists the device's contacts, as GET /api/contacts does.
// They come from its WhatsApp session, so it must be connected.
func (s *Server) whatsappContacts(c *fiber.Ctx) error {
	d, err := s.connectedSession(c, principalOf(c), sessionQuery(c))
	if err != nil {
		return err
	}
	return s.respondContacts(c, d)
}

// whatsappMessages lists the device's messages, newest first, with the
// filters of GET /api/messages.
func (s *Server) whatsappMessages(c *fiber.Ctx) error {
	p := principalOf(c)
	d, err := s.sessionDevice(c, p, sessionQuery(c))
	if err != nil {
		return err
	}
	f, err := messageFilterQuery(c)
	if err != nil {
		return err
	}
	f.DeviceID = d.ID
	return s.respondMessages(c, p, f)
}
