// Package sim is an in-memory WhatsApp: an engine.Engine whose sessions
// pair, connect, send and receive without a network, for sandbox devices,
// demos and fast tests.
//
// A session behaves like a real one seen through the engine seam:
//
//   - Unpaired, Connect shows a QR code after Config.ConnectDelay and a new
//     one every Config.QRInterval; after Config.QRCount codes it gives up
//     with engine.QRTimeout. Paired, Connect logs in (engine.Connected).
//   - The user plays the phone and the contacts through engine.Sandbox:
//     Scan pairs the device with a sandbox phone number ("1555" and the
//     device id), Inbound delivers a message from a contact, Fault injects
//     a disconnect, a logout from the phone, a temporary ban or a stream
//     replaced by another client. PairPhone pairs as if the code had been
//     typed on the phone.
//   - Sent messages are acknowledged at once; the contact's phone then
//     reports them delivered (Config.AckDelay) and read (Config.ReadDelay
//     later). Numbers starting with 999 are not on WhatsApp.
//
// Beyond messages, sessions implement engine.Contacts, engine.Groups,
// engine.Presence and engine.MediaDownloader: everyone a device wrote to
// or heard from is a contact; groups are shared by every device of the
// engine (so two sandbox devices can be in one), and a device's own group
// changes come back to it as events, as WhatsApp notifies the actor's
// devices (GroupUpdate with Joined on create, GroupParticipants on a
// membership change or leaving; other devices in the group are not
// told); inbound media waits on
// the simulated servers until downloaded; the chat presences and read
// receipts a device sends are recorded (Engine.Presences,
// Engine.ReadReceipts) for tests.
//
// What a real client keeps in its key store, the simulator keeps in a
// Store: a small JSON pairing per device, so a paired device reconnects
// without a new scan after a restart. What WhatsApp's servers would keep
// lives in the Engine: temporary bans, receipts waiting for an offline
// device, and the messages each device sent (Engine.Sent), so that a test
// can check at the contact's end that a message arrived exactly once. The
// ids of the messages sent are also kept with the pairing, written before
// a send is acknowledged (Engine.SentIDs): what the contacts received
// survives a restart of the process, as it would on WhatsApp, so that a
// crash test can check it.
//
// Each session runs one goroutine. Every event is emitted from it, in
// order, one at a time, and never after Close returns. Timing comes from
// the time package (so testing/synctest controls it); timestamps in events
// come from Config.Now; randomness (QR codes, message ids, pairing codes)
// from Config.Rand.
package sim
