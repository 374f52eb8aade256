package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/egress"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The webhook facade: endpoints of a workspace that receive its events.
// Changes go through the workspace actor (the single writer of webhook
// records), deliveries through each endpoint's webhook actor; tests and
// redeliveries asked for through the API are sent from the caller's
// goroutine, one attempt each.

// DefaultSecretOverlap is how long the previous secret keeps signing after
// a rotation when the caller does not say.
const DefaultSecretOverlap = 24 * time.Hour

// MaxSecretOverlap is the longest overlap a rotation may ask for.
const MaxSecretOverlap = 7 * 24 * time.Hour

// WebhookSpec describes a webhook to create.
type WebhookSpec struct {
	URL         string
	Events      []string // event types, or "*" for all
	DeviceID    int64    // 0: every device
	Description string
}

// WebhookPatch changes a webhook; nil fields stay as they are.
type WebhookPatch struct {
	URL         *string
	Events      *[]string
	DeviceID    *int64 // 0: every device
	Description *string
	Enabled     *bool // true also clears why it was disabled
}

// initWebhooks prepares the webhook runtime from the configuration.
func (g *Gateway) initWebhooks(cfg Config) {
	g.allowPrivateURLs = cfg.AllowPrivateURLs
	g.retention = cfg.EventRetention
	if g.retention <= 0 {
		g.retention = DefaultEventRetention
	}
	g.retention = max(g.retention, MinEventRetention)
	g.webhookClient = cfg.webhookClient
	if g.webhookClient == nil {
		g.webhookClient = egress.NewClient(egress.Options{AllowPrivate: cfg.AllowPrivateURLs, MaxConnsPerHost: 8})
	}
	g.processor = newPluginProcessor(g)
	g.webhookCtx, g.stopWebhooks = context.WithCancel(context.Background())
}

// startWorkspaces starts the actor of every workspace that has something
// to do without a device: events waiting in its outbox, webhooks to feed,
// a log to compact.
func (g *Gateway) startWorkspaces(ctx context.Context) error {
	wss, err := g.db.EventWorkspaces()
	if err != nil {
		return fmt.Errorf("actors: list workspaces with events: %w", err)
	}
	hooks, err := g.db.ListAllWebhooks()
	if err != nil {
		return fmt.Errorf("actors: list webhooks: %w", err)
	}
	for _, h := range hooks {
		wss = append(wss, h.WorkspaceID)
	}
	slices.Sort(wss)
	for _, ws := range slices.Compact(wss) {
		if _, err := g.workspace(ctx, ws); err != nil {
			return err
		}
	}
	return nil
}

// workspace returns the workspace's actor, starting it when needed.
func (g *Gateway) workspace(ctx context.Context, ws int64) (*actor.PID, error) {
	v, err := g.request(ctx, g.root, ensureWorkspace{ws: ws})
	if err != nil {
		return nil, err
	}
	return v.(*actor.PID), nil
}

// askWorkspace sends a webhook command to the workspace actor.
func (g *Gateway) askWorkspace(ctx context.Context, ws int64, msg any) (storage.Webhook, error) {
	pid, err := g.workspace(ctx, ws)
	if err != nil {
		return storage.Webhook{}, err
	}
	v, err := g.request(ctx, pid, msg)
	if err != nil {
		return storage.Webhook{}, err
	}
	if v == nil {
		return storage.Webhook{}, nil
	}
	return v.(storage.Webhook), nil
}

