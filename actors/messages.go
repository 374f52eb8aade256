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

// appendEvents asks the workspace actor to put events on the workspace's
// log. Sent by device actors; not answered.
type appendEvents struct{ events []pendingEvent }

// pendingEvent is an event before the workspace actor gave it a seq.
type pendingEvent struct {
	typ      string
	deviceID int64
	data     any
}

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
		op      string // "scan", "inbound", "fault"
		inbound engine.SandboxInbound
		fault   string
	}
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
