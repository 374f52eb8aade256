package actors

// Device statuses (API.md §3).
const (
	StatusDisconnected = "DISCONNECTED"
	StatusConnecting   = "CONNECTING"
	StatusScanQR       = "SCAN_QR"
	StatusConnected    = "CONNECTED"
	StatusLoggedOut    = "LOGGED_OUT"
	StatusTempBanned   = "TEMP_BANNED"
	StatusFailed       = "FAILED"
)

// Reasons given with a status, stable snake_case codes.
const (
	ReasonRequested         = "requested"
	ReasonQRTimeout         = "qr_timeout"
	ReasonConnectionLost    = "connection_lost"
	ReasonLoggedOut         = "logged_out"
	ReasonTemporaryBan      = "temporary_ban"
	ReasonStreamReplaced    = "stream_replaced"
	ReasonClientOutdated    = "client_outdated"
	ReasonGatewayRestarted  = "gateway_restarted"
	ReasonEngineUnavailable = "engine_unavailable"
	ReasonConnectFailed     = "connect_failed"
	// ReasonPausedPrefix starts the reason of a CONNECTED device whose
	// sending the pacer paused after one of WhatsApp's refusals:
	// paused_rate_limited (every send) or paused_reachout_timelock (first
	// contacts only). The reason clears when the pause ends.
	ReasonPausedPrefix = "paused_"
)

// Message statuses. Outgoing: queued → sent → delivered → read (→ played),
// or failed. Incoming: received.
const (
	MessageQueued    = "queued"
	MessageSent      = "sent"
	MessageDelivered = "delivered"
	MessageRead      = "read"
	MessagePlayed    = "played"
	MessageFailed    = "failed"
	MessageReceived  = "received"
)

// Event types (API.md §6) the device actors emit.
const (
	EventDeviceStatus    = "device.status"
	EventDeviceQR        = "device.qr"
	EventMessageReceived = "message.received"
	EventMessageSent     = "message.sent"
	EventMessageAck      = "message.ack"
	EventMessageFailed   = "message.failed"
	EventMessageReaction = "message.reaction"
	EventMessageEdited   = "message.edited"
	EventMessageRevoked  = "message.revoked"
	EventPresenceUpdate  = "presence.update"
	EventChatPresence    = "chat.presence"
	EventGroupUpdate     = "group.update"
	EventGroupMembers    = "group.participants"
	EventCallOffer       = "call.offer"
)

// messageRank orders outgoing statuses; a receipt never moves a message back.
func messageRank(status string) int {
	switch status {
	case MessageQueued:
		return 0
	case MessageSent:
		return 1
	case MessageDelivered:
		return 2
	case MessageRead:
		return 3
	case MessagePlayed:
		return 4
	}
	return -1
}
