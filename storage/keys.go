package storage

import (
	"encoding/binary"
	"fmt"
)

// This file is the only place where byte keys are built and parsed; doc.go
// has the keyspace table. A key is a prefix followed by its parts: integers
// as 8-byte big-endian (so byte order is numeric order), hashes as their 32
// raw bytes, and at most one string, always last, so it needs no escaping.

// Key prefixes. Each is two letters and a slash (the format key is just
// "fv"), so none is a prefix of another; "wa/" is left to storage/wastore.
const (
	keyFormat = "fv" // the whole key

	prefixSequence        = "sq/"
	prefixWorkspace       = "ws/"
	prefixUser            = "us/"
	prefixUserEmail       = "ue/"
	prefixSession         = "se/"
	prefixAPIKey          = "ak/"
	prefixAPIKeyHash      = "ah/"
	prefixWorkspaceAPIKey = "aw/"
	prefixDevice          = "dv/"
	prefixDeviceName      = "dn/"
	prefixWorkspaceDevice = "dw/"
	prefixMessage         = "ms/"
	prefixDeviceMessage   = "md/"
	prefixMessageWAID     = "mw/"
	prefixMessageQueue    = "mq/"
	prefixEvent           = "ev/"
	prefixEngineState     = "es/"
	prefixFile            = "fl/"
	prefixFileChunk       = "fb/"
	prefixFileExpiry      = "fx/"
	prefixChat            = "ch/"
	prefixReservedWAStore = "wa/"
	prefixEventOutbox     = "eo/"
	prefixWebhook         = "wh/"
	prefixWebhookCursor   = "wc/"
	prefixDelivery        = "wd/"
	prefixPacerState      = "dp/"
	prefixIdempotency     = "ik/"
	prefixIdemExpiry      = "ix/"
	prefixPlugin          = "pl/"
	prefixPluginRevision  = "pr/"
)

// Sizes of fixed-width key parts.
const (
	idSize   = 8
	hashSize = 32
)

// keyPrefixes lists every prefix in use (keys_test.go checks that doc.go
// describes each one).
var keyPrefixes = []string{
	keyFormat, prefixSequence, prefixWorkspace, prefixUser, prefixUserEmail,
	prefixSession, prefixAPIKey, prefixAPIKeyHash, prefixWorkspaceAPIKey,
	prefixDevice, prefixDeviceName, prefixWorkspaceDevice, prefixMessage,
	prefixDeviceMessage, prefixMessageWAID, prefixMessageQueue, prefixEvent,
	prefixEngineState, prefixReservedWAStore,
	prefixEventOutbox, prefixWebhook, prefixWebhookCursor, prefixDelivery,
	prefixFile, prefixFileChunk, prefixFileExpiry, prefixChat,
	prefixPacerState, prefixIdempotency, prefixIdemExpiry,
	prefixPlugin, prefixPluginRevision,
}

// sequence names an ID counter.
type sequence string

const (
	seqWorkspace sequence = "workspace"
	seqUser      sequence = "user"
	seqDevice    sequence = "device"
	seqAPIKey    sequence = "key"
)

func newKey(prefix string, extra int) []byte {
	return append(make([]byte, 0, len(prefix)+extra), prefix...)
}

func appendID(k []byte, id int64) []byte {
	return binary.BigEndian.AppendUint64(k, uint64(id))
}

func formatKey() []byte { return []byte(keyFormat) }

func sequenceKey(s sequence) []byte {
	return append(newKey(prefixSequence, len(s)), s...)
}

func workspaceKey(id int64) []byte { return appendID(newKey(prefixWorkspace, idSize), id) }

func userKey(id int64) []byte { return appendID(newKey(prefixUser, idSize), id) }

// userEmailKey takes the normalised e-mail (see normalizeEmail).
func userEmailKey(email string) []byte {
	return append(newKey(prefixUserEmail, len(email)), email...)
}

func sessionKey(hash [32]byte) []byte {
	return append(newKey(prefixSession, hashSize), hash[:]...)
}

func parseSessionKey(k []byte) ([32]byte, error) {
	r := readKey(k, prefixSession)
	h := r.hash()
	return h, r.end()
}

