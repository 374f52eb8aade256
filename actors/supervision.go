package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// deviceSupervisor is the strategy of a workspace actor over its devices
// (and of the root over workspaces): a panicking child restarts alone, and
// one that panics more than 10 times a minute is stopped instead of
// spinning; the next request for it starts it afresh.
func deviceSupervisor() actor.SupervisorStrategy {
	return actor.NewOneForOneStrategy(10, time.Minute, func(reason any) actor.Directive {
		return actor.RestartDirective
	})
}
