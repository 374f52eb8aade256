package api

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

type (
	wirePacingSettings struct {
		Profile      string  `json:"profile"`
		GapMin       string  `json:"gapMin"`
		GapMax       string  `json:"gapMax"`
		TypingWPM    int     `json:"typingWpm"`
		TypingJitter float64 `json:"typingJitter"`
		DailyCap     int     `json:"dailyCap"`
		WarmupDays   int     `json:"warmupDays"`
		CheckNumbers bool    `json:"checkNumbers"`
		ChatSpacing  string  `json:"chatSpacing"`
		PauseBan     string  `json:"pauseBan"`
	}
	wirePacedDevice struct {
		ID             int64              `json:"id"`
		Name           string             `json:"name"`
		Pacing         string             `json:"pacing"`
		PacingSettings wirePacingSettings `json:"pacingSettings"`
	}
	wireQueue struct {
		DeviceID int64  `json:"deviceId"`
		Status   string `json:"status"`
		Depth    int    `json:"depth"`
		Pacing   struct {
			Profile string `json:"profile"`
			Pauses  []struct {
				Reason string    `json:"reason"`
				Until  time.Time `json:"until"`
			} `json:"pauses"`
			NextSendAt      *time.Time         `json:"nextSendAt"`
			LastSendAt      *time.Time         `json:"lastSendAt"`
			Sent24h         int                `json:"sent24h"`
			DailyCap        int                `json:"dailyCap"`
			FirstContactCap int                `json:"firstContactCap"`
			WarmupDay       int                `json:"warmupDay"`
			Warming         bool               `json:"warming"`
			Settings        wirePacingSettings `json:"settings"`
		} `json:"pacing"`
		Items []struct {
			Message    wireMessage `json:"message"`
			ExpectedAt *time.Time  `json:"expectedAt"`
			Reason     *string     `json:"reason"`
			WillFail   bool        `json:"willFail"`
		} `json:"items"`
	}
)

// TestPacingThroughPatch: a device shows its profile and the settings in
// force; PATCH takes a profile name or an object of settings, merged.
func TestPacingThroughPatch(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	sandbox := ts.createDevice(t, admin, "sandbox", engineSim)
	live := ts.createDevice(t, admin, "live", engineWhatsmeow)
	path := "/api/devices/" + itoa(sandbox.Device.ID)

	var d wirePacedDevice
	ts.do("GET", path, nil, admin).ok(t, http.StatusOK, &d)
	if d.Pacing != "off" || d.PacingSettings != (wirePacingSettings{Profile: "off", GapMin: "0s", GapMax: "0s", ChatSpacing: "0s", PauseBan: "0s"}) {
		t.Errorf("a sandbox device starts with %+v", d)
	}
	ts.do("GET", "/api/devices/"+itoa(live.Device.ID), nil, admin).ok(t, http.StatusOK, &d)
	if d.Pacing != "balanced" || d.PacingSettings.GapMin != "5s" || d.PacingSettings.GapMax != "30s" || d.PacingSettings.DailyCap != 500 ||
		d.PacingSettings.WarmupDays != 10 || !d.PacingSettings.CheckNumbers || d.PacingSettings.PauseBan != "24h" {
		t.Errorf("a real device starts with %+v", d)
	}

	ts.do("PATCH", path, map[string]any{"pacing": map[string]any{"profile": "careful", "dailyCap": 50, "gapMin": "45s"}}, admin).ok(t, http.StatusOK, &d)
	if d.Pacing != "careful" || d.PacingSettings.DailyCap != 50 || d.PacingSettings.GapMin != "45s" || d.PacingSettings.GapMax != "1m30s" {
		t.Fatalf("careful with changes: %+v", d)
	}
	ts.do("PATCH", path, map[string]any{"pacing": map[string]any{"typingWpm": 25}}, admin).ok(t, http.StatusOK, &d)
	if d.PacingSettings.TypingWPM != 25 || d.PacingSettings.DailyCap != 50 {
		t.Fatalf("a merged change: %+v", d)
	}
	// Refused: nothing of the request is stored, the name included.
	r := ts.do("PATCH", path, map[string]any{"name": "renamed", "pacing": map[string]any{"gapMin": "2m"}}, admin)
	r.fails(t, http.StatusBadRequest, "validation_failed")
	if r.Env.Error.Field != "pacing.gapMin" {
		t.Errorf("field %q, want pacing.gapMin", r.Env.Error.Field)
	}
	ts.do("GET", path, nil, admin).ok(t, http.StatusOK, &d)
	if d.Name != "sandbox" || d.PacingSettings.GapMin != "45s" {
		t.Errorf("a refused patch changed %+v", d)
	}
	// A profile name resets every setting to the profile's.
	ts.do("PATCH", path, map[string]any{"pacing": "careful"}, admin).ok(t, http.StatusOK, &d)
	if d.PacingSettings.DailyCap != 200 || d.PacingSettings.GapMin != "30s" || d.PacingSettings.TypingWPM != 30 {
		t.Errorf("careful again: %+v", d)
	}
	// A device key may read its device, not change it.
	ts.do("PATCH", path, map[string]any{"pacing": "off"}, apiKey(sandbox.DeviceAPIKey)).fails(t, http.StatusForbidden, "forbidden")
}