func apiKeyKey(id int64) []byte { return appendID(newKey(prefixAPIKey, idSize), id) }

func apiKeyHashKey(hash [32]byte) []byte {
	return append(newKey(prefixAPIKeyHash, hashSize), hash[:]...)
}

func parseAPIKeyHashKey(k []byte) ([32]byte, error) {
	r := readKey(k, prefixAPIKeyHash)
	h := r.hash()
	return h, r.end()
}

func workspaceAPIKeysPrefix(ws int64) []byte {
	return appendID(newKey(prefixWorkspaceAPIKey, 2*idSize), ws)
}

func workspaceAPIKeyKey(ws, id int64) []byte { return appendID(workspaceAPIKeysPrefix(ws), id) }

func parseWorkspaceAPIKeyKey(k []byte) (ws, id int64, err error) {
	r := readKey(k, prefixWorkspaceAPIKey)
	ws, id = r.id(), r.id()
	return ws, id, r.end()
}

func devicesPrefix() []byte { return []byte(prefixDevice) }

func deviceKey(id int64) []byte { return appendID(newKey(prefixDevice, idSize), id) }

func parseDeviceKey(k []byte) (int64, error) {
	r := readKey(k, prefixDevice)
	id := r.id()
	return id, r.end()
}

func deviceNameKey(ws int64, name string) []byte {
	return append(appendID(newKey(prefixDeviceName, idSize+len(name)), ws), name...)
}

func parseDeviceNameKey(k []byte) (ws int64, name string, err error) {
	r := readKey(k, prefixDeviceName)
	ws, name = r.id(), r.rest()
	return ws, name, r.end()
}

func workspaceDevicesPrefix(ws int64) []byte {
	return appendID(newKey(prefixWorkspaceDevice, 2*idSize), ws)
}

func workspaceDeviceKey(ws, id int64) []byte { return appendID(workspaceDevicesPrefix(ws), id) }

func parseWorkspaceDeviceKey(k []byte) (ws, id int64, err error) {
	r := readKey(k, prefixWorkspaceDevice)
	ws, id = r.id(), r.id()
	return ws, id, r.end()
}

func workspaceMessagesPrefix(ws int64) []byte {
	return appendID(newKey(prefixMessage, idSize+messageIDLength), ws)
}

func messageKey(ws int64, id string) []byte { return append(workspaceMessagesPrefix(ws), id...) }

func parseMessageKey(k []byte) (ws int64, id string, err error) {
	r := readKey(k, prefixMessage)
	ws, id = r.id(), r.rest()
	return ws, id, r.end()
}

func deviceMessagesPrefix(device int64) []byte {
	return appendID(newKey(prefixDeviceMessage, idSize+messageIDLength), device)
}

func deviceMessageKey(device int64, id string) []byte {
	return append(deviceMessagesPrefix(device), id...)
}

func parseDeviceMessageKey(k []byte) (device int64, id string, err error) {
	r := readKey(k, prefixDeviceMessage)
	device, id = r.id(), r.rest()
	return device, id, r.end()
}

func deviceWAIDsPrefix(device int64) []byte {
	return appendID(newKey(prefixMessageWAID, 2*idSize), device)
}

func messageWAIDKey(device int64, waid string) []byte {
	return append(deviceWAIDsPrefix(device), waid...)
}

func parseMessageWAIDKey(k []byte) (device int64, waid string, err error) {
	r := readKey(k, prefixMessageWAID)
	device, waid = r.id(), r.rest()
	return device, waid, r.end()
}

func deviceQueuePrefix(device int64) []byte {
	return appendID(newKey(prefixMessageQueue, idSize+messageIDLength), device)
}

func queueKey(device int64, id string) []byte { return append(deviceQueuePrefix(device), id...) }

func parseQueueKey(k []byte) (device int64, id string, err error) {
	r := readKey(k, prefixMessageQueue)
	device, id = r.id(), r.rest()
	return device, id, r.end()
}

func workspaceEventsPrefix(ws int64) []byte {
	return appendID(newKey(prefixEvent, 2*idSize), ws)
}

