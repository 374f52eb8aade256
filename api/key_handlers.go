package api

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/api/auth"
	"github.com/wa-gateway/wa-gateway/storage"
)

// listKeys lists the workspace's keys by prefix, device keys included. A
// test key sees test keys and the keys of sandbox devices only.
func (s *Server) listKeys(c *fiber.Ctx) error {
	p := principalOf(c)
	keys, err := s.db.ListKeys(p.WorkspaceID)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	devices, err := s.gw.Devices(c.UserContext(), p.WorkspaceID)
	if err != nil {
		return err
	}
	engines := make(map[int64]string, len(devices))
	for _, d := range devices {
		engines[d.ID] = d.Engine
	}
	items := make([]keyDTO, 0, len(keys))
	for _, k := range keys {
		mode := keyMode(k, engines[k.DeviceID])
		if p.Kind == principalTest && mode != modeTest {
			continue
		}
		items = append(items, newKeyDTO(k, mode, s.usage.lastUsed(k.ID, k.LastUsedAt)))
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

// keyMode is live or test: a device key takes the mode of its device.
func keyMode(k storage.APIKey, deviceEngine string) string {
	switch k.Kind {
	case storage.KeyTest:
		return modeTest
	case storage.KeyDevice:
		if deviceEngine == engineSim {
			return modeTest
		}
	}
	return modeLive
}

type createKeyRequest struct {
	Name string `json:"name"`
	Mode string `json:"mode"`
}

type createdKeyDTO struct {
	keyDTO
	APIKey string `json:"apiKey"`
}

// createKey makes a workspace key and shows it this once.
func (s *Server) createKey(c *fiber.Ctx) error {
	p := principalOf(c)
	var req createKeyRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, n := trimmedLen(req.Name)
	if n == 0 || n > maxObjectName {
		return validationError("name", fmt.Sprintf("name is required (1 to %d characters)", maxObjectName))
	}
	var kind auth.Kind
	switch req.Mode {
	case modeLive:
		kind = auth.KindLive
	case modeTest:
		kind = auth.KindTest
	case "":
		return validationError("mode", "mode is required: live or test")
	default:
		return validationError("mode", "mode must be live or test")
	}
	if p.Kind == principalTest && kind != auth.KindTest {
		return errTestKeyForbidden
	}
	key, err := auth.NewWorkspaceKey(kind)
	if err != nil {
		return err
	}
	stored, err := s.db.CreateKey(storage.APIKey{
		WorkspaceID: p.WorkspaceID,
		Kind:        storage.KeyKind(kind),
		Name:        name,
		Prefix:      key.Prefix,
		Hash:        key.Hash,
		CreatedAt:   s.now().UTC(),
	})
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return respond(c, fiber.StatusCreated, createdKeyDTO{
		keyDTO: newKeyDTO(stored, req.Mode, stored.LastUsedAt),
		APIKey: key.Secret,
	})
}

// deleteKey deletes a workspace key, the calling one included. Device keys
// live and die with their device.
func (s *Server) deleteKey(c *fiber.Ctx) error {
	p := principalOf(c)
	id, ok := pathID(c)
	if !ok {
		return errKeyNotFound
	}
	k, err := s.db.GetKey(p.WorkspaceID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return errKeyNotFound
	}
	if err != nil {
		return fmt.Errorf("load key: %w", err)
	}
	if p.Kind == principalTest {
		deviceEngine := ""
		if k.Kind == storage.KeyDevice {
			if d, err := s.gw.Device(c.UserContext(), p.WorkspaceID, k.DeviceID); err == nil {
				deviceEngine = d.Engine
			}
		}
		if keyMode(k, deviceEngine) != modeTest {
			return errKeyNotFound
		}
	}
	if k.Kind == storage.KeyDevice {
		return errDeviceKeyDelete
	}
	if err := s.db.DeleteKey(p.WorkspaceID, id); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errKeyNotFound
		}
		return fmt.Errorf("delete key: %w", err)
	}
	s.usage.forget(id)
	return respond(c, fiber.StatusOK, deletedDTO{Deleted: true})
}

// newKeySecret generates a key of the given kind for workspace ws.
func newKeySecret(kind storage.KeyKind, ws int64) (auth.Key, error) {
	if kind == storage.KeyDevice {
		return auth.NewDeviceKey(ws)
	}
	return auth.NewWorkspaceKey(auth.Kind(kind))
}

// replaceKey swaps old for a new key of the same kind, name and device, in
// one write: the old key stops working at once. It returns the new secret.
func (s *Server) replaceKey(old storage.APIKey) (string, storage.APIKey, error) {
	key, err := newKeySecret(old.Kind, old.WorkspaceID)
	if err != nil {
		return "", storage.APIKey{}, err
	}
	replaced, err := s.db.ReplaceKey(old.WorkspaceID, old.ID, storage.APIKey{
		WorkspaceID: old.WorkspaceID,
		DeviceID:    old.DeviceID,
		Kind:        old.Kind,
		Name:        old.Name,
		Prefix:      key.Prefix,
		Hash:        key.Hash,
		CreatedAt:   s.now().UTC(),
	})
	if err != nil {
		return "", storage.APIKey{}, fmt.Errorf("replace key: %w", err)
	}
	s.usage.forget(old.ID)
	return key.Secret, replaced, nil
}