// TestQueueShowsWhatWaitsAndWhen: the queue lists queued messages oldest
// first with when each should go and why, with the pacer's state; a
// cancelled message leaves it and fails with cancelled; a sent one cannot
// be cancelled.
func TestQueueShowsWhatWaitsAndWhen(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "paced", engineSim)
	other := ts.createDevice(t, admin, "other", engineSim)
	id := d.Device.ID
	ts.pair(t, admin, id)
	// One send now, the next ones an hour apart: they wait, visibly.
	ts.do("PATCH", "/api/devices/"+itoa(id), map[string]any{"pacing": map[string]any{
		"gapMin": "1h", "gapMax": "1h", "dailyCap": 1000, "warmupDays": 0, "pauseBan": "1h",
	}}, admin).ok(t, http.StatusOK, nil)

	var sent []wireMessage
	for i := range 3 {
		var m wireMessage
		ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": id, "to": fmt.Sprintf("4915100000%02d", i), "text": "hello"}, admin).
			ok(t, http.StatusAccepted, &m)
		sent = append(sent, m)
	}
	var q wireQueue
	waitFor(t, 10*time.Second, func() error {
		ts.do("GET", "/api/devices/"+itoa(id)+"/queue", nil, admin).ok(t, http.StatusOK, &q)
		if q.Depth != 2 {
			return fmt.Errorf("depth %d, want 2 once the first is sent", q.Depth)
		}
		return nil
	})
	if q.DeviceID != id || q.Status != "CONNECTED" || len(q.Items) != 2 || q.Pacing.Sent24h != 1 || q.Pacing.LastSendAt == nil ||
		q.Pacing.Settings.GapMin != "1h" || len(q.Pacing.Pauses) != 0 {
		t.Fatalf("queue = %+v", q)
	}
	for i, it := range q.Items {
		if it.Message.ID != sent[i+1].ID || it.Reason == nil || *it.Reason != "gap" || it.WillFail || it.ExpectedAt == nil {
			t.Fatalf("item %d = %+v", i, it)
		}
		want := q.Pacing.LastSendAt.Add(time.Duration(i+1) * time.Hour)
		if d := it.ExpectedAt.Sub(want); d < 0 || d > time.Second {
			t.Errorf("item %d expected at %v, want an hour after the one before (%v)", i, it.ExpectedAt, want)
		}
	}
	ts.do("GET", "/api/devices/"+itoa(id)+"/queue?limit=1", nil, admin).ok(t, http.StatusOK, &q)
	if len(q.Items) != 1 || q.Depth != 2 {
		t.Errorf("limit 1: %d items of %d", len(q.Items), q.Depth)
	}
	for _, bad := range []string{"0", "201", "x"} {
		r := ts.do("GET", "/api/devices/"+itoa(id)+"/queue?limit="+bad, nil, admin)
		r.fails(t, http.StatusBadRequest, "validation_failed")
		if r.Env.Error.Field != "limit" {
			t.Errorf("limit=%s: field %q", bad, r.Env.Error.Field)
		}
	}
	ts.do("GET", "/api/devices/"+itoa(id)+"/queue", nil, apiKey(other.DeviceAPIKey)).fails(t, http.StatusNotFound, "device_not_found")
	ts.do("GET", "/api/devices/"+itoa(id)+"/queue", nil, apiKey(d.DeviceAPIKey)).ok(t, http.StatusOK, nil)

	// Cancel the last: it leaves the queue, failed with cancelled, and stays so.
	var m wireMessage
	ts.do("DELETE", "/api/messages/"+sent[2].ID, nil, apiKey(d.DeviceAPIKey)).ok(t, http.StatusOK, &m)
	if m.Status != "failed" || m.ID != sent[2].ID {
		t.Fatalf("cancelled = %+v", m)
	}
	var got struct {
		Status string `json:"status"`
		Error  struct {
			Code string `json:"code"`
		} `json:"error"`
		FailedAt *time.Time `json:"failedAt"`
	}
	ts.do("GET", "/api/messages/"+sent[2].ID, nil, admin).ok(t, http.StatusOK, &got)
	if got.Status != "failed" || got.Error.Code != "cancelled" || got.FailedAt == nil {
		t.Errorf("after cancel GET answers %+v", got)
	}
	ts.do("GET", "/api/devices/"+itoa(id)+"/queue", nil, admin).ok(t, http.StatusOK, &q)
	if q.Depth != 1 || len(q.Items) != 1 || q.Items[0].Message.ID != sent[1].ID {
		t.Errorf("queue after cancel: %+v", q)
	}
	ts.do("DELETE", "/api/messages/"+sent[2].ID, nil, admin).fails(t, http.StatusConflict, "not_cancellable")
	ts.do("DELETE", "/api/messages/"+sent[0].ID, nil, admin).fails(t, http.StatusConflict, "not_cancellable")
	ts.do("DELETE", "/api/messages/"+sent[1].ID, nil, apiKey(other.DeviceAPIKey)).fails(t, http.StatusNotFound, "message_not_found")
	ts.do("DELETE", "/api/messages/msg_nothing", nil, admin).fails(t, http.StatusNotFound, "message_not_found")

	// A ban pauses sending: the queue says until when, the device why.
	ts.do("POST", "/api/devices/"+itoa(id)+"/sandbox/fault", map[string]any{"kind": "ban"}, admin).ok(t, http.StatusOK, nil)
	ts.waitStatus(t, admin, id, "TEMP_BANNED")
	ts.do("GET", "/api/devices/"+itoa(id)+"/queue", nil, admin).ok(t, http.StatusOK, &q)
	if q.Status != "TEMP_BANNED" || len(q.Pacing.Pauses) != 1 || q.Pacing.Pauses[0].Reason != "temporary_ban" ||
		!q.Pacing.Pauses[0].Until.After(time.Now().Add(50*time.Minute)) {
		t.Errorf("banned queue: %+v", q.Pacing)
	}
	if it := q.Items[0]; it.ExpectedAt != nil || it.Reason == nil || *it.Reason != "not_connected" {
		t.Errorf("while banned the item says %+v", it)
	}
}

