package api

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Per-device admission limits a client may set.
const (
	maxRateLimit     = 1000
	maxWindowSeconds = 86400
)

// pacingProfiles are the anti-ban profiles of actors/pacing.
var pacingProfiles = map[string]bool{"off": true, "balanced": true, "careful": true}

type rateLimitRequest struct {
	Limit         *int `json:"limit"`
	WindowSeconds *int `json:"windowSeconds"`
}

// validate checks the limit and turns it into its stored form.
func (r *rateLimitRequest) validate() (*storage.RateLimit, error) {
	if r.Limit == nil {
		return nil, validationError("rateLimit.limit", "rateLimit.limit is required")
	}
	if *r.Limit < 1 || *r.Limit > maxRateLimit {
		return nil, validationError("rateLimit.limit", fmt.Sprintf("rateLimit.limit must be between 1 and %d", maxRateLimit))
	}
	if r.WindowSeconds == nil {
		return nil, validationError("rateLimit.windowSeconds", "rateLimit.windowSeconds is required")
	}
	if *r.WindowSeconds < 1 || *r.WindowSeconds > maxWindowSeconds {
		return nil, validationError("rateLimit.windowSeconds", fmt.Sprintf("rateLimit.windowSeconds must be between 1 and %d", maxWindowSeconds))
	}
	return &storage.RateLimit{Limit: *r.Limit, WindowSeconds: *r.WindowSeconds}, nil
}

// validDeviceName trims a device name and checks its length.
func validDeviceName(raw string) (string, error) {
	name, n := trimmedLen(raw)
	if n == 0 || n > maxObjectName {
		return "", validationError("name", fmt.Sprintf("name is required (1 to %d characters)", maxObjectName))
	}
	return name, nil
}

type createDeviceRequest struct {
	Name      string            `json:"name"`
	Engine    string            `json:"engine"`
	RateLimit *rateLimitRequest `json:"rateLimit"`
}

type createdDeviceDTO struct {
	Device             deviceDTO `json:"device"`
	DeviceAPIKey       string    `json:"deviceApiKey"`
	DeviceAPIKeyPrefix string    `json:"deviceApiKeyPrefix"`
}

// createDevice stores a device with its device key (shown this once) and
// starts its actor, not connected.
func (s *Server) createDevice(c *fiber.Ctx) error {
	p := principalOf(c)
	var req createDeviceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := validDeviceName(req.Name)
	if err != nil {
		return err
	}
	eng := req.Engine
	switch {
	case eng == "" && p.Kind == principalTest:
		eng = engineSim
	case eng == "":
		eng = engineWhatsmeow
	case eng != engineSim && eng != engineWhatsmeow:
		return errUnknownEngine
	case p.Kind == principalTest && eng != engineSim:
		return errEngineNotAllowed
	}
	var limit *storage.RateLimit
	if req.RateLimit != nil {
		if limit, err = req.RateLimit.validate(); err != nil {
			return err
		}
	}
	key, err := auth.NewDeviceKey(p.WorkspaceID)
	if err != nil {
		return err
	}
	d, _, err := s.gw.CreateDevice(c.UserContext(), p.WorkspaceID,
		actors.DeviceSpec{Name: name, Engine: eng, RateLimit: limit},
		storage.APIKey{
			WorkspaceID: p.WorkspaceID,
			Kind:        storage.KeyDevice,
			Name:        "device " + name,
			Prefix:      key.Prefix,
			Hash:        key.Hash,
			CreatedAt:   s.now().UTC(),
		})
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusCreated, createdDeviceDTO{
		Device:             newDeviceDTO(d),
		DeviceAPIKey:       key.Secret,
		DeviceAPIKeyPrefix: key.Prefix,
	})
}