// CreateWebhook checks and stores a webhook with a new secret (shown to
// the caller this once) and starts delivering the events logged from now
// on. Errors: egress.ErrInvalidURL, egress.ErrPrivateAddress,
// ErrUnknownEventType, ErrNoEventTypes, ErrDeviceNotFound, ErrWebhookLimit.
func (g *Gateway) CreateWebhook(ctx context.Context, ws int64, spec WebhookSpec) (storage.Webhook, error) {
	url, err := g.checkWebhookURL(ctx, spec.URL)
	if err != nil {
		return storage.Webhook{}, err
	}
	events, err := normalizeEventTypes(spec.Events)
	if err != nil {
		return storage.Webhook{}, err
	}
	if err := g.checkFilterDevice(ctx, ws, spec.DeviceID); err != nil {
		return storage.Webhook{}, err
	}
	now := time.Now().UTC()
	h := storage.Webhook{
		ID:          storage.NewWebhookID(),
		WorkspaceID: ws,
		URL:         url,
		Events:      events,
		DeviceID:    spec.DeviceID,
		Description: strings.TrimSpace(spec.Description),
		Secret:      newWebhookSecret(),
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	return g.askWorkspace(ctx, ws, cmdCreateWebhook{hook: h})
}

// Webhooks lists the workspace's webhooks, oldest first.
func (g *Gateway) Webhooks(_ context.Context, ws int64) ([]storage.Webhook, error) {
	return g.db.ListWebhooks(ws)
}

// Webhook returns a webhook of the workspace (ErrWebhookNotFound otherwise).
func (g *Gateway) Webhook(_ context.Context, ws int64, id string) (storage.Webhook, error) {
	if !storage.IsWebhookID(id) {
		return storage.Webhook{}, ErrWebhookNotFound
	}
	h, err := g.db.GetWebhook(ws, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Webhook{}, ErrWebhookNotFound
	}
	return h, err
}

// UpdateWebhook applies a patch, checked as in CreateWebhook.
func (g *Gateway) UpdateWebhook(ctx context.Context, ws int64, id string, p WebhookPatch) (storage.Webhook, error) {
	if _, err := g.Webhook(ctx, ws, id); err != nil {
		return storage.Webhook{}, err
	}
	var url string
	var events []string
	var err error
	if p.URL != nil {
		if url, err = g.checkWebhookURL(ctx, *p.URL); err != nil {
			return storage.Webhook{}, err
		}
	}
	if p.Events != nil {
		if events, err = normalizeEventTypes(*p.Events); err != nil {
			return storage.Webhook{}, err
		}
	}
	if p.DeviceID != nil {
		if err := g.checkFilterDevice(ctx, ws, *p.DeviceID); err != nil {
			return storage.Webhook{}, err
		}
	}
	return g.askWorkspace(ctx, ws, cmdChangeWebhook{id: id, change: func(h *storage.Webhook) error {
		if p.URL != nil {
			h.URL = url
		}
		if p.Events != nil {
			h.Events = events
		}
		if p.DeviceID != nil {
			h.DeviceID = *p.DeviceID
		}
		if p.Description != nil {
			h.Description = strings.TrimSpace(*p.Description)
		}
		if p.Enabled != nil {
			h.Disabled = !*p.Enabled
			h.DisabledReason = ""
			if h.Disabled {
				h.DisabledReason = "disabled through the API"
			}
		}
		return nil
	}})
}

// DeleteWebhook stops deliveries to the webhook and deletes it with its
// deliveries log.
func (g *Gateway) DeleteWebhook(ctx context.Context, ws int64, id string) error {
	if _, err := g.Webhook(ctx, ws, id); err != nil {
		return err
	}
	_, err := g.askWorkspace(ctx, ws, cmdDeleteWebhook{id: id})
	return err
}

// RotateWebhookSecret gives the webhook a new secret (returned this once)
// and lets the current one keep signing, next to it, for overlap (0:
// DefaultSecretOverlap; at most MaxSecretOverlap), so that receivers can
// switch without missing a delivery.
func (g *Gateway) RotateWebhookSecret(ctx context.Context, ws int64, id string, overlap time.Duration) (storage.Webhook, error) {
	if _, err := g.Webhook(ctx, ws, id); err != nil {
		return storage.Webhook{}, err
	}
	if overlap <= 0 {
		overlap = DefaultSecretOverlap
	}
	overlap = min(overlap, MaxSecretOverlap)
	secret := newWebhookSecret()
	return g.askWorkspace(ctx, ws, cmdChangeWebhook{id: id, change: func(h *storage.Webhook) error {
		h.PreviousSecret, h.Secret = h.Secret, secret
		h.PreviousSecretExpiresAt = time.Now().Add(overlap).UTC()
		return nil
	}})
}

// TestWebhook sends a webhook.test event to the endpoint now, whatever its
// filters and even when it is disabled, and returns the delivery. The
// event is not logged and goes to this endpoint only.
func (g *Gateway) TestWebhook(ctx context.Context, ws int64, id string) (storage.Delivery, error) {
	h, err := g.Webhook(ctx, ws, id)
	if err != nil {
		return storage.Delivery{}, err
	}
	e, err := newEvent(ws, 0, EventWebhookTest, webhookTestData{WebhookID: h.ID, Message: webhookTestMessage})
	if err != nil {
		return storage.Delivery{}, err
	}
	return g.deliverOnce(ctx, h, e)
}

// webhookTestData is the data of a webhook.test event.
type webhookTestData struct {
	WebhookID string `json:"webhookId"`
	Message   string `json:"message"`
}

const webhookTestMessage = "This is a test event from WA Gateway."

// WebhookDeliveries lists a webhook's deliveries, newest first.
func (g *Gateway) WebhookDeliveries(ctx context.Context, ws int64, id string, f storage.DeliveryFilter) ([]storage.Delivery, string, error) {
	if _, err := g.Webhook(ctx, ws, id); err != nil {
		return nil, "", err
	}
	return g.db.ListDeliveries(ws, id, f)
}

// Redeliver sends a delivery's event to the endpoint again, now, with the
// same webhook-id, and returns the new delivery. ErrEventExpired when the
// event is no longer in the log.
func (g *Gateway) Redeliver(ctx context.Context, ws int64, id, deliveryID string) (storage.Delivery, error) {
	h, err := g.Webhook(ctx, ws, id)
	if err != nil {
		return storage.Delivery{}, err
	}
	if !storage.IsDeliveryID(deliveryID) {
		return storage.Delivery{}, ErrDeliveryNotFound
	}
	d, err := g.db.GetDelivery(ws, id, deliveryID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Delivery{}, ErrDeliveryNotFound
	}
	if err != nil {
		return storage.Delivery{}, err
	}
	var e storage.Event
	switch {
	case d.EventType == EventWebhookTest:
		if e, err = newEvent(ws, 0, EventWebhookTest, webhookTestData{WebhookID: h.ID, Message: webhookTestMessage}); err != nil {
			return storage.Delivery{}, err
		}
		e.ID = d.EventID
	case d.Status == storage.DeliveryExpired || d.EventSeq == 0:
		return storage.Delivery{}, ErrEventExpired
	default:
		evs, err := g.db.ReadEvents(ws, d.EventSeq-1, 1)
		if err != nil {
			return storage.Delivery{}, err
		}
		if len(evs) == 0 || evs[0].ID != d.EventID {
			return storage.Delivery{}, ErrEventExpired
		}
		e = evs[0]
	}
	return g.deliverOnce(ctx, h, e)
}

// checkWebhookURL is egress.CheckURL under this gateway's policy; it
// returns the URL as it will be stored.
func (g *Gateway) checkWebhookURL(ctx context.Context, raw string) (string, error) {
	u, err := egress.CheckURL(ctx, raw, g.allowPrivateURLs)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// checkFilterDevice: a device filter must name a device of the workspace.
func (g *Gateway) checkFilterDevice(ctx context.Context, ws, id int64) error {
	if id == 0 {
		return nil
	}
	_, err := g.Device(ctx, ws, id)
	return err
}

// normalizeEventTypes checks a webhook's event types: known types or "*"
// (which then stands alone), at least one, without repeats.
func normalizeEventTypes(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	all := false
	for _, t := range in {
		t = strings.TrimSpace(t)
		switch {
		case t == "*":
			all = true
		case !IsEventType(t):
			return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, t)
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	switch {
	case all:
		return []string{"*"}, nil
	case len(out) == 0:
		return nil, ErrNoEventTypes
	}
	return out, nil
}

// ParseEventTypes reads a comma-separated list of event types (a stream's
// ?types=): known types only; empty means all. ErrUnknownEventType
// otherwise.
func ParseEventTypes(list string) ([]string, error) {
	var out []string
	for t := range strings.SplitSeq(list, ",") {
		t = strings.TrimSpace(t)
		switch {
		case t == "":
		case !IsEventType(t):
			return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, t)
		case !slices.Contains(out, t):
			out = append(out, t)
		}
	}
	return out, nil
}
