// Package api is WA Gateway's HTTP server: a fiber app that turns the HTTP
// contract into calls on the actor system's facade (actors.Gateway) and, for
// accounts, sessions and keys, on the store.
//
// # URL scheme
//
//	/healthz, /readyz          probes (not enveloped)
//	/metrics                   Prometheus metrics (metrics.go; not enveloped, no key)
//	/auth/register|login|logout dashboard accounts (JSON, cookie sessions)
//	/api/openapi.json          the OpenAPI 3.1 document (openapi.json, embedded)
//	/api/auth/*, /api/keys     who am I, key rotation, workspace keys
//	/api/devices[/{id}[/…]]    devices, pairing, sandbox controls, SSE events
//	/api/messages[/…]          sends of every kind, history, inbound media
//	/api/files[/{id}[/content]] uploads to send by fileId
//	/api/contacts, /api/chats, /api/presence, /api/groups  per device, through its session
//	/api/accounts[/{id}[/…]]   the Device API Keys guide's accounts (devices)
//	/api/whatsapp/*            the guide's sends and history (sessionId, device keys)
//	/api/events, /api/ws       the workspace's event stream (SSE, WebSocket)
//	/api/webhooks[/{id}[/…]]   webhooks, their deliveries log, tests, redelivery
//
// Every route is in the table in routes.go, with who may call it; handlers
// live in <resource>_handlers.go.
//
// # Authentication
//
// Routes under /api (but the OpenAPI document) need a credential: an API
// key in X-API-Key or Authorization: Bearer, a dashboard session token in
// Authorization: Bearer, or the wa_session cookie. Never the query string.
// The middleware resolves it into a principal (workspace, kind live, test,
// device or session, key, device, user) kept in the request's Locals.
// Failed logins are throttled per account and per client address: the
// connection's, or behind Config.TrustedProxies the one X-Forwarded-For
// gives (client_ip.go).
// Keys are parsed and checksummed before any lookup and stored as SHA-256
// hashes; their last use is coalesced in memory and written at most once a
// minute and at shutdown. Cookie-authenticated changes need same-origin
// proof (Fetch Metadata or Origin) against CSRF. Test keys see sandbox
// devices only; device keys see their own device only; anything outside the
// caller's reach answers 404, never 403.
//
// # Envelope
//
// Success is {"success":true,"data":…}; failure is
// {"success":false,"error":{"code","message"}} with field for
// validation_failed and id for internal errors (the id is in the log line).
// errors.go is the only place an error becomes a status and a code: handlers
// return errors, and fiber's ErrorHandler writes them. Times are RFC 3339
// UTC, null when they never happened (dto.go).
//
// # Pagination
//
// Lists answer {"items":[…],"nextCursor":…} under data; limit defaults to 50
// and is clamped to 500; nextCursor is null on the last page and is passed
// back as ?cursor=.
//
// # Streams
//
// Every stream is a view of the workspace's event log (events_handlers.go):
// it subscribes to live events, replays the log after the client's resume
// point (Last-Event-ID or ?since=), then writes live events, skipping those
// already replayed, so a client that reconnects misses nothing. The
// envelope is actors.EncodeEvent's on every channel.
//
// GET /api/devices/{id}/events and GET /api/events are Server-Sent Events
// written with fasthttp's body stream writer (sse.go), with a heartbeat
// comment; the device stream opens with a snapshot of the device's state.
// GET /api/ws is github.com/coder/websocket on fiber's own port: the route's
// middleware (authentication) runs as for any request, then the connection
// is hijacked from fasthttp and the handshake replayed on it (wsadapter.go).
// A subscriber that falls behind is cut off and resumes. Shutdown ends
// every stream, hijacked connections included (streamRegistry).
package api
