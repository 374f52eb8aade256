// Package storage is the gateway's embedded store: workspaces, users,
// sessions, API keys, devices, messages, the event log and engine state, in
// one pebble database.
//
// # Durability and atomicity
//
// Every write a client is told about is committed with pebble.Sync; a write
// that touches several records (a record and its indexes, an account, a
// device with its key, a device's deletion) is one batch, so it is stored
// whole or not at all. Only TouchKeys (last-used times), the lazy
// deletion of expired sessions and a webhook's progress (its cursor and
// deliveries log, where a loss means a redelivery) skip the sync.
//
// # The event log and its outbox
//
// An event is stored twice on its way to the log. The writer of the change
// that caused it (a device actor) stores the change and the event, without
// a seq, under eo/ in one synced batch (PutMessageWithEvents,
// PutDeviceWithEvents, AddPendingEvents). The workspace's log writer then
// gives it the next seq and moves it to ev/ in one synced batch
// (CommitEvents), so an event is either pending or on the log, never both
// and never neither. After a crash, what is still pending is committed
// first (PendingEvents), with the id it was stored with. CompactEvents
// drops events older than the retention, but never the newest one, so that
// seq continues after it.
//
// Pebble has no transactions. Writes whose correctness depends on what is
// stored (ID allocation, uniqueness of e-mails, device names and key
// hashes) run under one mutex of the DB, and all writers live in this
// process. A device's messages and a workspace's events each have a single
// writer (the device's and the workspace's actor).
//
// # Reads
//
// Tables carry bloom filters and the block cache is DefaultCacheSize
// unless Options say otherwise. Queued messages are also kept decoded in
// memory (queue_cache.go): written through by the store's own message
// writes, so the cache follows the commits, while the queue index stays
// the truth of what is queued.
//
// # Keyspace
//
// Keys are built and parsed only in keys.go. Integers in keys are 8-byte
// big-endian, so that byte order is numeric order; hashes are 32 raw bytes;
// a string part is always last. Record values are one schema-version byte
// followed by the record's JSON (codec.go); index values and counters are
// raw big-endian integers.
//
//	prefix  key parts                value                               owner
//	fv      (none)                   format version (uint64)             migrate.go
//	sq/     sequence name            last ID allocated (uint64)          storage.go
//	ws/     workspace ID             Workspace                           account.go
//	us/     user ID                  User                                account.go
//	ue/     e-mail (lower-cased)     user ID                             account.go
//	se/     token hash               Session (hash is the key)           session.go
//	ak/     key ID                   APIKey, with its hash               apikey.go
//	ah/     key hash                 key ID                              apikey.go
//	aw/     workspace ID, key ID     (empty)                             apikey.go
//	dv/     device ID                Device                              device.go
//	dn/     workspace ID, name       device ID                           device.go
//	dw/     workspace ID, device ID  (empty)                             device.go
//	ms/     workspace ID, msg id     Message                             message.go
//	md/     device ID, msg id        workspace ID                        message.go
//	mw/     device ID, WhatsApp id   workspace ID, then msg id           message.go
//	mq/     device ID, msg id        workspace ID (while "queued")       message.go
//	ev/     workspace ID, seq        Event                               event.go
//	eo/     workspace ID, event id   Event without its seq (outbox)      outbox.go
//	wh/     workspace ID, webhook id Webhook, with its secrets           webhook.go
//	wc/     workspace ID, webhook id last seq handled (uint64)          webhook.go
//	wd/     ws ID, webhook id, dlv id Delivery                           delivery.go
//	es/     device ID                engine state, opaque bytes          enginestate.go
//	fl/     workspace ID, file id    File                                file.go
//	fb/     file id (31 bytes), no.  one chunk of the file's bytes       file.go
//	fx/     expiry (Unix s), file id workspace ID                        file.go
//	ch/     device ID, chat JID      Chat                                chat.go
//	dp/     device ID                pacer state (pacing.Snapshot JSON)  pacer.go
//	ik/     workspace ID, key        IdempotencyRecord                   idempotency.go
//	ix/     expiry (Unix s), ws ID, key (empty)                          idempotency.go
//	pl/     workspace ID, plugin id  Plugin                              plugin.go
//	pr/     workspace ID             plugins revision (uint64)           plugin.go
//	wa/     its owner's keys         whatsmeow's store (a Namespace)     rawkv.go, storage/wastore
//
// The wa/ prefix is handed out whole as a Namespace (rawkv.go): raw keys
// and values that storage/wastore builds, versions and documents itself.
//
// Message ids are time-ordered (NewMessageID), so a prefix scan of ms/ or
// md/ in reverse lists messages newest first, and of mq/ forwards yields a
// device's queue oldest first.
//
// # Formats
//
// The fv key holds the database's format version, written when the database
// is created. Open refuses a database from a newer build (ErrFormatTooNew)
// and upgrades an older one with the ordered steps in migrate.go, each
// committed with its new version.
package storage
