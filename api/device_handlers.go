package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Per-device admission limits a client may set.
const (
	maxRateLimit     = 1000
	maxWindowSeconds = 86400
)

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

// validDeviceName trims a device name given in field and checks its length.
func validDeviceName(field, raw string) (string, error) {
	name, n := trimmedLen(raw)
	if n == 0 || n > maxObjectName {
		return "", validationError(field, fmt.Sprintf("%s is required (1 to %d characters)", field, maxObjectName))
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
	name, err := validDeviceName("name", req.Name)
	if err != nil {
		return err
	}
	eng, err := deviceEngine(p, req.Engine)
	if err != nil {
		return err
	}
	var limit *storage.RateLimit
	if req.RateLimit != nil {
		if limit, err = req.RateLimit.validate(); err != nil {
			return err
		}
	}
	d, key, err := s.newDevice(c, p, actors.DeviceSpec{Name: name, Engine: eng, RateLimit: limit})
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusCreated, createdDeviceDTO{
		Device:             newDeviceDTO(d),
		DeviceAPIKey:       key.Secret,
		DeviceAPIKeyPrefix: key.Prefix,
	})
}

// deviceEngine is the engine a new device of p runs on when requested is
// asked for: whatsmeow by default, sim always for test keys.
func deviceEngine(p *principal, requested string) (string, error) {
	switch {
	case requested == "" && p.Kind == principalTest:
		return engineSim, nil
	case requested == "":
		return engineWhatsmeow, nil
	case requested != engineSim && requested != engineWhatsmeow:
		return "", errUnknownEngine
	case p.Kind == principalTest && requested != engineSim:
		return "", errEngineNotAllowed
	}
	return requested, nil
}

// newDevice stores a device of p's workspace with a new device key and
// starts its actor, not connected. The key's secret is returned this once.
func (s *Server) newDevice(c *fiber.Ctx, p *principal, spec actors.DeviceSpec) (storage.Device, auth.Key, error) {
	key, err := auth.NewDeviceKey(p.WorkspaceID)
	if err != nil {
		return storage.Device{}, auth.Key{}, err
	}
	d, _, err := s.gw.CreateDevice(c.UserContext(), p.WorkspaceID, spec, storage.APIKey{
		WorkspaceID: p.WorkspaceID,
		Kind:        storage.KeyDevice,
		Name:        "device " + spec.Name,
		Prefix:      key.Prefix,
		Hash:        key.Hash,
		CreatedAt:   s.now().UTC(),
	})
	if err != nil {
		return storage.Device{}, auth.Key{}, err
	}
	return d, key, nil
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
	// Pacing is a profile name, or an object of settings merged into the
	// device's (pacing.Settings.Apply).
	Pacing json.RawMessage `json:"pacing"`
}

// updateDevice changes a device's name, rate limit or pacing (a profile,
// or settings); fields left out stay as they are. Everything is checked
// before anything is stored.
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
		name, err := validDeviceName("name", *req.Name)
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
		if patch.Pacing, err = pacingPatch(req.Pacing, actors.PacingSettings(d)); err != nil {
			return err
		}
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
	if err := s.removeDevice(c, d); err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, deletedDTO{Deleted: true})
}

// removeDevice deletes d with its key, messages and WhatsApp keys, and
// drops the key's pending last-use so that no later write resurrects it.
func (s *Server) removeDevice(c *fiber.Ctx, d storage.Device) error {
	if err := s.gw.DeleteDevice(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		return err
	}
	s.usage.forget(d.KeyID)
	return nil
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
	secret, replaced, err := s.replaceDeviceKey(d)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, regeneratedDeviceKeyDTO{DeviceAPIKey: secret, DeviceAPIKeyPrefix: replaced.Prefix})
}

// replaceDeviceKey gives d a new key in one write: the old one stops
// working at once. It returns the new secret, shown this once.
func (s *Server) replaceDeviceKey(d storage.Device) (string, storage.APIKey, error) {
	old, err := s.db.GetKey(d.WorkspaceID, d.KeyID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		old = storage.APIKey{ID: d.KeyID, WorkspaceID: d.WorkspaceID, DeviceID: d.ID, Kind: storage.KeyDevice, Name: "device " + d.Name}
	case err != nil:
		return "", storage.APIKey{}, fmt.Errorf("load device key: %w", err)
	}
	return s.replaceKey(old)
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

// pacingPatch reads the pacing field of a device update: a profile name
// ("careful", which resets every setting to the profile's) or an object of
// settings merged into the current ones ({"dailyCap": 100}; naming a
// profile there starts from its preset). It returns the patch as an object
// for the device's actor, after checking that current accepts it.
func pacingPatch(raw json.RawMessage, current pacing.Settings) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var patch json.RawMessage
	switch {
	case len(raw) > 0 && raw[0] == '"':
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, validationError("pacing", "pacing must be a profile name or an object of settings")
		}
		if _, err := pacing.ParseProfile(name); err != nil {
			return nil, validationError("pacing", "pacing must be off, balanced or careful (or an object of settings)")
		}
		patch, _ = json.Marshal(map[string]string{"profile": name})
	case len(raw) > 0 && raw[0] == '{':
		patch = raw
	default:
		return nil, validationError("pacing", "pacing must be a profile name (off, balanced, careful) or an object of settings")
	}
	if _, err := current.Apply(patch); err != nil {
		return nil, pacingError(err, patch)
	}
	return patch, nil
}

// pacingFields are the JSON names of pacing.Settings.
var pacingFields = sync.OnceValue(func() map[string]bool {
	fields := map[string]bool{}
	t := reflect.TypeFor[pacing.Settings]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" {
			fields[name] = true
		}
	}
	return fields
})

// pacingError turns an error of pacing.Settings.Apply into a
// validation_failed naming the setting at fault, pacing.<name>: of the
// settings the error names, the first the patch sets (a gapMin above the
// gapMax it leaves is the gapMin's fault), else the first; pacing when it
// names none.
func pacingError(err error, patch json.RawMessage) error {
	msg := strings.TrimPrefix(err.Error(), pacing.ErrBadSettings.Error()+": ")
	var sent map[string]json.RawMessage
	_ = json.Unmarshal(patch, &sent)
	var named []string
	for _, word := range strings.FieldsFunc(msg, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		if pacingFields()[word] || (sent[word] != nil && !slices.Contains(named, word)) {
			named = append(named, word)
		}
	}
	field := "pacing"
	for _, name := range named {
		if _, ok := sent[name]; ok {
			field += "." + name
			break
		}
	}
	if field == "pacing" && len(named) > 0 {
		field += "." + named[0]
	}
	return validationError(field, "pacing: "+strings.TrimPrefix(msg, "json: "))
}
