package actors

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics for GET /metrics (Prometheus). What happens (sends, webhook
// deliveries) is counted where the actors record it; what is (device
// statuses, queue depths, the plugin step's counters) is read when
// scraped, from the store the actors write before they answer and from
// PluginStats, so that nothing is kept twice and nothing can drift.
//
// Labels stay few and bounded: a device is its numeric id with its
// workspace id and engine; never a message id, a chat or a phone number.
// The metrics belong to the Gateway, not to a global registry, so that
// gateways started side by side (tests) count apart.

// Send outcomes: the values of wagateway_messages_sent_total's label.
const (
	outcomeSent      = "sent"      // the engine accepted it
	outcomeFailed    = "failed"    // it will not be sent (refused, invalid, retries spent)
	outcomeCancelled = "cancelled" // cancelled through the API while queued
)

// Why a webhook delivery was given up: the values of
// wagateway_webhook_deliveries_given_up_total's label.
const (
	giveUpExhausted = "retries_exhausted" // the retry window passed
	giveUpGone      = "endpoint_gone"     // the endpoint answered 410; the webhook is disabled
	giveUpExpired   = "expired"           // retention removed events before they were delivered
)

// deviceStatuses are the statuses wagateway_device_status has a series
// for on every device (0 or 1), so that a device leaving a status is a
// 1 turning to 0 rather than a series that vanishes.
var deviceStatuses = []string{
	StatusDisconnected, StatusConnecting, StatusScanQR, StatusConnected,
	StatusLoggedOut, StatusTempBanned, StatusFailed,
}

// webhookLagBuckets span a prompt delivery (milliseconds) to one that
// succeeded after hours of retries.
var webhookLagBuckets = []float64{
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
	300, 1800, 3600, 4 * 3600, 24 * 3600,
}

// gatewayMetrics are the gateway's own metrics: the counters and the
// histogram the actors feed, and the descriptions of what is read at
// scrape time.
type gatewayMetrics struct {
	sends          *prometheus.CounterVec
	webhookLag     prometheus.Histogram
	webhookFailed  prometheus.Counter
	webhookGivenUp *prometheus.CounterVec

	deviceStatus      *prometheus.Desc
	deviceQueue       *prometheus.Desc
	pluginCalls       *prometheus.Desc
	pluginFailures    *prometheus.Desc
	pluginDropped     *prometheus.Desc
	pluginsDisabled   *prometheus.Desc
	pluginReplies     *prometheus.Desc
	pluginTimeSeconds *prometheus.Desc
}

func newGatewayMetrics() *gatewayMetrics {
	device := []string{"workspace", "device", "engine"}
	deviceStatus := []string{"workspace", "device", "engine", "status"}
	m := &gatewayMetrics{
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wagateway_messages_sent_total",
			Help: "Outgoing messages by the outcome of their send: sent (the engine accepted it), failed, cancelled.",
		}, []string{"outcome"}),
		webhookLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wagateway_webhook_delivery_lag_seconds",
			Help:    "Seconds from an event's creation to its successful delivery to a webhook endpoint (in-order deliveries; tests and redeliveries are not counted).",
			Buckets: webhookLagBuckets,
		}),
		webhookFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wagateway_webhook_attempt_failures_total",
			Help: "Webhook delivery attempts that failed (no answer, or not 2xx); most are retried.",
		}),
		webhookGivenUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wagateway_webhook_deliveries_given_up_total",
			Help: "Webhook deliveries given up, by reason: retries_exhausted, endpoint_gone (410), expired (events removed by retention before delivery; one per gap).",
		}, []string{"reason"}),

		deviceStatus: prometheus.NewDesc("wagateway_device_status",
			"1 for the device's current status, 0 for the others.",
			deviceStatus, nil),
		deviceQueue: prometheus.NewDesc("wagateway_device_queue_depth",
			"Messages queued on the device, waiting to be sent.", device, nil),
		pluginCalls: prometheus.NewDesc("wagateway_plugin_calls_total",
			"Plugin onEvent calls.", nil, nil),
		pluginFailures: prometheus.NewDesc("wagateway_plugin_failures_total",
			"Plugin onEvent calls that failed (the event went on unchanged).", nil, nil),
		pluginDropped: prometheus.NewDesc("wagateway_plugin_dropped_events_total",
			"Events plugins removed.", nil, nil),
		pluginsDisabled: prometheus.NewDesc("wagateway_plugins_disabled_total",
			"Plugins the gateway disabled (repeated failures, or no longer loading).", nil, nil),
		pluginReplies: prometheus.NewDesc("wagateway_plugin_replies_total",
			"Plugin ctx.reply sends by outcome: sent (admitted), refused (rate limit, too many in flight), failed.",
			[]string{"outcome"}, nil),
		pluginTimeSeconds: prometheus.NewDesc("wagateway_plugin_seconds_total",
			"Seconds spent running plugin chains over event batches.", nil, nil),
	}
	// Every label value starts at 0, so that rate() sees the first one.
	for _, o := range []string{outcomeSent, outcomeFailed, outcomeCancelled} {
		m.sends.WithLabelValues(o)
	}
	for _, r := range []string{giveUpExhausted, giveUpGone, giveUpExpired} {
		m.webhookGivenUp.WithLabelValues(r)
	}
	return m
}

