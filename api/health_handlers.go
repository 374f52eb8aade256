package api

import (
	"github.com/gofiber/fiber/v2"
)

// healthStatus is the body of the health probes; it is not enveloped, so
// that the probes stay the plain {"status":"ok"} that orchestrators expect.
type healthStatus struct {
	Status string `json:"status"`
}

// healthz answers while the process serves HTTP.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(healthStatus{Status: "ok"})
}

// readyz answers 200 while the gateway can do its work: actors running and
// the store readable.
func (s *Server) readyz(c *fiber.Ctx) error {
	if s.stopCtx.Err() != nil {
		return errNotReady
	}
	if err := s.gw.Ready(); err != nil {
		s.log.Warn("not ready", "component", "gateway", "err", err)
		return errNotReady
	}
	if err := s.db.Ping(); err != nil {
		s.log.Warn("not ready", "component", "storage", "err", err)
		return errNotReady
	}
	return c.JSON(healthStatus{Status: "ok"})
}