// TestAdmissionExactAtTheEdges: a device admits exactly its limit at
// once, refuses the next with the exact wait, and admits again once that
// wait is over.
func TestAdmissionExactAtTheEdges(t *testing.T) {
	ts := newTestServer(t)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)

	// 30 a day: a refusal waits 48 minutes, far longer than this test.
	daily := ts.createDevice(t, admin, "daily", engineSim)
	ts.do("PATCH", "/api/devices/"+itoa(daily.Device.ID), map[string]any{"rateLimit": map[string]int{"limit": 30, "windowSeconds": 86400}}, admin).
		ok(t, http.StatusOK, nil)
	ts.pair(t, admin, daily.Device.ID)
	send := func(device int64) *response {
		return ts.do("POST", "/api/messages/send-text", map[string]any{"deviceId": device, "to": "628111222333", "text": "x"}, admin)
	}
	for i := 1; i <= 30; i++ {
		r := send(daily.Device.ID)
		r.ok(t, http.StatusAccepted, nil)
		if got := r.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(30-i) {
			t.Fatalf("send %d: remaining %q, want %d", i, got, 30-i)
		}
	}
	r := send(daily.Device.ID)
	r.fails(t, http.StatusTooManyRequests, "rate_limited")
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 2870 || ra > 2880 {
		t.Errorf("Retry-After %q, want the 48 minutes a slot takes", r.Header.Get("Retry-After"))
	}

	// 30 a minute: once the announced wait is over, one more is admitted.
	minute := ts.createDevice(t, admin, "minute", engineSim)
	ts.pair(t, admin, minute.Device.ID)
	for range 30 {
		send(minute.Device.ID).ok(t, http.StatusAccepted, nil)
	}
	var retry int
	for {
		r := send(minute.Device.ID)
		if r.Status == http.StatusAccepted {
			continue // seconds passed while sending: a slot came back
		}
		r.fails(t, http.StatusTooManyRequests, "rate_limited")
		retry, _ = strconv.Atoi(r.Header.Get("Retry-After"))
		if retry < 1 || retry > 2 {
			t.Fatalf("Retry-After %q at 30/m, want at most the 2 s a slot takes", r.Header.Get("Retry-After"))
		}
		break
	}
	time.Sleep(time.Duration(retry) * time.Second) // the wait the answer announced
	send(minute.Device.ID).ok(t, http.StatusAccepted, nil)
}
