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
		{fiber.MethodGet, "/metrics", public, s.serveMetrics},

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
		{fiber.MethodGet, "/api/devices/:id/queue", anyCaller, s.deviceQueue},

		{fiber.MethodPost, "/api/devices/:id/sandbox/scan", anyCaller, s.sandboxScan},
		{fiber.MethodPost, "/api/devices/:id/sandbox/inbound", anyCaller, s.sandboxInbound},
		{fiber.MethodPost, "/api/devices/:id/sandbox/fault", anyCaller, s.sandboxFault},
		{fiber.MethodPost, "/api/devices/:id/sandbox/activity", anyCaller, s.sandboxActivity},

		{fiber.MethodPost, "/api/messages/send-text", anyCaller, s.idempotent(s.sendText)},
		{fiber.MethodGet, "/api/messages", anyCaller, s.listMessages},
		{fiber.MethodGet, "/api/messages/:id", anyCaller, s.getMessage},
		{fiber.MethodDelete, "/api/messages/:id", anyCaller, s.cancelMessage},

		// Events: streams of the workspace's log and webhooks
		// (events_handlers.go, ws.go, webhook_handlers.go).
		{fiber.MethodGet, "/api/events", anyCaller, s.workspaceEvents},
		{fiber.MethodGet, "/api/ws", anyCaller, s.workspaceSocket},
		{fiber.MethodGet, "/api/webhooks", adminOnly, s.listWebhooks},
		{fiber.MethodPost, "/api/webhooks", adminOnly, s.createWebhook},
		{fiber.MethodGet, "/api/webhooks/:id", adminOnly, s.getWebhook},
		{fiber.MethodPatch, "/api/webhooks/:id", adminOnly, s.updateWebhook},
		{fiber.MethodDelete, "/api/webhooks/:id", adminOnly, s.deleteWebhook},
		{fiber.MethodPost, "/api/webhooks/:id/test", adminOnly, s.testWebhook},
		{fiber.MethodPost, "/api/webhooks/:id/rotate-secret", adminOnly, s.rotateWebhookSecret},
		{fiber.MethodGet, "/api/webhooks/:id/deliveries", adminOnly, s.listDeliveries},
		{fiber.MethodPost, "/api/webhooks/:id/deliveries/:dlv/redeliver", adminOnly, s.redeliver},

		// Plugins (plugin_handlers.go); the fixed paths come before /:id.
		{fiber.MethodGet, "/api/plugins", adminOnly, s.listPlugins},
		{fiber.MethodPost, "/api/plugins", adminOnly, s.createPlugin},
		{fiber.MethodGet, "/api/plugins/bundled", adminOnly, s.listBundledPlugins},
		{fiber.MethodGet, "/api/plugins/guide", public, s.pluginGuide},
		{fiber.MethodPost, "/api/plugins/test", adminOnly, s.testPlugin},
		{fiber.MethodGet, "/api/plugins/:id", adminOnly, s.getPlugin},
		{fiber.MethodPatch, "/api/plugins/:id", adminOnly, s.updatePlugin},
		{fiber.MethodDelete, "/api/plugins/:id", adminOnly, s.deletePlugin},
		{fiber.MethodPost, "/api/messages/send-media", anyCaller, s.idempotent(s.sendMedia)},
		{fiber.MethodPost, "/api/messages/send-location", anyCaller, s.idempotent(s.sendLocation)},
		{fiber.MethodPost, "/api/messages/send-contact", anyCaller, s.idempotent(s.sendContact)},
		{fiber.MethodPost, "/api/messages/send-reaction", anyCaller, s.idempotent(s.sendReaction)},
		{fiber.MethodPost, "/api/messages/send-poll", anyCaller, s.idempotent(s.sendPoll)},
		{fiber.MethodPost, "/api/messages/:id/edit", anyCaller, s.idempotent(s.editMessage)},
		{fiber.MethodPost, "/api/messages/:id/revoke", anyCaller, s.idempotent(s.revokeMessage)},
		{fiber.MethodGet, "/api/messages/:id/media", anyCaller, s.messageMedia},
		{fiber.MethodPost, "/api/files", anyCaller, s.uploadFile},
		{fiber.MethodGet, "/api/files/:id", anyCaller, s.getFile},
		{fiber.MethodGet, "/api/files/:id/content", anyCaller, s.fileContent},

		// Contacts, chats, presence, groups (contact_handlers.go, group_handlers.go).
		{fiber.MethodGet, "/api/contacts", anyCaller, s.listContacts},
		{fiber.MethodGet, "/api/contacts/check", anyCaller, s.checkContacts},
		{fiber.MethodGet, "/api/contacts/:jid/avatar", anyCaller, s.contactAvatar},
		{fiber.MethodGet, "/api/chats", anyCaller, s.listChats},
		{fiber.MethodPost, "/api/chats/read", anyCaller, s.readChat},
		{fiber.MethodPost, "/api/presence", anyCaller, s.sendPresence},
		{fiber.MethodGet, "/api/groups", anyCaller, s.listGroups},
		{fiber.MethodPost, "/api/groups", anyCaller, s.createGroup},
		{fiber.MethodPost, "/api/groups/:jid/participants", anyCaller, s.updateParticipants},
		{fiber.MethodGet, "/api/groups/:jid/invite-link", anyCaller, s.groupInviteLink},
		{fiber.MethodPost, "/api/groups/:jid/leave", anyCaller, s.leaveGroup},

		// The Device API Keys guide's surface (accounts_handlers.go, whatsapp_handlers.go).
		{fiber.MethodGet, "/api/accounts", anyCaller, s.listAccounts},
		{fiber.MethodPost, "/api/accounts", adminOnly, s.createAccount},
		{fiber.MethodGet, "/api/accounts/:id", anyCaller, s.getAccount},
		{fiber.MethodDelete, "/api/accounts/:id", anyCaller, s.deleteAccount},
		{fiber.MethodPost, "/api/accounts/:id/regenerate-key", anyCaller, s.regenerateAccountKey},
		{fiber.MethodPost, "/api/whatsapp/send", anyCaller, s.idempotent(s.whatsappSend)},
		{fiber.MethodPost, "/api/whatsapp/send/image", anyCaller, s.idempotent(s.whatsappSendImage)},
		{fiber.MethodPost, "/api/whatsapp/send/document", anyCaller, s.idempotent(s.whatsappSendDocument)},
		{fiber.MethodPost, "/api/whatsapp/send/video", anyCaller, s.idempotent(s.whatsappSendVideo)},
		{fiber.MethodPost, "/api/whatsapp/send/audio", anyCaller, s.idempotent(s.whatsappSendAudio)},
		{fiber.MethodGet, "/api/whatsapp/contacts", anyCaller, s.whatsappContacts},
		{fiber.MethodGet, "/api/whatsapp/messages", anyCaller, s.whatsappMessages},
	}
}

// registerRoutes installs the route table with each route's access checks,
// each route timed for GET /metrics under its template (metrics.go).
func (s *Server) registerRoutes() {
	s.metrics = newServerMetrics(s)
	for _, r := range s.routes() {
		chain := []fiber.Handler{s.metrics.observe(s, r.path)}
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
