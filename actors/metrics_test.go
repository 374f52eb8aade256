package actors

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// gather collects the gateway's metrics through a pedantic registry, which
// also checks that what Collect sends matches what Describe announced.
func gather(t *testing.T, gw *Gateway) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(gw.Collector()); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// sample returns the one series of a family with the label (or the only
// series when label is empty).
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name, label, value string) *dto.Metric {
	t.Helper()
	for _, m := range fams[name].GetMetric() {
		if label == "" {
			return m
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == label && l.GetValue() == value {
				return m
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return nil
}

// TestWebhookMetrics: an event delivered on the third attempt is one lag
// observation, as long as its retries took, and two failed attempts; an
// event whose endpoint never takes it is given up after the schedule.
func TestWebhookMetrics(t *testing.T) {
	bubble(t, func(t *testing.T) {
		db, ws := bubbleDB(t)
		// The first event goes on the third attempt; nothing after it ever does.
		rc := &receiver{reply: func(n int, _ storage.Event) (int, http.Header) {
			switch {
			case n < 3:
				return http.StatusServiceUnavailable, nil
			case n == 3:
				return http.StatusNoContent, nil
			}
			return http.StatusBadGateway, nil
		}}
		gw := bubbleGateway(t, db, rc)
		newHook(t, gw, ws, WebhookSpec{})
		storeEvents(t, gw, ws, EventMessageReceived)
		time.Sleep(time.Hour)
		synctest.Wait()

		fams := gather(t, gw)
		lag := sample(t, fams, "wagateway_webhook_delivery_lag_seconds", "", "").GetHistogram()
		// The two retries waited at least half of 5 s and of 30 s.
		if lag.GetSampleCount() != 1 || lag.GetSampleSum() < 17.5 {
			t.Errorf("lag: %d observations, %v s in all; want 1, at least 17.5 s", lag.GetSampleCount(), lag.GetSampleSum())
		}
		if v := sample(t, fams, "wagateway_webhook_attempt_failures_total", "", "").GetCounter().GetValue(); v != 2 {
			t.Errorf("attempt failures = %v, want 2", v)
		}

		// The next event is never taken: given up after three days.
		storeEvents(t, gw, ws, EventMessageSent)
		time.Sleep(retryWindow + 13*time.Hour)
		synctest.Wait()
		fams = gather(t, gw)
		attempts := len(rc.got()) - 3
		if v := sample(t, fams, "wagateway_webhook_deliveries_given_up_total", "reason", giveUpExhausted).GetCounter().GetValue(); v != 1 {
			t.Errorf("given up for retries = %v, want 1", v)
		}
		if v := sample(t, fams, "wagateway_webhook_attempt_failures_total", "", "").GetCounter().GetValue(); int(v) != 2+attempts {
			t.Errorf("attempt failures = %v, want %d", v, 2+attempts)
		}
		if c := sample(t, fams, "wagateway_webhook_delivery_lag_seconds", "", "").GetHistogram().GetSampleCount(); c != 1 {
			t.Errorf("lag observations = %d, want still 1", c)
		}
	})
}

// TestDeviceAndSendMetrics: device series carry the device's current
// status and queue; sends count by outcome; a second gateway counts apart.
func TestDeviceAndSendMetrics(t *testing.T) {
	h := newHarness(t)
	d := h.device("phone")
	h.pair(d.ID)
	res, err := h.gw.Send(t.Context(), h.ws, SendRequest{DeviceID: d.ID, To: engine.UserJID("628111222333"), Type: engine.TypeText, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	h.waitMessage(res.Message.ID, MessageSent)

	// The actor counts the send right after storing it, so a reader of the
	// store may see it first.
	var fams map[string]*dto.MetricFamily
	waitFor(t, 5*time.Second, func() error {
		fams = gather(t, h.gw)
		if v := sample(t, fams, "wagateway_messages_sent_total", "outcome", outcomeSent).GetCounter().GetValue(); v != 1 {
			return fmt.Errorf("sent = %v, want 1", v)
		}
		return nil
	})
	if v := sample(t, fams, "wagateway_device_status", "status", StatusConnected).GetGauge().GetValue(); v != 1 {
		t.Errorf("CONNECTED = %v, want 1", v)
	}
	if v := sample(t, fams, "wagateway_device_queue_depth", "device", strconv.FormatInt(d.ID, 10)).GetGauge().GetValue(); v != 0 {
		t.Errorf("queue depth = %v, want 0", v)
	}
	if n := len(fams["wagateway_device_status"].GetMetric()); n != len(deviceStatuses) {
		t.Errorf("%d status series for one device, want one per status (%d)", n, len(deviceStatuses))
	}

	other := newHarness(t)
	if v := sample(t, gather(t, other.gw), "wagateway_messages_sent_total", "outcome", outcomeSent).GetCounter().GetValue(); v != 0 {
		t.Errorf("another gateway: sent = %v, want 0", v)
	}
}
