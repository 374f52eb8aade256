package api

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// maxTextBytes bounds a message text (and a caption).
const maxTextBytes = 65536

// sandboxMediaKinds are the media kinds a simulated contact can send.
var sandboxMediaKinds = map[string]engine.MessageType{
	"image":    engine.TypeImage,
	"video":    engine.TypeVideo,
	"audio":    engine.TypeAudio,
	"voice":    engine.TypeVoice,
	"document": engine.TypeDocument,
	"sticker":  engine.TypeSticker,
}

// sandboxFaults are the failures a sandbox device can be made to suffer.
var sandboxFaults = map[string]bool{
	engine.FaultDisconnect:     true,
	engine.FaultLogout:         true,
	engine.FaultBan:            true,
	engine.FaultStreamReplaced: true,
}

// sandboxActivities are what a simulated contact can do besides writing.
var sandboxActivities = map[string]bool{
	engine.ActivityTyping:    true,
	engine.ActivityRecording: true,
	engine.ActivityPaused:    true,
	engine.ActivityOnline:    true,
	engine.ActivityOffline:   true,
	engine.ActivityCall:      true,
	engine.ActivityVideoCall: true,
}

// sandboxDevice resolves {id} to a visible sandbox device.
func (s *Server) sandboxDevice(c *fiber.Ctx) (storage.Device, error) {
	d, err := s.deviceParam(c)
	if err != nil {
		return storage.Device{}, err
	}
	if d.Engine != engineSim {
		return storage.Device{}, actors.ErrNotSandbox
	}
	return d, nil
}

// sandboxScan plays the phone scanning the device's current QR code.
func (s *Server) sandboxScan(c *fiber.Ctx) error {
	d, err := s.sandboxDevice(c)
	if err != nil {
		return err
	}
	if err := s.gw.SandboxScan(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		return err
	}
	return s.respondDevice(c, d)
}

type sandboxMediaRequest struct {
	Kind     string `json:"kind"`
	URL      string `json:"url"`
	Base64   string `json:"base64"`
	Caption  string `json:"caption"`
	MimeType string `json:"mimetype"`
	FileName string `json:"filename"`
}

type sandboxInboundRequest struct {
	From     string               `json:"from"`
	Text     string               `json:"text"`
	PushName string               `json:"pushName"`
	Media    *sandboxMediaRequest `json:"media"`
}

type acceptedDTO struct {
	Accepted bool `json:"accepted"`
}

// sandboxContact parses who a simulated contact is: a phone number or a
// JID.
func sandboxContact(raw string) (engine.JID, error) {
	if strings.TrimSpace(raw) == "" {
		return engine.JID{}, validationError("from", "from is required")
	}
	return engine.ParseRecipient(raw)
}

// sandboxInbound delivers a message from a simulated contact. It arrives
// like any received message: stored, then a message.received event.
func (s *Server) sandboxInbound(c *fiber.Ctx) error {
	d, err := s.sandboxDevice(c)
	if err != nil {
		return err
	}
	var req sandboxInboundRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	from, err := sandboxContact(req.From)
	if err != nil {
		return err
	}
	if req.Media == nil && strings.TrimSpace(req.Text) == "" {
		return validationError("text", "text or media is required")
	}
	if len(req.Text) > maxTextBytes {
		return validationError("text", fmt.Sprintf("text must be at most %d bytes", maxTextBytes))
	}
	in := engine.SandboxInbound{From: from.String(), PushName: req.PushName, Text: req.Text}
	if req.Media != nil {
		media, caption, err := req.Media.decode()
		if err != nil {
			return err
		}
		in.Media = media
		if caption != "" {
			in.Text = caption
		}
	}
	if err := s.gw.SandboxInbound(c.UserContext(), d.WorkspaceID, d.ID, in); err != nil {
		return err
	}
	return respond(c, fiber.StatusAccepted, acceptedDTO{Accepted: true})
}

// decode checks inline sandbox media and returns it with its caption.
// Media by URL is refused: fetching it needs the private-address guard of
// the media sender, and a simulated contact gains nothing from a download.
func (m *sandboxMediaRequest) decode() (*engine.Media, string, error) {
	kind, ok := sandboxMediaKinds[m.Kind]
	if !ok {
		return nil, "", validationError("media.kind", "media.kind must be image, video, audio, voice, document or sticker")
	}
	if m.Base64 == "" {
		if m.URL != "" {
			return nil, "", errMediaByURL
		}
		return nil, "", validationError("media.base64", "media.base64 is required")
	}
	data, err := base64.StdEncoding.DecodeString(m.Base64)
	if err != nil {
		return nil, "", validationError("media.base64", "media.base64 must be standard base64")
	}
	if len(m.Caption) > maxTextBytes {
		return nil, "", validationError("media.caption", fmt.Sprintf("media.caption must be at most %d bytes", maxTextBytes))
	}
	mime := m.MimeType
	if mime == "" {
		mime = http.DetectContentType(data)
	}
	return &engine.Media{Kind: kind, MimeType: mime, Size: int64(len(data)), FileName: m.FileName, Data: data}, m.Caption, nil
}

type sandboxFaultRequest struct {
	Kind string `json:"kind"`
}

// sandboxFault injects a failure into a sandbox device's connection.
func (s *Server) sandboxFault(c *fiber.Ctx) error {
	d, err := s.sandboxDevice(c)
	if err != nil {
		return err
	}
	var req sandboxFaultRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !sandboxFaults[req.Kind] {
		return validationError("kind", "kind must be disconnect, logout, ban or stream_replaced")
	}
	if err := s.gw.SandboxFault(c.UserContext(), d.WorkspaceID, d.ID, req.Kind); err != nil {
		return err
	}
	return s.respondDevice(c, d)
}

// respondDevice answers with the device as it is now.
func (s *Server) respondDevice(c *fiber.Ctx, d storage.Device) error {
	d, err := s.gw.Device(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newDeviceDTO(d))
}

type sandboxActivityRequest struct {
	From  string `json:"from"`
	Kind  string `json:"kind"`
	Group string `json:"group"`
}

// sandboxActivity plays a simulated contact typing, recording, pausing,
// coming online, going offline or calling; the device emits chat.presence,
// presence.update or call.offer as it would for a real contact.
func (s *Server) sandboxActivity(c *fiber.Ctx) error {
	d, err := s.sandboxDevice(c)
	if err != nil {
		return err
	}
	var req sandboxActivityRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	from, err := sandboxContact(req.From)
	if err != nil {
		return err
	}
	if from.IsGroup() {
		return validationError("from", "from must be a contact (phone number or user JID), not a group")
	}
	if !sandboxActivities[req.Kind] {
		return validationError("kind", "kind must be typing, recording, paused, online, offline, call or video_call")
	}
	in := engine.SandboxActivity{From: from.String(), Kind: req.Kind}
	if req.Group != "" {
		g, err := engine.ParseRecipient(req.Group)
		if err != nil || !g.IsGroup() {
			return validationError("group", "group must be a group JID (…@g.us)")
		}
		switch req.Kind {
		case engine.ActivityTyping, engine.ActivityRecording, engine.ActivityPaused:
		default:
			return validationError("group", "group goes with typing, recording or paused only")
		}
		in.Group = g
	}
	if err := s.gw.SandboxActivity(c.UserContext(), d.WorkspaceID, d.ID, in); err != nil {
		return err
	}
	return respond(c, fiber.StatusAccepted, acceptedDTO{Accepted: true})
}
