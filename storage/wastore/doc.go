// Package wastore is whatsmeow's key store on the gateway's pebble
// database: the device keys, Signal sessions, identities, prekeys, sender
// keys, app-state keys and versions, contacts, chat settings, message
// secrets, privacy tokens, the decrypted-event buffer and the global LID
// map, under the "wa/" prefix that package storage reserves for it
// (storage.Namespace).
//
// It implements every store interface of the pinned whatsmeow version;
// compile-time guards (store.AllSessionSpecificStores, store.LIDStore,
// store.DeviceContainer) turn an upgrade that adds methods into a build
// error. The behaviour follows whatsmeow's SQL store (store/sqlstore):
// "not found" is nil with no error, an unknown identity is trusted on
// first use, prekey ids grow monotonically, deleting an app-state version
// drops its mutation MACs, and message secrets and privacy tokens are
// found by phone number or LID.
//
// # Devices
//
// A gateway device is known by its id; its WhatsApp JID only after
// pairing. Container.Device returns the device's whatsmeow device, stored
// or fresh, and whatsmeow's own Save at pairing stores it together with
// the id → JID mapping. Logging out (whatsmeow's Delete) or
// Container.Forget deletes everything of the device in one batch, and the
// first save of a new pairing starts from an empty keyspace.
//
// # Durability and transactions
//
// Every write is synced. Pebble has no transactions, so a transaction is an
// indexed batch carried in the context: DoDecryptionTxn (and every
// multi-key write) runs its function with a context whose store calls read
// the batch over the committed data and write into it, then commits it
// synced, all or nothing. The Signal state changed by a decryption and the
// buffered plaintext are therefore stored together or not at all. As in the
// SQL store, there is no isolation between concurrent writers: the device
// actor and whatsmeow's own locks serialise what matters.
//
// # Keyspace
//
// Keys are built only in keys.go and are relative to "wa/". <id> is the
// gateway device id as 8 big-endian bytes; a 0x00 separates string parts.
// Records are a schema-version byte and JSON.
//
//	key                                    value
//	v                                      schema version (uint64)
//	ver                                    WhatsApp Web version learned from WhatsApp (3 × uint32)
//	j/<id>                                 the device's JID (string)
//	d/<id>/dv                              device record (keys, account signature, names)
//	d/<id>/ik/<address>                    identity key (32 bytes)
//	d/<id>/ss/<address>                    Signal session (libsignal bytes)
//	d/<id>/pk/<key id:4>                   prekey: private key (32) + uploaded flag (1)
//	d/<id>/sk/<group> 0 <sender>           sender key (libsignal bytes)
//	d/<id>/ak/<key id>                     app-state sync key record
//	d/<id>/av/<name>                       app-state version (8) + hash (128)
//	d/<id>/am/<name> 0 <len:2><index MAC><version:8>   value MAC
//	d/<id>/ct/<JID>                        contact record
//	d/<id>/cs/<chat JID>                   chat settings record
//	d/<id>/ms/<chat> 0 <sender> 0 <msg id> message secret
//	d/<id>/pt/<JID>                        privacy token: unix time (8) + token
//	d/<id>/eb/<ciphertext SHA-256>         buffered event record
//	lp/<LID user>                          phone number user (global)
//	pl/<phone user>                        LID user (global)
package wastore
