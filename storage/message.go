package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// MessageError says why a message failed.
type MessageError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MediaInfo describes a message's attachment.
type MediaInfo struct {
	MimeType string `json:"mimetype"`
	Size     int64  `json:"size"`
	FileName string `json:"filename,omitempty"`
	URL      string `json:"url,omitempty"`
	// FileID is the stored copy of the bytes: the file an outgoing
	// message sends, or the cache of inbound media once downloaded.
	FileID   string `json:"fileId,omitempty"`
	Seconds  int    `json:"seconds,omitempty"`
	Waveform []byte `json:"waveform,omitempty"`
}

// Message is a sent or received WhatsApp message and its delivery state.
type Message struct {
	ID          string        `json:"id"` // msg_…, time-ordered
	WorkspaceID int64         `json:"workspaceId"`
	DeviceID    int64         `json:"deviceId"`
	Direction   string        `json:"direction"` // "in" | "out"
	Chat        string        `json:"chat"`      // JID
	From        string        `json:"from,omitempty"`
	FromPhone   string        `json:"fromPhone,omitempty"`
	FromLID     string        `json:"fromLid,omitempty"`
	To          string        `json:"to,omitempty"`
	PushName    string        `json:"pushName,omitempty"`
	IsGroup     bool          `json:"isGroup"`
	FromMe      bool          `json:"fromMe"`
	Type        string        `json:"type"`
	Text        string        `json:"text,omitempty"`
	Caption     string        `json:"caption,omitempty"`
	Media       *MediaInfo    `json:"media,omitempty"`
	QuotedID    string        `json:"quotedId,omitempty"`
	WAID        string        `json:"waId,omitempty"`
	Status      string        `json:"status"` // queued, sent, delivered, read, played, failed, received
	Error       *MessageError `json:"error,omitempty"`
	CreatedAt   time.Time     `json:"createdAt"`
	Timestamp   time.Time     `json:"timestamp"` // WhatsApp's time (server time for sent, sender time for received)
	SentAt      time.Time     `json:"sentAt"`
	DeliveredAt time.Time     `json:"deliveredAt"`
	ReadAt      time.Time     `json:"readAt"`
	FailedAt    time.Time     `json:"failedAt"`

	// Content of the other kinds of message (message_content.go).
	Mentions    []string     `json:"mentions,omitempty"` // JIDs
	LinkPreview bool         `json:"linkPreview,omitempty"`
	Location    *Location    `json:"location,omitempty"`
	Contact     *ContactCard `json:"contact,omitempty"`
	Poll        *Poll        `json:"poll,omitempty"`
	// TargetID is the message a reaction, edit or revocation is about;
	// TargetWAID its WhatsApp id (set alone when the target is unknown).
	TargetID   string `json:"targetId,omitempty"`
	TargetWAID string `json:"targetWaId,omitempty"`
	// MediaRef lets the engine download inbound media. It holds the
	// media's key: never show it.
	MediaRef  string    `json:"mediaRef,omitempty"`
	EditedAt  time.Time `json:"editedAt"`
	RevokedAt time.Time `json:"revokedAt"`
}

const (
	messageIDPrefix = "msg_"
	messageIDLength = len(messageIDPrefix) + sortableIDLength

	// statusQueued is the status that keeps a message in its device's queue.
	statusQueued = "queued"

	defaultListLimit  = 50
	maxListLimit      = 500
	defaultQueueLimit = 50
)

// NewMessageID returns a new time-ordered message id ("msg_" + 26 chars).
func NewMessageID() string { return sortableIDs.next(messageIDPrefix) }

// PutMessage inserts or updates a message (synced) and keeps its indexes:
// per device, per (device, WAID), and the device's send queue while status
// is "queued".
//
// m.ID must come from NewMessageID (ErrInvalid otherwise), and
// m.WorkspaceID and m.DeviceID must be set. A WAID already indexed for
// another message of the device is taken over by m. Calls for different
// messages run concurrently; calls for the same message are serialised.
func (db *DB) PutMessage(m Message) error {
	switch {
	case !isSortableID(m.ID, messageIDPrefix):
		return fmt.Errorf("put message: %w: id %q", ErrInvalid, m.ID)
	case m.WorkspaceID <= 0 || m.DeviceID <= 0:
		return fmt.Errorf("put message %s: %w: workspace %d, device %d", m.ID, ErrInvalid, m.WorkspaceID, m.DeviceID)
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	mu := db.messageLock(m.ID)
	mu.Lock()
	defer mu.Unlock()

	b := db.pdb.NewBatch()
	defer b.Close()
	old, err := db.putMessage(b, m)
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return fmt.Errorf("put message %s: %w", m.ID, err)
	}
	db.queue.stored(m, old)
	return nil
}

