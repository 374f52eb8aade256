package api

import "github.com/gofiber/fiber/v2"

// access says who may call a route.
type access int

const (
	public    access = iota // anyone
	anyCaller               // any API key or session
	adminOnly               // workspace keys and sessions; device keys get 403
)

// route is one entry of the route table.
type route struct {
	method  string
	path    string
	access  access
	handler fiber.Handler
}

// routes is every route the server serves. openapi.json describes exactly
// these (a test compares them).
func (s *Server) routes() []route {
	return []route{
		{fiber.MethodGet, "/healthz", public, s.healthz},
		{fiber.MethodGet, "/readyz", public, s.readyz},

		// Dashboard accounts: JSON, but not for integrations.
		{fiber.MethodPost, "/auth/register", public, s.register},
		{fiber.MethodPost, "/auth/login", public, s.login},
		{fiber.MethodPost, "/auth/logout", public, s.logout},

		{fiber.MethodGet, "/api/openapi.json", public, s.openAPIDocument},
		{fiber.MethodGet, "/api/docs", public, s.apiExplorer},
		{fiber.MethodGet, "/api/docs/:file", public, s.apiExplorer},
		{fiber.MethodGet, "/llms.txt", public, s.llmsTxt},
		{fiber.MethodGet, "/llms-full.txt", public, s.llmsFullTxt},
		{fiber.MethodGet, "/", public, s.dashboard},
		{fiber.MethodGet, "/assets/:file", public, s.dashboardAsset},

		{fiber.MethodGet, "/api/auth/me", anyCaller, s.me},
		{fiber.MethodPost, "/api/auth/rotate-key", anyCaller, s.rotateKey},

		{fiber.MethodGet, "/api/keys", adminOnly, s.listKeys},
		{fiber.MethodPost, "/api/keys", adminOnly, s.createKey},
		{fiber.MethodDelete, "/api/keys/:id", adminOnly, s.deleteKey},

		{fiber.MethodGet, "/api/devices", anyCaller, s.listDevices},
		{fiber.MethodPost, "/api/devices", adminOnly, s.createDevice},
		{fiber.MethodGet, "/api/devices/:id", anyCaller, s.getDevice},
		{fiber.MethodPatch, "/api/devices/:id", anyCaller, s.updateDevice},
		{fiber.MethodDelete, "/api/devices/:id", anyCaller, s.deleteDevice},
		{fiber.MethodPost, "/api/devices/:id/connect", anyCaller, s.connectDevice},
		{fiber.MethodPost, "/api/devices/:id/disconnect", anyCaller, s.disconnectDevice},
		{fiber.MethodPost, "/api/devices/:id/logout", anyCaller, s.logoutDevice},
		{fiber.MethodPost, "/api/devices/:id/regenerate-key", anyCaller, s.regenerateDeviceKey},
		{fiber.MethodGet, "/api/devices/:id/qr", anyCaller, s.deviceQR},
		{fiber.MethodPost, "/api/devices/:id/pair-code", anyCaller, s.pairCode},
		{fiber.MethodGet, "/api/devices/:id/events", anyCaller, s.deviceEvents},

		{fiber.MethodPost, "/api/devices/:id/sandbox/scan", anyCaller, s.sandboxScan},
		{fiber.MethodPost, "/api/devices/:id/sandbox/inbound", anyCaller, s.sandboxInbound},
		{fiber.MethodPost, "/api/devices/:id/sandbox/fault", anyCaller, s.sandboxFault},

		{fiber.MethodPost, "/api/messages/send-text", anyCaller, s.sendText},
		{fiber.MethodGet, "/api/messages", anyCaller, s.listMessages},
		{fiber.MethodGet, "/api/messages/:id", anyCaller, s.getMessage},
	}
}

// registerRoutes installs the route table with each route's access checks.
func (s *Server) registerRoutes() {
	for _, r := range s.routes() {
		var chain []fiber.Handler
		switch r.access {
		case anyCaller:
			chain = append(chain, s.authenticate)
		case adminOnly:
			chain = append(chain, s.authenticate, requireAdmin)
		}
		chain = append(chain, r.handler)
		s.app.Add(r.method, r.path, chain...)
	}
}
