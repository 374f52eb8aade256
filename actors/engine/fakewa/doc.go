// Package fakewa is a fake WhatsApp for tests and benchmarks: an
// in-process server that the real whatsmeow client connects to, speaking
// WhatsApp's own protocol, and the phones of simulated accounts.
//
// It serves, on one loopback TLS port, the WebSocket of WhatsApp Web with
// the server side of the Noise handshake (under a test certificate chain),
// the version page of web.whatsapp.com and a media host for uploads and
// downloads. A client reaches it through Server.HTTPClient, which routes
// every host to the server and trusts only its test certificate
// authority. The first Server of a process replaces whatsmeow's WhatsApp
// root key (whatsmeow.WACertPubKey, a process-wide variable) with the
// fake's: a process that runs a fake cannot reach the real WhatsApp, which
// is why the gateway binary never links this package.
//
// What it simulates:
//
//   - Pairing: a client without keys gets QR codes; Phone.ScanQR plays an
//     account's phone scanning one, Phone.EnterCode one typing a pairing
//     code. The phone signs the device's identity with its account key,
//     the server restarts the stream (515) and the device logs in.
//   - Login: prekey count and upload, the active IQ, and the queue of what
//     arrived while the device was offline (messages until the device's
//     receipt, receipts and notifications until its ack): redelivered on
//     every login until acknowledged.
//   - Messages: device lists and prekey bundles (usync, encrypt IQs), acks
//     of sent messages, Signal-encrypted messages between phones and
//     companions (pkmsg, then msg) and between companions, copies for the
//     sender's own devices, delivered and read receipts (Phone.Read,
//     Config.AutoRead), the on-WhatsApp check (accounts exist once
//     Server.Phone created them), and media encrypted as WhatsApp does.
//   - Groups: create, the list of a device's groups, group info, add,
//     remove, promote and demote (admins only, with WhatsApp's per-member
//     error codes), invite links and leaving, each announced to members'
//     companions as a w:gp2 notification; group messages encrypted with
//     sender keys, which members' phones decrypt (Received.Group) and
//     receipt, and members' companions receive. Phone.CreateGroup and
//     Phone.SendGroupText play a phone's side. Groups are addressed by
//     phone number, with each member's LID alongside.
//   - Chat states, calls and presence: Phone.Typing (typing, recording,
//     paused), Phone.Call (an offer, audio or video, nobody answers) and
//     Phone.SetOnline, sent to the companions subscribed to the account's
//     presence; a subscription lasts as long as the companion's
//     connection. Like WhatsApp, none of it waits for an offline device.
//     Unlike WhatsApp, presence reaches a subscriber whether or not it
//     announced itself available.
//   - Faults: Replace (stream replaced), Phone.Unlink (logged out from the
//     phone, 401), Restart (515), Drop (network failure), Ban (temporary
//     ban, 402), and version refusal (Config.MinVersion, 405); a second
//     login of the same device replaces the first.
//
// Every account's phone is always online and keeps its Signal state in
// memory. App state, history sync, group settings (subject, description,
// announce, locked) and joining by invite link are not simulated. Several
// devices and accounts work at once, and the server's state outlives
// client restarts, so a test can restart the gateway against the same
// fake.
package fakewa