// messageLockSeed spreads message ids over DB.messageMu.
var messageLockSeed = maphash.MakeSeed()

func (db *DB) messageLock(id string) *sync.Mutex {
	return &db.messageMu[maphash.String(messageLockSeed, id)%uint64(len(db.messageMu))]
}

// putMessage adds the writes of m to b. It returns the version m replaces
// (nil for a new message), for the caller to pass to queue.stored once b
// is committed; the caller holds the message's lock.
func (db *DB) putMessage(b *pebble.Batch, m Message) (*Message, error) {
	var prev *Message
	old, found := db.queue.get(m.ID)
	if !found || old.WorkspaceID != m.WorkspaceID {
		var err error
		old, err = getRecord[Message](db.pdb, messageKey(m.WorkspaceID, m.ID))
		switch {
		case errors.Is(err, ErrNotFound):
			found = false
		case err != nil:
			return nil, err
		default:
			found = true
		}
	}
	if found {
		prev = &old
		if err := db.dropStaleIndexes(b, old, m); err != nil {
			return nil, err
		}
	}
	if err := setRecord(b, messageKey(m.WorkspaceID, m.ID), m); err != nil {
		return nil, err
	}
	if err := b.Set(deviceMessageKey(m.DeviceID, m.ID), encodeID(m.WorkspaceID), nil); err != nil {
		return nil, err
	}
	if m.WAID != "" {
		if err := b.Set(messageWAIDKey(m.DeviceID, m.WAID), encodeMessageRef(m.WorkspaceID, m.ID), nil); err != nil {
			return nil, err
		}
	}
	if m.Status == statusQueued {
		return prev, b.Set(queueKey(m.DeviceID, m.ID), encodeID(m.WorkspaceID), nil)
	}
	return prev, nil
}

// dropStaleIndexes deletes the index entries of the stored version old that
// the new version m no longer has.
func (db *DB) dropStaleIndexes(b *pebble.Batch, old, m Message) error {
	moved := old.DeviceID != m.DeviceID
	if moved {
		if err := b.Delete(deviceMessageKey(old.DeviceID, old.ID), nil); err != nil {
			return err
		}
	}
	if old.Status == statusQueued && (moved || m.Status != statusQueued) {
		if err := b.Delete(queueKey(old.DeviceID, old.ID), nil); err != nil {
			return err
		}
	}
	if old.WAID == "" || (!moved && old.WAID == m.WAID) {
		return nil
	}
	// The WAID may have been taken over by another message since.
	key := messageWAIDKey(old.DeviceID, old.WAID)
	v, err := get(db.pdb, key)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	_, id, err := decodeMessageRef(v)
	if err != nil {
		return err
	}
	if id != old.ID {
		return nil
	}
	return b.Delete(key, nil)
}

// GetMessage returns a message of workspace ws; ErrNotFound when it is
// missing or belongs to another workspace.
func (db *DB) GetMessage(ws int64, id string) (Message, error) {
	if err := db.acquire(); err != nil {
		return Message{}, err
	}
	defer db.release()
	m, err := getRecord[Message](db.pdb, messageKey(ws, id))
	if err != nil {
		return Message{}, fmt.Errorf("message %q: %w", id, err)
	}
	return m, nil
}

// GetMessageByWAID returns the device's message with that WhatsApp id;
// ErrNotFound when there is none.
func (db *DB) GetMessageByWAID(device int64, waid string) (Message, error) {
	if waid == "" {
		return Message{}, fmt.Errorf("message by WhatsApp id: %w", ErrNotFound)
	}
	if err := db.acquire(); err != nil {
		return Message{}, err
	}
	defer db.release()
	m, err := messageByWAID(db.pdb, device, waid)
	if err != nil {
		return Message{}, fmt.Errorf("message by WhatsApp id %q: %w", waid, err)
	}
	return m, nil
}

func messageByWAID(r pebble.Reader, device int64, waid string) (Message, error) {
	v, err := get(r, messageWAIDKey(device, waid))
	if err != nil {
		return Message{}, err
	}
	ws, id, err := decodeMessageRef(v)
	if err != nil {
		return Message{}, err
	}
	return indexedMessage(r, ws, id)
}

// indexedMessage reads a message an index entry points to.
func indexedMessage(r pebble.Reader, ws int64, id string) (Message, error) {
	m, err := getRecord[Message](r, messageKey(ws, id))
	if errors.Is(err, ErrNotFound) {
		return Message{}, fmt.Errorf("%w: index points to missing message %s", ErrCorrupt, id)
	}
	return m, err
}

