package storage

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // being tried; NextAttemptAt says when again
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // the retry schedule ran out, or the endpoint is gone (410)
	DeliveryExpired   = "expired"   // the events were removed by retention before they could be sent
)

// Delivery records the sending of one event to one webhook: its attempts
// and how the last one went.
type Delivery struct {
	ID          string `json:"id"` // dlv_…, time-ordered
	WorkspaceID int64  `json:"workspaceId"`
	WebhookID   string `json:"webhookId"`
	EventID     string `json:"eventId"`
	EventSeq    uint64 `json:"eventSeq"`
	EventType   string `json:"eventType"`
	// LastSeq is, for an expired record, the last seq of the range lost.
	LastSeq   uint64 `json:"lastSeq,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	Manual    bool   `json:"manual,omitempty"` // a test or a redelivery asked for through the API
	Code      int    `json:"statusCode,omitempty"`
	LatencyMs int64  `json:"latencyMs,omitempty"`
	// Response is the start of the last answer's body.
	Response      string    `json:"response,omitempty"`
	Error         string    `json:"error,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	LastAttemptAt time.Time `json:"lastAttemptAt"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
}

const (
	deliveryIDPrefix = "dlv_"
	deliveryIDLength = len(deliveryIDPrefix) + sortableIDLength
)

// NewDeliveryID returns a new delivery id ("dlv_" + 26 chars, time-ordered).
func NewDeliveryID() string { return sortableIDs.next(deliveryIDPrefix) }

// IsDeliveryID reports whether s has the form of a delivery id.
func IsDeliveryID(s string) bool { return isSortableID(s, deliveryIDPrefix) }

// PutDelivery stores a delivery record (not synced, like all of a
// webhook's progress). ErrNotFound when the webhook does not exist.
func (db *DB) PutDelivery(d Delivery) error {
	if err := checkDelivery(d); err != nil {
		return fmt.Errorf("put delivery: %w", err)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	err := func() error {
		ok, err := has(db.pdb, webhookKey(d.WorkspaceID, d.WebhookID))
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		b := db.pdb.NewBatch()
		defer b.Close()
		if err := setRecord(b, deliveryKey(d.WorkspaceID, d.WebhookID, d.ID), d); err != nil {
			return err
		}
		return b.Commit(pebble.NoSync)
	}()
	if err != nil {
		return fmt.Errorf("put delivery %s: %w", d.ID, err)
	}
	return nil
}

// GetDelivery returns a delivery of the workspace's webhook; ErrNotFound
// when there is none.
func (db *DB) GetDelivery(ws int64, webhook, id string) (Delivery, error) {
	if err := db.acquire(); err != nil {
		return Delivery{}, err
	}
	defer db.release()
	d, err := getRecord[Delivery](db.pdb, deliveryKey(ws, webhook, id))
	if err != nil {
		return Delivery{}, fmt.Errorf("delivery %q: %w", id, err)
	}
	return d, nil
}

// DeliveryFilter selects deliveries for ListDeliveries.
type DeliveryFilter struct {
	Status string // "": all
	Limit  int    // 1..500; 0 means 50
	Cursor string // from a previous page; "" for the first
}

// ListDeliveries returns a webhook's deliveries newest first, and the
// cursor of the next page ("" at the end). ErrBadCursor (wrapped) for a
// bad cursor.
func (db *DB) ListDeliveries(ws int64, webhook string, f DeliveryFilter) ([]Delivery, string, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultListLimit
	case limit > maxListLimit:
		limit = maxListLimit
	}
	prefix := webhookDeliveriesPrefix(ws, webhook)
	upper := prefixEnd(prefix)
	if f.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || !IsDeliveryID(string(raw)) {
			return nil, "", fmt.Errorf("list deliveries: %w: %q", ErrBadCursor, f.Cursor)
		}
		upper = deliveryKey(ws, webhook, string(raw))
	}
	if err := db.acquire(); err != nil {
		return nil, "", err
	}
	defer db.release()
	page := []Delivery{}
	more := false
	err := scan(db.pdb, prefix, upper, true, func(_, v []byte) (bool, error) {
		var d Delivery
		if err := decodeRecord(v, &d); err != nil {
			return false, err
		}
		if f.Status != "" && d.Status != f.Status {
			return true, nil
		}
		if len(page) == limit {
			more = true
			return false, nil
		}
		page = append(page, d)
		return true, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	next := ""
	if more {
		next = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ID))
	}
	return page, next, nil
}

// CompactDeliveries trims a webhook's deliveries log: records made before
// the cutoff go, and of the rest only the newest keep stay. It returns how
// many records it removed (not synced, as for CompactEvents).
func (db *DB) CompactDeliveries(ws int64, webhook string, cutoff time.Time, keep int) (int, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	prefix := webhookDeliveriesPrefix(ws, webhook)
	// Delivery ids start with their creation time, so the records older
	// than the cutoff are the keys below the smallest id of that instant.
	end := deliveryKey(ws, webhook, deliveryIDPrefix+encodeSortableID(uint64(max(cutoff.UnixMilli(), 0)), 0, 0))
	n := 0
	err := scan(db.pdb, prefix, prefixEnd(prefix), true, func(k, _ []byte) (bool, error) {
		n++
		if n <= keep {
			return true, nil
		}
		// k is the newest record beyond what is kept: everything up to and
		// including it goes.
		if string(k) >= string(end) {
			end = append(append([]byte(nil), k...), 0)
		}
		return false, nil
	})
	if err != nil {
		return 0, fmt.Errorf("compact deliveries: %w", err)
	}
	removed := 0
	err = scan(db.pdb, prefix, end, false, func(_, _ []byte) (bool, error) {
		removed++
		return true, nil
	})
	if err != nil || removed == 0 {
		return 0, wrapCompactDeliveries(err)
	}
	if err := db.pdb.DeleteRange(prefix, end, pebble.NoSync); err != nil {
		return 0, wrapCompactDeliveries(err)
	}
	return removed, nil
}

func wrapCompactDeliveries(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("compact deliveries: %w", err)
}

func checkDelivery(d Delivery) error {
	switch {
	case !IsDeliveryID(d.ID):
		return fmt.Errorf("%w: delivery id %q", ErrInvalid, d.ID)
	case d.WorkspaceID <= 0 || !IsWebhookID(d.WebhookID):
		return fmt.Errorf("%w: delivery %s of workspace %d, webhook %q", ErrInvalid, d.ID, d.WorkspaceID, d.WebhookID)
	case d.Status == "":
		return fmt.Errorf("%w: delivery %s has no status", ErrInvalid, d.ID)
	}
	return nil
}
