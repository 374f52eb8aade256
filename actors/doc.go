// Package actors is the gateway's runtime: one supervised actor per
// WhatsApp device, grouped under one actor per workspace, behind a plain-Go
// facade (Gateway) that the HTTP layer calls.
//
// The tree (protoactor-go, local actors only):
//
//	gateway (root; one-for-one supervisor)
//	└── ws-<id>       workspace actor: single writer of the workspace's event
//	    │             log (gap-free seq), parent of its devices
//	    └── dev-<id>  device actor: owns its engine.Session, its admission
//	                  limiter and its durable send queue
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
//
// Every message the actors exchange is listed in messages.go.
package actors
