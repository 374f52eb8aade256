// Package engine is the seam between the gateway and WhatsApp.
//
// It defines the Engine and Session interfaces and the gateway's own types
// for everything that crosses the seam (JIDs, events, outgoing messages).
// It imports nothing of the project and no third-party module, so that the
// actors can be written, tested and reasoned about without knowing which
// WhatsApp implementation sits behind them.
//
// Implementations:
//
//   - engine/sim: an in-memory WhatsApp simulator (sandbox devices, tests).
//   - engine/live: go.mau.fi/whatsmeow on the gateway's own pebble store.
//
// Threading: an implementation calls the emit function given to Open from
// its own goroutines. Emit must not block for long and must not call back
// into the Session; the device actor only forwards the event to its mailbox.
package engine
