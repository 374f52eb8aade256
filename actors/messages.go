package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Every message the actors exchange, in one place. Commands are imperative
// and answered with a reply; notifications are past tense and not answered.

// reply is the answer to every command: a value or an error.
type reply struct {
	val any
	err error
}

// ---- root and workspace actors

// ensureDevice asks the root (then the workspace actor) for the device's
// actor, spawning it when needed. Answered with *actor.PID.
type ensureDevice struct{ device storage.Device }

// ensureWorkspace asks the root for the workspace's actor, spawning it when
// needed. Answered with *actor.PID.
type ensureWorkspace struct{ ws int64 }

// eventsStored tells the workspace actor that a device actor stored events
// in the workspace's outbox (with the change that caused them); the
// workspace actor logs them. Not answered.
type eventsStored struct{ events []storage.Event }

// flushEvents is sent by the workspace actor to itself when events arrive:
// those stored until it is read are logged with one write.
type flushEvents struct{}

// drainOutbox asks the workspace actor to log whatever its outbox holds
// (after a failed write).
type drainOutbox struct{}

// compactLog is the workspace actor's retention timer firing.
type compactLog struct{}

// Webhook commands to the workspace actor, the single writer of its
// webhooks' records (answered with reply: the stored storage.Webhook).
type (
	cmdCreateWebhook struct{ hook storage.Webhook }
	// cmdChangeWebhook applies change to the stored record, stores it and
	// tells the webhook's actor.
	cmdChangeWebhook struct {
		id     string
		change func(*storage.Webhook) error
	}
	cmdDeleteWebhook struct{ id string }
)

// webhookGone tells the workspace actor that an endpoint answered 410
// Gone: it is disabled. Not answered.
type webhookGone struct{ id string }

// ---- webhook actor notifications

// eventsLogged tells the workspace's webhook actors that these events were
// just logged, so that one that is caught up needs no read.
type eventsLogged struct{ events []storage.Event }

// webhookChanged hands a webhook actor its new record.
type webhookChanged struct{ hook storage.Webhook }

// attemptDone is the result of a delivery attempt that ran off the actor.
type attemptDone struct {
	gen uint64
	res attemptResult
}

// retryDue is a webhook's backoff timer firing.
type retryDue struct{ gen uint64 }

// ---- device actor commands (answered with reply)

type (
	cmdConnect    struct{}
	cmdDisconnect struct{}
	cmdLogout     struct{}
	cmdQR         struct{}
	cmdPairPhone  struct{ phone string }
	cmdSend       struct{ req SendRequest }
	cmdUpdate     struct{ patch DevicePatch }
	cmdDelete     struct{}
	cmdSandbox    struct {
		op       string // "scan", "inbound", "fault", "activity"
		inbound  engine.SandboxInbound
		fault    string
		activity engine.SandboxActivity
	}
	// cmdSession asks for the connected session, to call off the actor
	// (queries that do network I/O). Answered with engine.Session.
	cmdSession struct{}
	// cmdMediaFile records the cached copy of an inbound message's media.
	cmdMediaFile struct{ msgID, fileID string }
	// cmdChatRead resets a chat's unread count after its read receipts went out.
	cmdChatRead struct{ chat string }
	// cmdQueue asks for the device's queue, forecast and pacing state
	// (answered with QueueView): at most limit messages.
	cmdQueue struct{ limit int }
	// cmdCancel cancels a queued message (answered with the message as
	// stored, failed with the code "cancelled").
	cmdCancel struct{ msgID string }
)

// ---- device actor notifications (to itself)

// engineEvent carries an event from the session's goroutines. gen tells
// events of a closed session (before a restart) from the current one's.
type engineEvent struct {
	gen uint64
	ev  engine.Event
}

// sendDone is the result of a Session.Send that ran off the actor.
type sendDone struct {
	gen   uint64
	msgID string
	res   engine.SendResult
	err   error
}

// pump asks the device actor to send its next queued message if it can.
type pump struct{}

// paceDue is the pacing timer firing: ask the pacer again. gen tells the
// current timer from one that was replaced or stopped since.
type paceDue struct{ gen uint64 }

// checkDone is the result of an on-WhatsApp check (Session.CheckPhones)
// that ran off the actor, for the pacer.
type checkDone struct {
	gen   uint64
	msgID string
	phone string
	on    bool
	err   error
}

// reconnect is a reconnect timer firing.
type reconnect struct{ gen uint64 }

// crash makes a device actor panic on its own goroutine: supervision tests
// use it to prove that one failing device restarts alone.
type crash struct{}

// deviceStopped tells the root that a device actor is gone for good.
type deviceStopped struct {
	deviceID int64
	pid      *actor.PID
}
