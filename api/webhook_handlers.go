package api

import (
	"encoding/base64"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Webhooks (API.md §6): endpoints that receive the workspace's events,
// signed, in seq order, at least once. Workspace keys and sessions manage
// them; device keys get 403 (the route table) and so do test keys, since
// a webhook receives live devices' events too.

const maxWebhookDescription = 500

type webhookDTO struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	DeviceID    *int64   `json:"deviceId"`
	Description string   `json:"description"`
	// Status is active or disabled; DisabledReason says why.
	Status         string  `json:"status"`
	DisabledReason *string `json:"disabledReason"`
	// PreviousSecretExpiresAt is the end of a rotation's overlap, while the
	// previous secret still signs.
	PreviousSecretExpiresAt nullTime `json:"previousSecretExpiresAt"`
	CreatedAt               nullTime `json:"createdAt"`
	UpdatedAt               nullTime `json:"updatedAt"`
}

// webhookSecretDTO is a webhook with its secret, shown once: when it is
// created and when the secret is rotated.
type webhookSecretDTO struct {
	webhookDTO
	Secret string `json:"secret"`
}

func newWebhookDTO(h storage.Webhook, now time.Time) webhookDTO {
	dto := webhookDTO{
		ID:          h.ID,
		URL:         h.URL,
		Events:      h.Events,
		Description: h.Description,
		Status:      "active",
		CreatedAt:   nullTime(h.CreatedAt),
		UpdatedAt:   nullTime(h.UpdatedAt),
	}
	if h.DeviceID != 0 {
		id := h.DeviceID
		dto.DeviceID = &id
	}
	if h.Disabled {
		dto.Status = "disabled"
		dto.DisabledReason = nullString(h.DisabledReason)
	}
	if h.PreviousSecret != "" && now.Before(h.PreviousSecretExpiresAt) {
		dto.PreviousSecretExpiresAt = nullTime(h.PreviousSecretExpiresAt)
	}
	return dto
}

type deliveryDTO struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	EventID   string `json:"eventId"`
	EventSeq  uint64 `json:"eventSeq"`
	EventType string `json:"eventType"`
	// LastSeq ends the range of an expired record (events EventSeq to
	// LastSeq were removed by retention before they could be sent).
	LastSeq       *uint64  `json:"lastSeq,omitempty"`
	Status        string   `json:"status"`
	Attempts      int      `json:"attempts"`
	Manual        bool     `json:"manual"`
	StatusCode    *int     `json:"statusCode"`
	LatencyMs     *int64   `json:"latencyMs"`
	Response      *string  `json:"response"`
	Error         *string  `json:"error"`
	CreatedAt     nullTime `json:"createdAt"`
	LastAttemptAt nullTime `json:"lastAttemptAt"`
	NextAttemptAt nullTime `json:"nextAttemptAt"`
}

func newDeliveryDTO(d storage.Delivery) deliveryDTO {
	dto := deliveryDTO{
		ID:            d.ID,
		WebhookID:     d.WebhookID,
		EventID:       d.EventID,
		EventSeq:      d.EventSeq,
		EventType:     d.EventType,
		Status:        d.Status,
		Attempts:      d.Attempts,
		Manual:        d.Manual,
		Response:      nullString(d.Response),
		Error:         nullString(d.Error),
		CreatedAt:     nullTime(d.CreatedAt),
		LastAttemptAt: nullTime(d.LastAttemptAt),
		NextAttemptAt: nullTime(d.NextAttemptAt),
	}
	if d.LastSeq != 0 {
		last := d.LastSeq
		dto.LastSeq = &last
	}
	if d.Attempts > 0 {
		code, ms := d.Code, d.LatencyMs
		if code != 0 {
			dto.StatusCode = &code
		}
		dto.LatencyMs = &ms
	}
	return dto
}

