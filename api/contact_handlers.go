package api

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Contacts, chats, presence and groups (API.md §5). Each acts on one
// device, named by deviceId (query or body; a device key may leave it out)
// and, but for the chat list, asks the device's WhatsApp session, so the
// device must be connected.

// maxCheckPhones bounds one on-WhatsApp check.
const maxCheckPhones = 50

// queryDevice resolves ?deviceId= to a visible device.
func (s *Server) queryDevice(c *fiber.Ctx) (storage.Device, error) {
	p := principalOf(c)
	var id flexID
	if raw := c.Query("deviceId"); raw != "" {
		id.Present = true
		id.Value, id.Valid = parseID(raw)
	}
	deviceID, err := requestedDevice(p, id, "deviceId")
	if err != nil {
		return storage.Device{}, err
	}
	return s.visibleDevice(c, p, deviceID)
}

// bodyDevice resolves a body's deviceId to a visible device.
func (s *Server) bodyDevice(c *fiber.Ctx, id flexID) (storage.Device, error) {
	p := principalOf(c)
	deviceID, err := requestedDevice(p, id, "deviceId")
	if err != nil {
		return storage.Device{}, err
	}
	return s.visibleDevice(c, p, deviceID)
}

type contactDTO struct {
	JID          string `json:"jid"`
	Phone        string `json:"phone,omitempty"`
	LID          string `json:"lid,omitempty"`
	Name         string `json:"name,omitempty"`
	PushName     string `json:"pushName,omitempty"`
	BusinessName string `json:"businessName,omitempty"`
}

// listContacts lists the device's contacts.
func (s *Server) listContacts(c *fiber.Ctx) error {
	d, err := s.queryDevice(c)
	if err != nil {
		return err
	}
	return s.respondContacts(c, d)
}

// respondContacts answers d's contacts, on every surface.
func (s *Server) respondContacts(c *fiber.Ctx, d storage.Device) error {
	contacts, err := s.gw.Contacts(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	items := make([]contactDTO, len(contacts))
	for i, ct := range contacts {
		items[i] = contactDTO{JID: ct.JID.String(), Phone: ct.Phone, LID: ct.LID, Name: ct.Name, PushName: ct.PushName, BusinessName: ct.BusinessName}
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

type phoneCheckDTO struct {
	Phone      string  `json:"phone"`
	OnWhatsApp bool    `json:"onWhatsApp"`
	JID        *string `json:"jid"`
}

// checkContacts tells which phone numbers are on WhatsApp.
func (s *Server) checkContacts(c *fiber.Ctx) error {
	d, err := s.queryDevice(c)
	if err != nil {
		return err
	}
	var phones []string
	for _, p := range strings.Split(c.Query("phones"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			phones = append(phones, p)
		}
	}
	if len(phones) == 0 || len(phones) > maxCheckPhones {
		return validationError("phones", "phones must list 1 to 50 phone numbers, separated by commas")
	}
	normalized := make([]string, len(phones))
	for i, p := range phones {
		n, err := engine.NormalizePhone(p)
		if err != nil {
			return validationError("phones", "phones must be phone numbers with country code: "+p)
		}
		normalized[i] = n
	}
	checks, err := s.gw.CheckPhones(c.UserContext(), d.WorkspaceID, d.ID, normalized)
	if err != nil {
		return err
	}
	items := make([]phoneCheckDTO, len(checks))
	for i, ch := range checks {
		items[i] = phoneCheckDTO{Phone: ch.Phone, OnWhatsApp: ch.OnWhatsApp}
		if !ch.JID.IsZero() {
			items[i].JID = nullString(ch.JID.String())
		}
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

type avatarDTO struct {
	JID string `json:"jid"`
	URL string `json:"url"`
	ID  string `json:"id"`
}

// contactAvatar returns the profile picture of a user or group.
func (s *Server) contactAvatar(c *fiber.Ctx) error {
	d, err := s.queryDevice(c)
	if err != nil {
		return err
	}
	raw, err := url.PathUnescape(c.Params("jid"))
	if err != nil {
		return validationError("jid", "jid must be a phone number or a JID")
	}
	jid, err := engine.ParseRecipient(raw)
	if err != nil {
		return err
	}
	av, err := s.gw.Avatar(c.UserContext(), d.WorkspaceID, d.ID, jid)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, avatarDTO{JID: jid.String(), URL: av.URL, ID: av.ID})
}
