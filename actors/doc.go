// Package actors is the gateway's runtime: one supervised actor per
// WhatsApp device, grouped under one actor per workspace, behind a plain-Go
// facade (Gateway) that the HTTP layer calls.
//
// The tree (protoactor-go, local actors only):
//
//	gateway (root; one-for-one supervisor)
//	└── ws-<id>       workspace actor: single writer of the workspace's event
//	    │             log (gap-free seq) and of its webhooks' records,
//	    │             parent of its devices and webhooks
//	    ├── dev-<id>  device actor: owns its engine.Session, its admission
//	    │             limiter and its durable send queue
//	    └── wh-<id>   webhook actor: delivers the log to one endpoint from
//	                  its durable cursor, in seq order, with retries
//
// Ownership and threading:
//
//   - A device actor is the only writer of its device record and its
//     messages; it persists (synced) before it answers, so a restart loses
//     only memory. A panic in one device actor restarts that actor alone.
//   - Engine callbacks run on the engine's goroutines and only Send a
//     message to their device actor; a session's events carry its
//     generation so that events of a closed session are ignored.
//   - Session.Send runs off the actor (it blocks on the network) and reports
//     back with a sendDone message; one message is in flight per device so
//     the queue keeps its order.
//   - The workspace actor gives events their seq, appends them to the log
//     and publishes them to the hub, whose subscribers (SSE, WebSocket)
//     have bounded buffers: one that falls behind is cut off, never waited for.
//   - Webhook requests run off the webhook actor and report back with
//     attemptDone; retries wait on timers that send retryDue. Each endpoint
//     has its own actor, so a dead or slow one holds only its own
//     deliveries.
//
// # The event log: nothing stored is lost
//
// An event is written twice, each time in one synced batch with what goes
// with it:
//
//  1. The device actor stores the change that caused it (a message, the
//     device record) together with the event, without a seq, in the
//     workspace's outbox (storage: PutMessageWithEvents,
//     PutDeviceWithEvents; AddPendingEvents for an event without a
//     change), then tells the workspace actor (eventsStored).
//  2. The workspace actor gathers what arrives until its flushEvents, drops
//     what is no longer pending, runs the plugin step (eventProcessor: the
//     place JavaScript plugins transform events), gives the rest the next
//     seqs and commits them to the log while removing their outbox entries
//     (storage.CommitEvents). Then it publishes them to the hub and to its
//     webhook actors.
//
// A crash between the two leaves the events in the outbox; the workspace
// actor logs them, with the ids they were stored with, before anything
// else when it starts (the gateway starts every workspace that has pending
// events, webhooks or a log). A write that fails holds new events back
// (they wait in the outbox) until a drain succeeds, so the log keeps the
// order in which events were stored.
//
// The log keeps events for the retention (Config.EventRetention, 72 h by
// default, at least 24 h): each workspace actor removes older ones every
// hour, always keeping the newest so that seq continues. Retention wins
// over a webhook that is further behind: it loses the removed events, and
// its deliveries log records them as expired.
//
// Webhook deliveries are at least once: the webhook actor moves its cursor
// (not synced; a crash only means a redelivery) after the endpoint took
// the event or its retry schedule ran out. The request carries the event
// id as webhook-id, so receivers can drop duplicates.
//
// Every message the actors exchange is listed in messages.go.
package actors