// listDevices lists the devices the caller can see.
func (s *Server) listDevices(c *fiber.Ctx) error {
	p := principalOf(c)
	devices, err := s.gw.Devices(c.UserContext(), p.WorkspaceID)
	if err != nil {
		return err
	}
	items := make([]deviceDTO, 0, len(devices))
	for _, d := range devices {
		if p.seesDevice(d) {
			items = append(items, newDeviceDTO(d))
		}
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

func (s *Server) getDevice(c *fiber.Ctx) error {
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newDeviceDTO(d))
}

type updateDeviceRequest struct {
	Name      *string           `json:"name"`
	RateLimit *rateLimitRequest `json:"rateLimit"`
	Pacing    *string           `json:"pacing"`
}

// updateDevice changes a device's name, rate limit or pacing profile;
// fields left out stay as they are.
func (s *Server) updateDevice(c *fiber.Ctx) error {
	d, err := s.ownedDeviceParam(c)
	if err != nil {
		return err
	}
	var req updateDeviceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var patch actors.DevicePatch
	if req.Name != nil {
		name, err := validDeviceName(*req.Name)
		if err != nil {
			return err
		}
		patch.Name = &name
	}
	if req.RateLimit != nil {
		limit, err := req.RateLimit.validate()
		if err != nil {
			return err
		}
		patch.RateLimit = limit
	}
	if req.Pacing != nil {
		if !pacingProfiles[*req.Pacing] {
			return validationError("pacing", "pacing must be off, balanced or careful")
		}
		patch.Pacing = req.Pacing
	}
	d, err = s.gw.UpdateDevice(c.UserContext(), d.WorkspaceID, d.ID, patch)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newDeviceDTO(d))
}

// deleteDevice logs the device out and deletes it with its key and messages.
func (s *Server) deleteDevice(c *fiber.Ctx) error {
	d, err := s.ownedDeviceParam(c)
	if err != nil {
		return err
	}
	if err := s.gw.DeleteDevice(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		return err
	}
	s.usage.forget(d.KeyID)
	return respond(c, fiber.StatusOK, deletedDTO{Deleted: true})
}

// connectDevice starts connecting; progress arrives as events, hence 202.
func (s *Server) connectDevice(c *fiber.Ctx) error {
	return s.deviceAction(c, fiber.StatusAccepted, s.gw.Connect)
}

func (s *Server) disconnectDevice(c *fiber.Ctx) error {
	return s.deviceAction(c, fiber.StatusOK, s.gw.Disconnect)
}

func (s *Server) logoutDevice(c *fiber.Ctx) error {
	return s.deviceAction(c, fiber.StatusOK, s.gw.Logout)
}

// deviceActionFunc is a gateway call that acts on one device and returns it.
type deviceActionFunc = func(ctx context.Context, ws, id int64) (storage.Device, error)

// deviceAction runs act on the {id} device and answers with the device.
func (s *Server) deviceAction(c *fiber.Ctx, status int, act deviceActionFunc) error {
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	d, err = act(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	return respond(c, status, newDeviceDTO(d))
}

type regeneratedDeviceKeyDTO struct {
	DeviceAPIKey       string `json:"deviceApiKey"`
	DeviceAPIKeyPrefix string `json:"deviceApiKeyPrefix"`
}

// regenerateDeviceKey replaces the device's key; the old one stops working
// at once and the new one is shown this once.
func (s *Server) regenerateDeviceKey(c *fiber.Ctx) error {
	d, err := s.ownedDeviceParam(c)
	if err != nil {
		return err
	}
	old, err := s.db.GetKey(d.WorkspaceID, d.KeyID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		old = storage.APIKey{ID: d.KeyID, WorkspaceID: d.WorkspaceID, DeviceID: d.ID, Kind: storage.KeyDevice, Name: "device " + d.Name}
	case err != nil:
		return fmt.Errorf("load device key: %w", err)
	}
	secret, replaced, err := s.replaceKey(old)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, regeneratedDeviceKeyDTO{DeviceAPIKey: secret, DeviceAPIKeyPrefix: replaced.Prefix})
}

// deviceQR answers the QR code to scan now, as JSON with a PNG data URL or,
// with ?format=png, as the PNG itself.
func (s *Server) deviceQR(c *fiber.Ctx) error {
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	format := c.Query("format", "json")
	if format != "json" && format != "png" {
		return validationError("format", "format must be json or png")
	}
	qr, err := s.gw.QR(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	if format == "png" {
		png, err := qrPNG(qr.Code)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderContentType, "image/png")
		return c.Send(png)
	}
	dto, err := newQRDTO(qr.Code, qr.ExpiresAt)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return respond(c, fiber.StatusOK, dto)
}

type pairCodeRequest struct {
	Phone string `json:"phone"`
}

type pairCodeDTO struct {
	Code string `json:"code"`
}

// pairCode asks for a code to type on the phone instead of scanning.
func (s *Server) pairCode(c *fiber.Ctx) error {
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	var req pairCodeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Phone == "" {
		return validationError("phone", "phone is required")
	}
	phone, err := engine.NormalizePhone(req.Phone)
	if err != nil {
		return validationError("phone", "phone must be a phone number with country code, digits only")
	}
	code, err := s.gw.PairPhone(c.UserContext(), d.WorkspaceID, d.ID, phone)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, pairCodeDTO{Code: code})
}