func eventKey(ws int64, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(workspaceEventsPrefix(ws), seq)
}

func parseEventKey(k []byte) (ws int64, seq uint64, err error) {
	r := readKey(k, prefixEvent)
	ws = r.id()
	seq = uint64(r.id())
	return ws, seq, r.end()
}

func engineStateKey(device int64) []byte {
	return appendID(newKey(prefixEngineState, idSize), device)
}

func parseEngineStateKey(k []byte) (int64, error) {
	r := readKey(k, prefixEngineState)
	id := r.id()
	return id, r.end()
}

func workspaceFilesPrefix(ws int64) []byte {
	return appendID(newKey(prefixFile, idSize+fileIDLength), ws)
}

func fileKey(ws int64, id string) []byte { return append(workspaceFilesPrefix(ws), id...) }

func parseFileKey(k []byte) (ws int64, id string, err error) {
	r := readKey(k, prefixFile)
	ws, id = r.id(), r.rest()
	return ws, id, r.end()
}

// fileChunksPrefix keys a file's chunks. The file id is a fixed-width part
// (fileIDLength bytes), so the chunk number can follow it.
func fileChunksPrefix(id string) []byte {
	return append(newKey(prefixFileChunk, fileIDLength+idSize), id...)
}

func fileChunkKey(id string, n int64) []byte { return appendID(fileChunksPrefix(id), n) }

func parseFileChunkKey(k []byte) (id string, n int64, err error) {
	r := readKey(k, prefixFileChunk)
	id, n = string(r.take(fileIDLength)), r.id()
	return id, n, r.end()
}

// fileExpiryKey orders files by expiry (Unix seconds) for the sweep.
func fileExpiryKey(expires int64, id string) []byte {
	return append(appendID(newKey(prefixFileExpiry, idSize+fileIDLength), expires), id...)
}

func parseFileExpiryKey(k []byte) (expires int64, id string, err error) {
	r := readKey(k, prefixFileExpiry)
	expires, id = r.id(), r.rest()
	return expires, id, r.end()
}

func deviceChatsPrefix(device int64) []byte {
	return appendID(newKey(prefixChat, idSize+32), device)
}

func chatKey(device int64, jid string) []byte { return append(deviceChatsPrefix(device), jid...) }

func parseChatKey(k []byte) (device int64, jid string, err error) {
	r := readKey(k, prefixChat)
	device, jid = r.id(), r.rest()
	return device, jid, r.end()
}

// The event outbox: events a device actor stored with the change that
// caused them, waiting for the workspace actor to give them a seq.

func workspaceOutboxPrefix(ws int64) []byte {
	return appendID(newKey(prefixEventOutbox, idSize+eventIDLength), ws)
}

func outboxKey(ws int64, eventID string) []byte { return append(workspaceOutboxPrefix(ws), eventID...) }

func parseOutboxKey(k []byte) (ws int64, eventID string, err error) {
	r := readKey(k, prefixEventOutbox)
	ws, eventID = r.id(), r.rest()
	return ws, eventID, r.end()
}

// Webhooks, their cursors and their deliveries. A webhook id has a fixed
// length (webhookIDLength), so the delivery id can follow it.

func workspaceWebhooksPrefix(ws int64) []byte {
	return appendID(newKey(prefixWebhook, idSize+webhookIDLength), ws)
}

func webhookKey(ws int64, id string) []byte { return append(workspaceWebhooksPrefix(ws), id...) }

func parseWebhookKey(k []byte) (ws int64, id string, err error) {
	r := readKey(k, prefixWebhook)
	ws, id = r.id(), r.rest()
	return ws, id, r.end()
}

func webhookCursorKey(ws int64, id string) []byte {
	return append(appendID(newKey(prefixWebhookCursor, idSize+webhookIDLength), ws), id...)
}

func parseWebhookCursorKey(k []byte) (ws int64, id string, err error) {
	r := readKey(k, prefixWebhookCursor)
	ws, id = r.id(), r.rest()
	return ws, id, r.end()
}

