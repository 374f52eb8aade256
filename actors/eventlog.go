package actors

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wa-gateway/wa-gateway/storage"
)

// EventWebhookTest is the type of the event POST /api/webhooks/{id}/test
// sends; it goes to that one endpoint and is not logged.
const EventWebhookTest = "webhook.test"

// eventTypes is every event type of API.md §6.
var eventTypes = []string{
	EventDeviceStatus, EventDeviceQR,
	EventMessageReceived, EventMessageSent, EventMessageAck, EventMessageFailed,
	EventMessageReaction, EventMessageEdited, EventMessageRevoked,
	EventPresenceUpdate, EventChatPresence, EventGroupUpdate, EventGroupMembers,
	EventCallOffer, EventPluginDisabled, EventWebhookTest,
}

// EventTypes lists the event types clients may subscribe to.
func EventTypes() []string { return slices.Clone(eventTypes) }

// IsEventType reports whether t is an event type of API.md §6.
func IsEventType(t string) bool { return slices.Contains(eventTypes, t) }

// EncodeEvent is an event's envelope exactly as every channel (webhooks,
// SSE, WebSocket) carries it (API.md §6).
func EncodeEvent(e storage.Event) ([]byte, error) {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return json.Marshal(e)
}

// newEvent is an event of a workspace (and of a device, unless 0) on its
// way to the log: it has its id, which it keeps through retries and
// replays, and no seq yet.
func newEvent(ws, device int64, typ string, data any) (storage.Event, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return storage.Event{}, fmt.Errorf("encode %s event: %w", typ, err)
	}
	return storage.Event{
		ID:          storage.NewEventID(),
		Type:        typ,
		CreatedAt:   time.Now().UTC(),
		WorkspaceID: ws,
		DeviceID:    device,
		Data:        raw,
	}, nil
}

// QR images in device.qr events: what the REST answer shows (256 px,
// medium error recovery), as a data URL, so that every channel carries the
// same envelope.
const (
	qrImageSize     = 256
	qrRecoveryLevel = qrcode.Medium
)

// qrData is the data of a device.qr event. A code that cannot be drawn
// still goes out, without its image.
func qrData(code string, expiresAt time.Time) deviceQRData {
	d := deviceQRData{Code: code, ExpiresAt: expiresAt.UTC()}
	if png, err := qrcode.Encode(code, qrRecoveryLevel, qrImageSize); err == nil {
		d.Image = "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	}
	return d
}

// eventProcessor is the step of the workspace's pipeline between the
// outbox and the log, where the workspace's JavaScript plugins run
// (ARCHITECTURE.md, "Receive"). It runs on the workspace actor, which owns
// whatever state it keeps.
type eventProcessor interface {
	// Process returns the events to log in place of evs, in order: each
	// changed or not, dropped, or replaced by several. It must not block on
	// I/O (plugins have a time budget); an event it returns without an id
	// gets a new one, and its workspace is always ws.
	Process(ws int64, evs []storage.Event) []storage.Event
}

// passThrough logs events as they are: the pipeline without plugins.
type passThrough struct{}

func (passThrough) Process(_ int64, evs []storage.Event) []storage.Event { return evs }

var _ eventProcessor = passThrough{}
