package api

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The accounts surface of the Device API Keys guide (/api/accounts):
// devices under the names the guide gives them. An account is a device; its provider is the
// engine, its displayName the device name, its status the device status in
// lower case. Every handler here runs on the devices' own code paths.

// accountQRWait bounds how long creating an account waits for the first QR
// code to return with it. Engines show one within a second or two; a slower
// one is still announced on the device's event stream.
const accountQRWait = 5 * time.Second

// providerBaileys is the guide's provider name, accepted as an alias of the
// default engine so that clients written for the guide keep working.
const providerBaileys = "baileys"

// accountStatus is a device status in the words of the accounts surface:
// lower case, and "connecting" for the whole way to connected, the wait for
// a scan included (qrCode is set meanwhile).
func accountStatus(status string) string {
	if status == actors.StatusScanQR {
		status = actors.StatusConnecting
	}
	return strings.ToLower(status)
}

type accountDTO struct {
	ID                     int64    `json:"id"`
	Provider               string   `json:"provider"`
	Status                 string   `json:"status"`
	DisplayName            string   `json:"displayName"`
	Phone                  *string  `json:"phone"`
	PushName               *string  `json:"pushName"`
	DeviceAPIKeyPrefix     string   `json:"deviceApiKeyPrefix"`
	DeviceAPIKeyLastUsedAt nullTime `json:"deviceApiKeyLastUsedAt"`
	CreatedAt              nullTime `json:"createdAt"`
	LastSeenAt             nullTime `json:"lastSeenAt"`
}

func newAccountDTO(d storage.Device, keyLastUsed time.Time) accountDTO {
	return accountDTO{
		ID:                     d.ID,
		Provider:               d.Engine,
		Status:                 accountStatus(d.Status),
		DisplayName:            d.Name,
		Phone:                  nullString(d.Phone),
		PushName:               nullString(d.PushName),
		DeviceAPIKeyPrefix:     d.KeyPrefix,
		DeviceAPIKeyLastUsedAt: nullTime(keyLastUsed),
		CreatedAt:              nullTime(d.CreatedAt),
		LastSeenAt:             nullTime(d.LastSeenAt),
	}
}

// accountDetailDTO is one account with the QR code to scan, while it waits
// for one (null otherwise).
type accountDetailDTO struct {
	accountDTO
	QRCode *string `json:"qrCode"`
}

// createdAccountDTO is a new account with its device key, shown this once.
type createdAccountDTO struct {
	accountDTO
	DeviceAPIKey string  `json:"deviceApiKey"`
	QRCode       *string `json:"qrCode"`
}

type createAccountRequest struct {
	Provider                  string `json:"provider"`
	DisplayName               string `json:"displayName"`
	BaileysDisclaimerAccepted bool   `json:"baileysDisclaimerAccepted"`
}

// accountEngine is the engine of a new account of p with the given provider.
func accountEngine(p *principal, provider string) (string, error) {
	switch provider {
	case "", engineWhatsmeow, engineSim:
		return deviceEngine(p, provider)
	case providerBaileys:
		return deviceEngine(p, engineWhatsmeow)
	}
	return "", validationError("provider", "provider must be whatsmeow, baileys or sim")
}

// createAccount creates a device with its key, starts connecting it and
// waits briefly for its first QR code, so that one answer carries both.
func (s *Server) createAccount(c *fiber.Ctx) error {
	p := principalOf(c)
	var req createAccountRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := validDeviceName("displayName", req.DisplayName)
	if err != nil {
		return err
	}
	eng, err := accountEngine(p, req.Provider)
	if err != nil {
		return err
	}
	if eng != engineSim && !req.BaileysDisclaimerAccepted {
		return errDisclaimerRequired
	}
	d, key, err := s.newDevice(c, p, actors.DeviceSpec{Name: name, Engine: eng})
	if err != nil {
		return err
	}
	d, qr := s.connectForQR(c, d)
	dto := createdAccountDTO{accountDTO: newAccountDTO(d, time.Time{}), DeviceAPIKey: key.Secret, QRCode: qr}
	if req.Provider != "" {
		dto.Provider = req.Provider // the guide's clients see the provider they asked for
	}
	return respond(c, fiber.StatusCreated, dto)
}

// connectForQR connects d and returns it as it then is, with its first QR
// code as a PNG data URL if one came within accountQRWait. It cannot fail:
// the device exists and its key is shown only in this answer, so a failed
// connect is reported by the device's status, not by losing the key.
func (s *Server) connectForQR(c *fiber.Ctx, d storage.Device) (storage.Device, *string) {
	// Subscribed before connecting, so that the first QR cannot slip by.
	sub := s.gw.Subscribe(d.WorkspaceID, actors.SubscribeFilter{
		DeviceID: d.ID,
		Types:    []string{actors.EventDeviceQR, actors.EventDeviceStatus},
	})
	defer sub.Close()
	var qr *string
	if _, err := s.gw.Connect(c.UserContext(), d.WorkspaceID, d.ID); err != nil {
		s.log.Warn("connect new account", "deviceId", d.ID, "requestId", requestID(c), "err", err)
	} else {
		ctx, cancel := context.WithTimeout(s.stopCtx, accountQRWait)
		qr = s.awaitQR(ctx, sub, d)
		cancel()
	}
	if cur, err := s.gw.Device(c.UserContext(), d.WorkspaceID, d.ID); err == nil {
		d = cur
	}
	return d, qr
}

