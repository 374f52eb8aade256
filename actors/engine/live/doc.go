// Package live is the engine that talks to the real WhatsApp: an
// engine.Engine named "whatsmeow" on go.mau.fi/whatsmeow, with whatsmeow's
// keys in the gateway's own store (storage/wastore). It is the only package
// of the gateway that drives a whatsmeow client, and no whatsmeow type
// leaves it: convert.go maps whatsmeow's types to the engine's.
//
// # Connection
//
// Each Connect opens a fresh whatsmeow client on the device's stored keys
// (or on fresh keys while unpaired). While unpaired, the codes WhatsApp
// sends are shown in turn as on WhatsApp Web (a minute, then 20 s each),
// then QRTimeout; the session rotates them itself rather than through
// whatsmeow's QR channel, which closes the client from its own goroutine.
// whatsmeow's own reconnect loop is off: the device
// actor reconnects, with backoff, after a Disconnected{Transient: true}. A
// permanent end is reported as its own event and never retried here:
// LoggedOut (unlinked from the phone; whatsmeow has deleted the keys),
// StreamReplaced (another client uses the same keys), TemporaryBan (with
// its expiry) and ClientOutdated. On "client outdated" (405) the engine
// first fetches the current WhatsApp Web version (Config.FetchVersion),
// stores it, and retries once; only if that fails is ClientOutdated
// emitted. A server that closes the connection right after a stream error
// gives whatsmeow two events in either order; the session waits a moment
// (dropGrace) after a drop for the reason before calling it transient.
//
// # Delivery of inbound messages
//
// The client acknowledges a message to WhatsApp only after the event
// handler returned (SynchronousAck), and keeps decrypted plaintext in the
// store's event buffer until then (EnableDecryptedEventBuffer), so a
// message redelivered after a crash is not decrypted twice. The handler
// hands the event to the emit function given to Open, which only queues it
// for the device actor: the message is acknowledged once it is queued, not
// once it is stored. A crash of the whole process in between loses it;
// anything short of that (a network drop, a closed session, a restarted
// actor) does not, because a session that is closed refuses events and
// leaves them unacknowledged for WhatsApp to redeliver. Delivery into the
// gateway is therefore at least once up to the actor's queue.
//
// # Groups
//
// Groups go through whatsmeow's own calls; a send to a group uses the
// member list whatsmeow caches. whatsmeow updates that list in place when
// a membership notification arrives, without guarding against a send to
// the same group reading it at that moment: a data race inside whatsmeow
// that its API gives no way to serialize from here. It needs a membership
// change of a group at the very moment the device sends to it.
//
// # Threading
//
// whatsmeow calls the session's handler from its own goroutines. The
// session keeps its state under one mutex and emits while holding it, so
// the events it emits are in the order of its state changes; emit must
// only queue. Close waits for every goroutine the session started.
package live
