package api

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// GET /metrics serves Prometheus metrics: the gateway's (device statuses,
// queue depths, sends by outcome, webhook lag and failures, plugin time
// and failures: actors/metrics.go), HTTP latency by route, and the Go
// runtime's and the process's. Each server has its own registry, so that
// servers started side by side in one process (tests) never collide. Like
// the health probes it needs no credential: it shows ids and counts, no
// message, chat or number; keep it off the public network.

// serverMetrics is one server's registry and what it measures itself.
type serverMetrics struct {
	// serve answers a scrape.
	serve fiber.Handler
	// duration is the HTTP latency histogram.
	duration *prometheus.HistogramVec
}

func newServerMetrics(s *Server) *serverMetrics {
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wagateway_http_request_duration_seconds",
		Help:    "HTTP request latency by method, route template and status code.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route", "code"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.gw.Collector(),
		duration,
	)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: promLog{s.log},
		// A metric that cannot be read now (the store is closing, say) is
		// logged and left out; the others are still served.
		ErrorHandling: promhttp.ContinueOnError,
		// Counts its own failures as promhttp_metric_handler_errors_total.
		Registry: reg,
	})
	return &serverMetrics{serve: adaptor.HTTPHandler(h), duration: duration}
}

// observe returns the first handler of a route's chain: it times the
// request under the route's template (never its raw path, which holds
// ids). Errors are
// answered here, as accessLog would, so that the code observed is the one
// sent; a panic is observed as the 500 recoverPanics answers. Requests
// that match no route (arbitrary paths) are not observed.
func (m *serverMetrics) observe(s *Server, route string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		answered := false
		defer func() {
			if !answered {
				m.record(c.Method(), route, fiber.StatusInternalServerError, start)
			}
		}()
		err := c.Next()
		if err != nil {
			err = s.handleError(c, err)
		}
		answered = true
		m.record(c.Method(), route, c.Response().StatusCode(), start)
		return err
	}
}

func (m *serverMetrics) record(method, route string, code int, start time.Time) {
	m.duration.WithLabelValues(method, route, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
}

// serveMetrics answers GET /metrics from the server's registry.
func (s *Server) serveMetrics(c *fiber.Ctx) error { return s.metrics.serve(c) }

// promLog writes promhttp's errors to the server's log.
type promLog struct{ log *slog.Logger }

func (l promLog) Println(v ...any) {
	l.log.Error("metrics", "err", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