// awaitQR waits on sub for d's QR code until ctx ends or the device stops
// being on its way to a scan. A plugin may drop the QR event itself, so
// every event, and the end of the wait, is a cue to ask for the code. ctx
// bounds the wait, not the questions, which the gateway bounds itself.
func (s *Server) awaitQR(ctx context.Context, sub *actors.Subscription, d storage.Device) *string {
	ask := context.WithoutCancel(ctx)
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				return s.currentQR(ask, d)
			}
			if qr := s.currentQR(ask, d); qr != nil {
				return qr
			}
			if e.Type != actors.EventDeviceStatus {
				continue
			}
			cur, err := s.gw.Device(ask, d.WorkspaceID, d.ID)
			if err != nil || (cur.Status != actors.StatusConnecting && cur.Status != actors.StatusScanQR) {
				return nil // connected, failed, back to disconnected or gone: no QR to wait for
			}
		case <-ctx.Done():
			return s.currentQR(ask, d)
		}
	}
}

// currentQR is d's QR code to scan as a PNG data URL, or nil when the
// device is not waiting for a scan or cannot say.
func (s *Server) currentQR(ctx context.Context, d storage.Device) *string {
	qr, err := s.gw.QR(ctx, d.WorkspaceID, d.ID)
	if err != nil {
		if !errors.Is(err, actors.ErrNoQR) {
			s.log.Warn("read qr code", "deviceId", d.ID, "err", err)
		}
		return nil
	}
	dto, err := newQRDTO(qr.Code, qr.ExpiresAt)
	if err != nil {
		s.log.Warn("render qr code", "deviceId", d.ID, "err", err)
		return nil
	}
	return &dto.Image
}

// deviceKeysLastUsed maps the workspace's device keys to their last use.
func (s *Server) deviceKeysLastUsed(ws int64) (map[int64]time.Time, error) {
	keys, err := s.db.ListKeys(ws)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	used := make(map[int64]time.Time, len(keys))
	for _, k := range keys {
		if k.Kind == storage.KeyDevice {
			used[k.ID] = s.usage.lastUsed(k.ID, k.LastUsedAt)
		}
	}
	return used, nil
}

// deviceKeyLastUsed is the last use of d's key.
func (s *Server) deviceKeyLastUsed(d storage.Device) (time.Time, error) {
	k, err := s.db.GetKey(d.WorkspaceID, d.KeyID)
	if errors.Is(err, storage.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("load device key: %w", err)
	}
	return s.usage.lastUsed(k.ID, k.LastUsedAt), nil
}

// listAccounts lists the accounts the caller can see, as listDevices does.
func (s *Server) listAccounts(c *fiber.Ctx) error {
	p := principalOf(c)
	devices, err := s.gw.Devices(c.UserContext(), p.WorkspaceID)
	if err != nil {
		return err
	}
	used, err := s.deviceKeysLastUsed(p.WorkspaceID)
	if err != nil {
		return err
	}
	items := make([]accountDTO, 0, len(devices))
	for _, d := range devices {
		if p.seesDevice(d) {
			items = append(items, newAccountDTO(d, used[d.KeyID]))
		}
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

// getAccount returns one account, with its QR code while it waits for a scan.
func (s *Server) getAccount(c *fiber.Ctx) error {
	d, err := s.deviceParam(c)
	if err != nil {
		return err
	}
	used, err := s.deviceKeyLastUsed(d)
	if err != nil {
		return err
	}
	dto := accountDetailDTO{accountDTO: newAccountDTO(d, used)}
	if d.Status == actors.StatusScanQR {
		dto.QRCode = s.currentQR(c.UserContext(), d)
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	return respond(c, fiber.StatusOK, dto)
}

// deleteAccount deletes the device; its key is deleted with it.
func (s *Server) deleteAccount(c *fiber.Ctx) error {
	d, err := s.ownedDeviceParam(c)
	if err != nil {
		return err
	}
	if err := s.removeDevice(c, d); err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, deletedDTO{Deleted: true})
}

type regeneratedAccountKeyDTO struct {
	DeviceAPIKey string `json:"deviceApiKey"`
	Prefix       string `json:"prefix"`
}

// regeneratedKeyMessage is the guide's sentence for a regenerated key.
const regeneratedKeyMessage = "Device API key regenerated successfully"

// regenerateAccountKey replaces the device's key; the old one stops working
// at once. The answer carries a message beside data, as in the guide.
func (s *Server) regenerateAccountKey(c *fiber.Ctx) error {
	d, err := s.ownedDeviceParam(c)
	if err != nil {
		return err
	}
	secret, replaced, err := s.replaceDeviceKey(d)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusOK).JSON(struct {
		successEnvelope
		Message string `json:"message"`
	}{
		successEnvelope: successEnvelope{Success: true, Data: regeneratedAccountKeyDTO{DeviceAPIKey: secret, Prefix: replaced.Prefix}},
		Message:         regeneratedKeyMessage,
	})
}