// messageSent counts a send's recorded outcome.
func (m *gatewayMetrics) messageSent(outcome string) { m.sends.WithLabelValues(outcome).Inc() }

// webhookDelivered observes the lag of an event delivered at now.
func (m *gatewayMetrics) webhookDelivered(created, now time.Time) {
	m.webhookLag.Observe(max(now.Sub(created), 0).Seconds())
}

// webhookAttemptFailed counts an attempt that did not deliver.
func (m *gatewayMetrics) webhookAttemptFailed() { m.webhookFailed.Inc() }

// webhookGaveUp counts a delivery given up for reason.
func (m *gatewayMetrics) webhookGaveUp(reason string) { m.webhookGivenUp.WithLabelValues(reason).Inc() }

// Collector returns the gateway's metrics for a prometheus.Registry (the
// caller's own: nothing is registered globally). Device statuses, queue
// depths and plugin counters are read when the registry gathers.
func (g *Gateway) Collector() prometheus.Collector { return gatewayCollector{g} }

// gatewayCollector is the Collector of a Gateway.
type gatewayCollector struct{ g *Gateway }

// Describe sends the description of every metric the gateway has.
func (c gatewayCollector) Describe(ch chan<- *prometheus.Desc) {
	m := c.g.metrics
	m.sends.Describe(ch)
	m.webhookLag.Describe(ch)
	m.webhookFailed.Describe(ch)
	m.webhookGivenUp.Describe(ch)
	for _, d := range []*prometheus.Desc{
		m.deviceStatus, m.deviceQueue, m.pluginCalls, m.pluginFailures,
		m.pluginDropped, m.pluginsDisabled, m.pluginReplies, m.pluginTimeSeconds,
	} {
		ch <- d
	}
}

// Collect sends the current value of every metric.
func (c gatewayCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.g.metrics
	m.sends.Collect(ch)
	m.webhookLag.Collect(ch)
	m.webhookFailed.Collect(ch)
	m.webhookGivenUp.Collect(ch)
	c.collectDevices(ch)
	c.collectPlugins(ch)
}

// collectDevices reads every device's status and queue depth from the
// store. The device actors write both before they answer, so the store is
// current; reading it, rather than asking each actor, keeps a scrape from
// waiting on a busy mailbox or waking idle actors.
func (c gatewayCollector) collectDevices(ch chan<- prometheus.Metric) {
	m := c.g.metrics
	devices, err := c.g.db.ListAllDevices()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(m.deviceStatus, err)
		return
	}
	for _, d := range devices {
		ws, id := strconv.FormatInt(d.WorkspaceID, 10), strconv.FormatInt(d.ID, 10)
		known := false
		for _, s := range deviceStatuses {
			v := 0.0
			if d.Status == s {
				v, known = 1, true
			}
			ch <- prometheus.MustNewConstMetric(m.deviceStatus, prometheus.GaugeValue, v, ws, id, d.Engine, s)
		}
		if !known { // a status newer than this list: still shown
			ch <- prometheus.MustNewConstMetric(m.deviceStatus, prometheus.GaugeValue, 1, ws, id, d.Engine, d.Status)
		}
		depth, err := c.g.db.QueueDepth(d.ID)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(m.deviceQueue, err)
			continue
		}
		ch <- prometheus.MustNewConstMetric(m.deviceQueue, prometheus.GaugeValue, float64(depth), ws, id, d.Engine)
	}
}

// collectPlugins turns PluginStats into counters.
func (c gatewayCollector) collectPlugins(ch chan<- prometheus.Metric) {
	m, s := c.g.metrics, c.g.PluginStats()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	counter(m.pluginCalls, float64(s.Calls))
	counter(m.pluginFailures, float64(s.Failures))
	counter(m.pluginDropped, float64(s.Dropped))
	counter(m.pluginsDisabled, float64(s.Disabled))
	counter(m.pluginReplies, float64(s.RepliesSent), outcomeSent)
	counter(m.pluginReplies, float64(s.RepliesRefused), "refused")
	counter(m.pluginReplies, float64(s.RepliesFailed), outcomeFailed)
	counter(m.pluginTimeSeconds, s.Time.Seconds())
}