// webhookCaller refuses test keys (device keys never get here).
func webhookCaller(c *fiber.Ctx) (*principal, error) {
	p := principalOf(c)
	if p.Kind == principalTest {
		return nil, errTestKeyWebhooks
	}
	return p, nil
}

// webhookParam reads the {id} path parameter as one of the caller's
// webhooks.
func (s *Server) webhookParam(c *fiber.Ctx) (*principal, storage.Webhook, error) {
	p, err := webhookCaller(c)
	if err != nil {
		return nil, storage.Webhook{}, err
	}
	h, err := s.gw.Webhook(c.UserContext(), p.WorkspaceID, c.Params("id"))
	return p, h, err
}

type createWebhookRequest struct {
	URL         *string  `json:"url"`
	Events      []string `json:"events"`
	DeviceID    flexID   `json:"deviceId"`
	Description string   `json:"description"`
}

// createWebhook registers an endpoint; its secret is in the answer only.
func (s *Server) createWebhook(c *fiber.Ctx) error {
	p, err := webhookCaller(c)
	if err != nil {
		return err
	}
	var req createWebhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	switch {
	case req.URL == nil || *req.URL == "":
		return validationError("url", "url is required")
	case req.Events == nil:
		return validationError("events", `events is required: a list of event types, or ["*"] for all`)
	}
	spec := actors.WebhookSpec{URL: *req.URL, Events: req.Events}
	if spec.DeviceID, err = s.filterDevice(c, p, req.DeviceID); err != nil {
		return err
	}
	if spec.Description, err = webhookDescription(req.Description); err != nil {
		return err
	}
	h, err := s.gw.CreateWebhook(c.UserContext(), p.WorkspaceID, spec)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusCreated, webhookSecretDTO{webhookDTO: newWebhookDTO(h, s.now()), Secret: h.Secret})
}

// filterDevice checks a webhook's deviceId: absent or null is every
// device; otherwise a device the caller sees.
func (s *Server) filterDevice(c *fiber.Ctx, p *principal, id flexID) (int64, error) {
	switch {
	case !id.Present:
		return 0, nil
	case !id.Valid:
		return 0, validationError("deviceId", "deviceId must be a device id (a positive integer)")
	}
	d, err := s.visibleDevice(c, p, id.Value)
	return d.ID, err
}

func webhookDescription(raw string) (string, error) {
	d, n := trimmedLen(raw)
	if n > maxWebhookDescription {
		return "", validationError("description", "description must be at most 500 characters")
	}
	return d, nil
}

// listWebhooks lists the workspace's webhooks, oldest first, a page at a
// time (the cursor is the last id of the previous page).
func (s *Server) listWebhooks(c *fiber.Ctx) error {
	p, err := webhookCaller(c)
	if err != nil {
		return err
	}
	limit, err := listLimit(c)
	if err != nil {
		return err
	}
	after := ""
	if cur := c.Query("cursor"); cur != "" {
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil || !storage.IsWebhookID(string(raw)) {
			return storage.ErrBadCursor
		}
		after = string(raw)
	}
	hooks, err := s.gw.Webhooks(c.UserContext(), p.WorkspaceID)
	if err != nil {
		return err
	}
	now := s.now()
	items := []webhookDTO{}
	next := ""
	for _, h := range hooks {
		if h.ID <= after {
			continue
		}
		if len(items) == limit {
			next = base64.RawURLEncoding.EncodeToString([]byte(items[len(items)-1].ID))
			break
		}
		items = append(items, newWebhookDTO(h, now))
	}
	return respond(c, fiber.StatusOK, newListDTO(items, next))
}

func (s *Server) getWebhook(c *fiber.Ctx) error {
	_, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newWebhookDTO(h, s.now()))
}

type updateWebhookRequest struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	DeviceID    *flexID   `json:"deviceId"`
	Description *string   `json:"description"`
	Enabled     *bool     `json:"enabled"`
}

