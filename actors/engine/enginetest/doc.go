// Package enginetest is the conformance suite every engine.Engine must
// pass: the simulator (sim) and the real engine (live, against the fake
// WhatsApp of package fakewa) run the same scenarios, so that the sandbox
// behaves like the real thing and the device actor can rely on one
// behaviour.
//
// An engine plugs in with a Factory, which builds the engine and a World:
// the WhatsApp side of the scenarios (the phone that pairs a device, the
// contacts it talks to, and the faults). Run then checks pairing,
// connecting, sending with receipts, receiving, the on-WhatsApp check,
// requested and transient disconnects, both kinds of logout, a stream
// replaced by another client, a temporary ban, persistence of the pairing
// across a restart, that a closed session is silent, and groups (create,
// list, send, membership, invite links, admin rights, leave).
package enginetest
