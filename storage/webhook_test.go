package storage

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func testWebhook(ws int64) Webhook {
	return Webhook{ID: NewWebhookID(), WorkspaceID: ws, URL: "https://example.com/hook", Events: []string{"*"},
		Secret: "whsec_c2VjcmV0", CreatedAt: testTime(0), UpdatedAt: testTime(0)}
}

func TestWebhookLifecycle(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "hooks@example.com")
	other, _, _ := testAccount(t, db, "else@example.com")

	h := testWebhook(ws.ID)
	if err := db.CreateWebhook(h, 41); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateWebhook(h, 0); !errors.Is(err, ErrConflict) {
		t.Errorf("second create: %v, want ErrConflict", err)
	}
	if err := db.CreateWebhook(testWebhook(999), 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("create in an unknown workspace: %v, want ErrNotFound", err)
	}
	h2 := testWebhook(ws.ID)
	h2.DeviceID = 7
	if err := db.CreateWebhook(h2, 0); err != nil {
		t.Fatal(err)
	}
	h3 := testWebhook(other.ID)
	if err := db.CreateWebhook(h3, 0); err != nil {
		t.Fatal(err)
	}

	if got, err := db.GetWebhook(ws.ID, h.ID); err != nil || !reflect.DeepEqual(got, h) {
		t.Fatalf("GetWebhook = %+v, %v", got, err)
	}
	if _, err := db.GetWebhook(other.ID, h.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another workspace's webhook: %v, want ErrNotFound", err)
	}
	if list, err := db.ListWebhooks(ws.ID); err != nil || len(list) != 2 || list[0].ID != h.ID || list[1].ID != h2.ID {
		t.Fatalf("ListWebhooks = %+v, %v", list, err)
	}
	if list, err := db.ListAllWebhooks(); err != nil || len(list) != 3 {
		t.Fatalf("ListAllWebhooks = %d, %v", len(list), err)
	}
	if c, err := db.WebhookCursor(ws.ID, h.ID); err != nil || c != 41 {
		t.Fatalf("cursor = %d, %v; want 41", c, err)
	}

	h.Disabled, h.DisabledReason = true, "gone"
	if err := db.PutWebhook(h); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.GetWebhook(ws.ID, h.ID); !got.Disabled {
		t.Errorf("update not stored: %+v", got)
	}
	ghost := testWebhook(ws.ID)
	if err := db.PutWebhook(ghost); !errors.Is(err, ErrNotFound) {
		t.Errorf("PutWebhook of an unknown webhook: %v, want ErrNotFound", err)
	}

	d := Delivery{ID: NewDeliveryID(), WorkspaceID: ws.ID, WebhookID: h.ID, EventID: NewEventID(), EventSeq: 42, Status: DeliveryDelivered, Attempts: 1, Code: 204}
	if err := db.SaveWebhookProgress(ws.ID, h.ID, 42, &d); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.WebhookCursor(ws.ID, h.ID); c != 42 {
		t.Errorf("cursor after progress = %d, want 42", c)
	}
	if got, err := db.GetDelivery(ws.ID, h.ID, d.ID); err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("GetDelivery = %+v, %v", got, err)
	}

	if err := db.DeleteWebhook(ws.ID, h.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteWebhook(ws.ID, h.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := db.WebhookCursor(ws.ID, h.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("cursor after delete: %v, want ErrNotFound", err)
	}
	if _, err := db.GetDelivery(ws.ID, h.ID, d.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delivery after delete: %v, want ErrNotFound", err)
	}
	// A late write of a deleted webhook's progress does not bring it back.
	if err := db.SaveWebhookProgress(ws.ID, h.ID, 43, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("progress of a deleted webhook: %v, want ErrNotFound", err)
	}
	if err := db.PutDelivery(d); !errors.Is(err, ErrNotFound) {
		t.Errorf("delivery of a deleted webhook: %v, want ErrNotFound", err)
	}
	if list, _ := db.ListWebhooks(ws.ID); len(list) != 1 || list[0].ID != h2.ID {
		t.Errorf("after delete: %+v", list)
	}
}

func TestDeliveriesLog(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "log@example.com")
	h := testWebhook(ws.ID)
	if err := db.CreateWebhook(h, 0); err != nil {
		t.Fatal(err)
	}
	var all []Delivery // oldest first
	for i := range 7 {
		d := Delivery{ID: NewDeliveryID(), WorkspaceID: ws.ID, WebhookID: h.ID, EventID: NewEventID(), EventSeq: uint64(i + 1),
			Status: []string{DeliveryDelivered, DeliveryFailed}[i%2], Attempts: 1}
		if err := db.PutDelivery(d); err != nil {
			t.Fatal(err)
		}
		all = append(all, d)
	}
	newest := func(ds []Delivery) []string {
		var ids []string
		for i := len(ds) - 1; i >= 0; i-- {
			ids = append(ids, ds[i].ID)
		}
		return ids
	}
	ids := func(ds []Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, next, err := db.ListDeliveries(ws.ID, h.ID, DeliveryFilter{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = next
	}
	if fmt.Sprint(got) != fmt.Sprint(newest(all)) {
		t.Errorf("pages = %v, want %v", got, newest(all))
	}
	failed, _, err := db.ListDeliveries(ws.ID, h.ID, DeliveryFilter{Status: DeliveryFailed})
	if err != nil || len(failed) != 3 {
		t.Errorf("failed deliveries = %d, %v; want 3", len(failed), err)
	}
	if _, _, err := db.ListDeliveries(ws.ID, h.ID, DeliveryFilter{Cursor: "nope!"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v, want ErrBadCursor", err)
	}

	// Keep the newest 4; then a cutoff in the future removes all.
	if n, err := db.CompactDeliveries(ws.ID, h.ID, time.Unix(0, 0), 4); err != nil || n != 3 {
		t.Errorf("compact to 4: removed %d, %v; want 3", n, err)
	}
	rest, _, _ := db.ListDeliveries(ws.ID, h.ID, DeliveryFilter{})
	if fmt.Sprint(ids(rest)) != fmt.Sprint(newest(all)[:4]) {
		t.Errorf("after compaction %v, want %v", ids(rest), newest(all)[:4])
	}
	if n, err := db.CompactDeliveries(ws.ID, h.ID, time.Now().Add(time.Hour), 100); err != nil || n != 4 {
		t.Errorf("compact by age: removed %d, %v; want 4", n, err)
	}
}