// updateWebhook changes the fields given; deviceId null means every
// device, and enabled true re-enables an endpoint that answered 410.
func (s *Server) updateWebhook(c *fiber.Ctx) error {
	p, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	var req updateWebhookRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	patch := actors.WebhookPatch{URL: req.URL, Events: req.Events, Enabled: req.Enabled}
	if req.URL != nil && *req.URL == "" {
		return validationError("url", "url must not be empty")
	}
	if req.DeviceID != nil {
		id, err := s.filterDevice(c, p, *req.DeviceID)
		if err != nil {
			return err
		}
		patch.DeviceID = &id
	}
	if req.Description != nil {
		d, err := webhookDescription(*req.Description)
		if err != nil {
			return err
		}
		patch.Description = &d
	}
	updated, err := s.gw.UpdateWebhook(c.UserContext(), p.WorkspaceID, h.ID, patch)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newWebhookDTO(updated, s.now()))
}

func (s *Server) deleteWebhook(c *fiber.Ctx) error {
	p, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	if err := s.gw.DeleteWebhook(c.UserContext(), p.WorkspaceID, h.ID); err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, deletedDTO{Deleted: true})
}

// testWebhook sends a webhook.test event now and answers with how the
// endpoint took it.
func (s *Server) testWebhook(c *fiber.Ctx) error {
	p, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	d, err := s.gw.TestWebhook(c.UserContext(), p.WorkspaceID, h.ID)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newDeliveryDTO(d))
}

type rotateSecretRequest struct {
	// OverlapSeconds is how long the current secret keeps signing next to
	// the new one (default 86400, at most 604800).
	OverlapSeconds *int64 `json:"overlapSeconds"`
}

// rotateWebhookSecret gives the webhook a new secret, shown this once.
func (s *Server) rotateWebhookSecret(c *fiber.Ctx) error {
	p, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	var req rotateSecretRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	overlap := actors.DefaultSecretOverlap
	if req.OverlapSeconds != nil {
		secs := *req.OverlapSeconds
		if secs < 0 || time.Duration(secs)*time.Second > actors.MaxSecretOverlap {
			return validationError("overlapSeconds", "overlapSeconds must be between 0 and 604800 (7 days)")
		}
		// 0 ends the overlap at once: the previous secret stops signing.
		overlap = max(time.Duration(secs)*time.Second, time.Nanosecond)
	}
	rotated, err := s.gw.RotateWebhookSecret(c.UserContext(), p.WorkspaceID, h.ID, overlap)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, webhookSecretDTO{webhookDTO: newWebhookDTO(rotated, s.now()), Secret: rotated.Secret})
}

// listDeliveries lists a webhook's deliveries newest first; ?status=
// narrows to one status.
func (s *Server) listDeliveries(c *fiber.Ctx) error {
	p, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	limit, err := listLimit(c)
	if err != nil {
		return err
	}
	status := c.Query("status")
	switch status {
	case "", storage.DeliveryPending, storage.DeliveryDelivered, storage.DeliveryFailed, storage.DeliveryExpired:
	default:
		return validationError("status", "status must be pending, delivered, failed or expired")
	}
	ds, next, err := s.gw.WebhookDeliveries(c.UserContext(), p.WorkspaceID, h.ID,
		storage.DeliveryFilter{Status: status, Limit: limit, Cursor: c.Query("cursor")})
	if err != nil {
		return err
	}
	items := make([]deliveryDTO, 0, len(ds))
	for _, d := range ds {
		items = append(items, newDeliveryDTO(d))
	}
	return respond(c, fiber.StatusOK, newListDTO(items, next))
}

// redeliver sends a delivery's event again now, with the same webhook-id.
func (s *Server) redeliver(c *fiber.Ctx) error {
	p, h, err := s.webhookParam(c)
	if err != nil {
		return err
	}
	d, err := s.gw.Redeliver(c.UserContext(), p.WorkspaceID, h.ID, c.Params("dlv"))
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newDeliveryDTO(d))
}
