package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Webhook is an endpoint that receives a workspace's events.
//
// Secrets are kept as they were handed out: signing needs them, so they
// cannot be hashed like API keys. The API shows a secret only when it is
// made.
type Webhook struct {
	ID          string   `json:"id"` // wh_…
	WorkspaceID int64    `json:"workspaceId"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`             // event types, or "*" for all
	DeviceID    int64    `json:"deviceId,omitempty"` // 0: every device
	Description string   `json:"description,omitempty"`
	Secret      string   `json:"secret"` // whsec_…
	// PreviousSecret still signs, next to Secret, until
	// PreviousSecretExpiresAt (a rotation's overlap).
	PreviousSecret          string    `json:"previousSecret,omitempty"`
	PreviousSecretExpiresAt time.Time `json:"previousSecretExpiresAt"`
	Disabled                bool      `json:"disabled"`
	DisabledReason          string    `json:"disabledReason,omitempty"`
	CreatedAt               time.Time `json:"createdAt"`
	UpdatedAt               time.Time `json:"updatedAt"`
}

const (
	webhookIDPrefix = "wh_"
	webhookIDLength = len(webhookIDPrefix) + sortableIDLength
)

// NewWebhookID returns a new webhook id ("wh_" + 26 chars, time-ordered).
func NewWebhookID() string { return sortableIDs.next(webhookIDPrefix) }

// IsWebhookID reports whether s has the form of a webhook id.
func IsWebhookID(s string) bool { return isSortableID(s, webhookIDPrefix) }

// CreateWebhook stores a new webhook and its cursor (the seq of the last
// event it need not receive) in one synced batch. ErrConflict when the id
// is taken; ErrNotFound for an unknown workspace.
func (db *DB) CreateWebhook(h Webhook, cursor uint64) error {
	if err := checkWebhook(h); err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	err := func() error {
		if err := workspaceExists(db.pdb, h.WorkspaceID); err != nil {
			return err
		}
		taken, err := has(db.pdb, webhookKey(h.WorkspaceID, h.ID))
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: webhook %s exists", ErrConflict, h.ID)
		}
		b := db.pdb.NewBatch()
		defer b.Close()
		if err := setRecord(b, webhookKey(h.WorkspaceID, h.ID), h); err != nil {
			return err
		}
		if err := b.Set(webhookCursorKey(h.WorkspaceID, h.ID), encodeUint64(cursor), nil); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	}()
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", h.ID, err)
	}
	return nil
}

// PutWebhook updates a stored webhook (synced); ErrNotFound when it does
// not exist in h.WorkspaceID.
func (db *DB) PutWebhook(h Webhook) error {
	if err := checkWebhook(h); err != nil {
		return fmt.Errorf("put webhook: %w", err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	err := func() error {
		ok, err := has(db.pdb, webhookKey(h.WorkspaceID, h.ID))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		b := db.pdb.NewBatch()
		defer b.Close()
		if err := setRecord(b, webhookKey(h.WorkspaceID, h.ID), h); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	}()
	if err != nil {
		return fmt.Errorf("put webhook %s: %w", h.ID, err)
	}
	return nil
}

// GetWebhook returns a webhook of workspace ws; ErrNotFound when it is
// missing or belongs to another workspace.
func (db *DB) GetWebhook(ws int64, id string) (Webhook, error) {
	if err := db.acquire(); err != nil {
		return Webhook{}, err
	}
	defer db.release()
	h, err := getRecord[Webhook](db.pdb, webhookKey(ws, id))
	if err != nil {
		return Webhook{}, fmt.Errorf("webhook %q: %w", id, err)
	}
	return h, nil
}

// ListWebhooks returns the workspace's webhooks, oldest first.
func (db *DB) ListWebhooks(ws int64) ([]Webhook, error) {
	hooks, err := db.listWebhooks(workspaceWebhooksPrefix(ws))
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return hooks, nil
}

// ListAllWebhooks returns every workspace's webhooks (for restarts).
func (db *DB) ListAllWebhooks() ([]Webhook, error) {
	hooks, err := db.listWebhooks([]byte(prefixWebhook))
	if err != nil {
		return nil, fmt.Errorf("list all webhooks: %w", err)
	}
	return hooks, nil
}

func (db *DB) listWebhooks(prefix []byte) ([]Webhook, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	hooks := []Webhook{}
	err := scanPrefix(db.pdb, prefix, false, func(_, v []byte) (bool, error) {
		var h Webhook
		if err := decodeRecord(v, &h); err != nil {
			return false, err
		}
		hooks = append(hooks, h)
		return true, nil
	})
	return hooks, err
}

// DeleteWebhook deletes a webhook with its cursor and deliveries log in one
// synced batch. ErrNotFound when there is no such webhook in ws.
func (db *DB) DeleteWebhook(ws int64, id string) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	err := func() error {
		ok, err := has(db.pdb, webhookKey(ws, id))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		b := db.pdb.NewBatch()
		defer b.Close()
		deliveries := webhookDeliveriesPrefix(ws, id)
		if err := errors.Join(
			b.Delete(webhookKey(ws, id), nil),
			b.Delete(webhookCursorKey(ws, id), nil),
			b.DeleteRange(deliveries, prefixEnd(deliveries), nil),
		); err != nil {
			return err
		}
		return b.Commit(pebble.Sync)
	}()
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// WebhookCursor returns the seq of the last event the webhook handled
// (delivered, failed for good, or not for it). ErrNotFound when it has
// none.
func (db *DB) WebhookCursor(ws int64, id string) (uint64, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	v, err := get(db.pdb, webhookCursorKey(ws, id))
	if err == nil {
		var seq uint64
		if seq, err = decodeUint64(v); err == nil {
			return seq, nil
		}
	}
	return 0, fmt.Errorf("webhook %s cursor: %w", id, err)
}

// SaveWebhookProgress moves the webhook's cursor to seq and, when d is not
// nil, stores that delivery, in one batch. It is not synced: a crash may
// lose the latest progress, and the events after the stored cursor are
// then delivered again (deliveries are at least once).
//
// ErrNotFound when the webhook was deleted meanwhile, so that its log
// does not grow again.
func (db *DB) SaveWebhookProgress(ws int64, id string, seq uint64, d *Delivery) error {
	if d != nil {
		if err := checkDelivery(*d); err != nil {
			return fmt.Errorf("save webhook progress: %w", err)
		}
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	err := func() error {
		ok, err := has(db.pdb, webhookKey(ws, id))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		b := db.pdb.NewBatch()
		defer b.Close()
		if err := b.Set(webhookCursorKey(ws, id), encodeUint64(seq), nil); err != nil {
			return err
		}
		if d != nil {
			if err := setRecord(b, deliveryKey(ws, id, d.ID), d); err != nil {
				return err
			}
		}
		return b.Commit(pebble.NoSync)
	}()
	if err != nil {
		return fmt.Errorf("save webhook %s progress: %w", id, err)
	}
	return nil
}

func checkWebhook(h Webhook) error {
	switch {
	case !IsWebhookID(h.ID):
		return fmt.Errorf("%w: webhook id %q", ErrInvalid, h.ID)
	case h.WorkspaceID <= 0:
		return fmt.Errorf("%w: webhook %s has workspace %d", ErrInvalid, h.ID, h.WorkspaceID)
	case h.URL == "" || h.Secret == "":
		return fmt.Errorf("%w: webhook %s has no URL or secret", ErrInvalid, h.ID)
	}
	return nil
}
