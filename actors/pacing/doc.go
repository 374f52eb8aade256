// Package pacing holds the gateway's anti-ban policy. For now that is the
// admission limiter; the pacer (when a queued message is actually sent)
// will live here too.
//
// # Admission
//
// A Limiter decides whether the API accepts one more message for a device.
// Its Rate is written "30/m": at most Limit messages per Window. The
// gateway's default is 30/m per device, configurable per device.
//
// The limiter is a GCRA (generic cell rate algorithm). Its emission
// interval is Window/Limit (2 s for 30/m) and its burst is Limit, so a
// fresh limiter admits Limit messages at once and then one per interval:
// over any span of time d it admits at most Limit + d/interval messages.
// GCRA keeps a single timestamp per
// device, needs no background refill, and gives the exact wait for a
// Retry-After header.
//
// The package is pure: nothing here reads the clock or starts a goroutine.
// Every method takes the current time, so tests drive it with exact
// instants, and the owner (one device actor) needs no locking.
//
// Admission is not pacing: a message admitted at the full rate is only
// stored as queued; when it is sent is decided separately, and more slowly.
package pacing