// MessageFilter selects messages for ListMessages.
type MessageFilter struct {
	DeviceID  int64  // 0: all
	Chat      string // JID; "": all
	Direction string // "in" | "out" | ""
	Status    string // "": all
	Limit     int    // 1..500 (callers clamp)
	Cursor    string // from a previous page; "" for the first
}

func (f MessageFilter) match(m Message) bool {
	return (f.DeviceID == 0 || m.DeviceID == f.DeviceID) &&
		(f.Chat == "" || m.Chat == f.Chat) &&
		(f.Direction == "" || m.Direction == f.Direction) &&
		(f.Status == "" || m.Status == f.Status)
}

// limit is f.Limit clamped to 1..500, 50 when unset.
func (f MessageFilter) limit() int {
	switch {
	case f.Limit <= 0:
		return defaultListLimit
	case f.Limit > maxListLimit:
		return maxListLimit
	}
	return f.Limit
}

// ListMessages returns a workspace's messages newest first, and the cursor of
// the next page ("" at the end). ErrBadCursor (wrapped) for a bad cursor.
//
// With f.DeviceID set it walks that device's index; otherwise the whole
// workspace. Limit 0 means 50, and more than 500 means 500.
func (db *DB) ListMessages(ws int64, f MessageFilter) ([]Message, string, error) {
	var after string // the last id of the previous page
	if f.Cursor != "" {
		var err error
		if after, err = decodeCursor(f.Cursor); err != nil {
			return nil, "", fmt.Errorf("list messages: %w", err)
		}
	}
	if err := db.acquire(); err != nil {
		return nil, "", err
	}
	defer db.release()
	// A snapshot, so that records read through the device index are from
	// the same moment as the index itself.
	snap := db.pdb.NewSnapshot()
	defer snap.Close()

	limit := f.limit()
	page := make([]Message, 0, min(limit, defaultListLimit))
	more := false
	// add keeps m if it matches; it stops the walk once it sees a match
	// beyond the page, which proves there is a next page.
	add := func(m Message) bool {
		if !f.match(m) {
			return true
		}
		if len(page) == limit {
			more = true
			return false
		}
		page = append(page, m)
		return true
	}

	var err error
	if f.DeviceID != 0 {
		lower := deviceMessagesPrefix(f.DeviceID)
		upper := prefixEnd(lower)
		if after != "" {
			upper = deviceMessageKey(f.DeviceID, after)
		}
		err = scan(snap, lower, upper, true, func(k, v []byte) (bool, error) {
			_, id, err := parseDeviceMessageKey(k)
			if err != nil {
				return false, err
			}
			msgWS, err := decodeID(v)
			if err != nil {
				return false, err
			}
			if msgWS != ws {
				return false, nil // the device, so all its messages, belong to another workspace
			}
			m, err := indexedMessage(snap, ws, id)
			if err != nil {
				return false, err
			}
			return add(m), nil
		})
	} else {
		lower := workspaceMessagesPrefix(ws)
		upper := prefixEnd(lower)
		if after != "" {
			upper = messageKey(ws, after)
		}
		err = scan(snap, lower, upper, true, func(_, v []byte) (bool, error) {
			var m Message
			if err := decodeRecord(v, &m); err != nil {
				return false, err
			}
			return add(m), nil
		})
	}
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	next := ""
	if more {
		next = encodeCursor(page[len(page)-1].ID)
	}
	return page, next, nil
}

// A cursor is the last message id of a page, base64url-encoded so that
// callers treat it as opaque.
func encodeCursor(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

func decodeCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !isSortableID(string(raw), messageIDPrefix) {
		return "", fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	return string(raw), nil
}

// QueuedMessages returns a device's queued outgoing messages, oldest first.
//
// At most limit messages; limit ≤ 0 means 50.
func (db *DB) QueuedMessages(device int64, limit int) ([]Message, error) {
	if limit <= 0 {
		limit = defaultQueueLimit
	}
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	epoch := db.queue.epoch(device) // before the snapshot: see queueCache.fill
	snap := db.pdb.NewSnapshot()
	defer snap.Close()

	queued := []Message{}
	err := scanPrefix(snap, deviceQueuePrefix(device), false, func(k, v []byte) (bool, error) {
		_, id, err := parseQueueKey(k)
		if err != nil {
			return false, err
		}
		ws, err := decodeID(v)
		if err != nil {
			return false, err
		}
		m, ok := db.queue.get(id)
		if !ok || m.WorkspaceID != ws {
			if m, err = indexedMessage(snap, ws, id); err != nil {
				return false, err
			}
			db.queue.fill(m, epoch)
		}
		queued = append(queued, m)
		return len(queued) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("queued messages of device %d: %w", device, err)
	}
	return queued, nil
}