func webhookDeliveriesPrefix(ws int64, webhook string) []byte {
	return append(appendID(newKey(prefixDelivery, idSize+webhookIDLength+deliveryIDLength), ws), webhook...)
}

func deliveryKey(ws int64, webhook, id string) []byte {
	return append(webhookDeliveriesPrefix(ws, webhook), id...)
}

func parseDeliveryKey(k []byte) (ws int64, webhook, id string, err error) {
	r := readKey(k, prefixDelivery)
	ws, webhook = r.id(), string(r.take(webhookIDLength))
	id = r.rest()
	return ws, webhook, id, r.end()
}

// A device's pacer state, and the Idempotency-Key answers of a workspace
// with their expiry index (Unix seconds first, so the sweep reads them in
// order; the key, a client's string, is last).

func pacerStateKey(device int64) []byte { return appendID(newKey(prefixPacerState, idSize), device) }

func parsePacerStateKey(k []byte) (int64, error) {
	r := readKey(k, prefixPacerState)
	id := r.id()
	return id, r.end()
}

func idempotencyKey(ws int64, key string) []byte {
	return append(appendID(newKey(prefixIdempotency, idSize+len(key)), ws), key...)
}

func parseIdempotencyKey(k []byte) (ws int64, key string, err error) {
	r := readKey(k, prefixIdempotency)
	ws, key = r.id(), r.rest()
	return ws, key, r.end()
}

func idemExpiryKey(expires, ws int64, key string) []byte {
	return append(appendID(appendID(newKey(prefixIdemExpiry, 2*idSize+len(key)), expires), ws), key...)
}

func parseIdemExpiryKey(k []byte) (expires, ws int64, key string, err error) {
	r := readKey(k, prefixIdemExpiry)
	expires, ws, key = r.id(), r.id(), r.rest()
	return expires, ws, key, r.end()
}

// prefixEnd is the smallest key greater than every key starting with
// prefix: the upper bound of a prefix scan. Nil (no bound) when prefix is
// all 0xff.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// keyReader takes a key's parts in order; the first malformed part sets
// err and makes every later read return a zero value.
type keyReader struct {
	key  []byte
	left []byte
	err  error
}

func readKey(k []byte, prefix string) keyReader {
	if len(k) < len(prefix) || string(k[:len(prefix)]) != prefix {
		return keyReader{key: k, err: fmt.Errorf("%w: key %q: want prefix %q", ErrCorrupt, k, prefix)}
	}
	return keyReader{key: k, left: k[len(prefix):]}
}

func (r *keyReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.left) < n {
		r.err = fmt.Errorf("%w: key %q is too short", ErrCorrupt, r.key)
		return nil
	}
	part := r.left[:n]
	r.left = r.left[n:]
	return part
}

func (r *keyReader) id() int64 {
	part := r.take(idSize)
	if part == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(part))
}

func (r *keyReader) hash() [32]byte {
	var h [32]byte
	copy(h[:], r.take(hashSize))
	return h
}

// rest takes the trailing string part.
func (r *keyReader) rest() string {
	return string(r.take(len(r.left)))
}

// end reports the first error, or a leftover part.
func (r *keyReader) end() error {
	if r.err == nil && len(r.left) > 0 {
		r.err = fmt.Errorf("%w: key %q has %d trailing bytes", ErrCorrupt, r.key, len(r.left))
	}
	return r.err
}

func workspacePluginsPrefix(ws int64) []byte {
	return appendID(newKey(prefixPlugin, idSize+pluginIDLength), ws)
}

func pluginKey(ws int64, id string) []byte { return append(workspacePluginsPrefix(ws), id...) }

func parsePluginKey(k []byte) (ws int64, id string, err error) {
	r := readKey(k, prefixPlugin)
	ws, id = r.id(), r.rest()
	return ws, id, r.end()
}

func pluginRevisionKey(ws int64) []byte {
	return appendID(newKey(prefixPluginRevision, idSize), ws)
}

func parsePluginRevisionKey(k []byte) (int64, error) {
	r := readKey(k, prefixPluginRevision)
	ws := r.id()
	return ws, r.end()
}
