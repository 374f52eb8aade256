package scripting

import (
	"encoding/json"
	"time"
)

// Event is one event as plugins see it: the gateway's event envelope. Its
// fields are those of storage.Event, in the same order, so that either
// converts to the other with a plain conversion.
type Event struct {
	// ID is the event's id (evt_…). Events a plugin adds by splitting one
	// event into several have an empty ID: the caller gives them one.
	ID string `json:"id"`
	// Seq is the event's place in the workspace log; zero before the log
	// append, and then not shown to plugins.
	Seq         uint64    `json:"seq,omitempty"`
	Type        string    `json:"type"`
	CreatedAt   time.Time `json:"createdAt"`
	WorkspaceID int64     `json:"workspaceId"`
	DeviceID    int64     `json:"deviceId,omitempty"`
	// Data is the event's payload, a JSON object.
	Data json.RawMessage `json:"data"`
}

// Reply is a message a plugin asked to send with ctx.reply. Plugins never
// send anything themselves: the caller turns each reply into an ordinary
// send (admitted against the device's rate limit, queued and paced).
type Reply struct {
	// PluginID and Plugin name the plugin that asked.
	PluginID string
	Plugin   string
	// EventID is the event being handled when the plugin asked.
	EventID string
	// DeviceID and Chat say where to send: the device and the chat of the
	// message.received event that was being handled.
	DeviceID int64
	Chat     string
	// InReplyTo is the gateway id (msg_…) of that received message, so
	// that the send can quote it.
	InReplyTo string
	// Text is what to send.
	Text string
}

// Outcome is the result of one onEvent call.
type Outcome struct {
	// Events replace the event given: none when it was dropped, several
	// when it was split. On failure it is the event given, unchanged.
	Events []Event
	// Replies are the ctx.reply calls made (none on failure).
	Replies []Reply
	// Logs are the ctx.log lines written, failed calls included.
	Logs []string
	// Duration is how long the call took, conversions included.
	Duration time.Duration
	// Err is nil on success; otherwise the failure, its Kind one of
	// ErrException, ErrTimeout, ErrStackOverflow, ErrMemory, ErrOutput or
	// ErrInput.
	Err *Error
}
