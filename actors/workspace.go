package actors

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/wa-gateway/wa-gateway/storage"
)

// rootActor supervises one workspace actor per workspace and routes
// ensureDevice to it.
type rootActor struct {
	g          *Gateway
	workspaces map[int64]*actor.PID
}

func (r *rootActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.workspaces = make(map[int64]*actor.PID)
	case ensureDevice:
		ws := m.device.WorkspaceID
		pid, ok := r.workspaces[ws]
		if !ok {
			props := actor.PropsFromProducer(func() actor.Actor { return newWorkspaceActor(r.g, ws) },
				actor.WithSupervisor(deviceSupervisor()))
			var err error
			pid, err = ctx.SpawnNamed(props, fmt.Sprintf("ws-%d", ws))
			if err != nil {
				ctx.Respond(reply{err: fmt.Errorf("spawn workspace %d: %w", ws, err)})
				return
			}
			r.workspaces[ws] = pid
		}
		ctx.RequestWithCustomSender(pid, m, ctx.Sender())
	case *actor.Terminated:
		for ws, pid := range r.workspaces {
			if pid.Equal(m.Who) {
				delete(r.workspaces, ws)
			}
		}
	}
}

// workspaceActor is the single writer of its workspace's event log (so seq
// has no gaps) and the parent of the workspace's device actors.
//
// The pipeline of an event: device actor → appendEvents → [plugins: the
// step where the workspace's JavaScript plugins will filter and transform]
// → seq assigned → appended to the log (synced) → published to the hub.
type workspaceActor struct {
	g       *Gateway
	ws      int64
	log     *slog.Logger
	seq     uint64
	devices map[int64]*actor.PID
}

func newWorkspaceActor(g *Gateway, ws int64) *workspaceActor {
	return &workspaceActor{g: g, ws: ws, log: g.log.With("workspace", ws)}
}

func (w *workspaceActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.devices = make(map[int64]*actor.PID)
		seq, err := w.g.db.LastEventSeq(w.ws)
		if err != nil {
			// Without the last seq the log could get duplicate seqs: fail
			// loudly and let supervision retry.
			panic(fmt.Errorf("workspace %d: read last event seq: %w", w.ws, err))
		}
		w.seq = seq
	case *actor.Restarting:
		w.log.Warn("workspace actor restarting")
	case ensureDevice:
		pid, ok := w.devices[m.device.ID]
		if !ok {
			props := actor.PropsFromProducer(func() actor.Actor { return newDeviceActor(w.g, m.device) })
			var err error
			pid, err = ctx.SpawnNamed(props, fmt.Sprintf("dev-%d", m.device.ID))
			if err != nil {
				ctx.Respond(reply{err: fmt.Errorf("spawn device %d: %w", m.device.ID, err)})
				return
			}
			w.devices[m.device.ID] = pid
		}
		ctx.Respond(reply{val: pid})
	case appendEvents:
		w.append(m.events)
	case *actor.Terminated:
		for id, pid := range w.devices {
			if pid.Equal(m.Who) {
				delete(w.devices, id)
				w.g.forgetDevice(id, pid)
			}
		}
	}
}

// append gives the events their seq and puts them on the log, then wakes the
// subscribers. A failed write is logged and the events are dropped from the
// live stream too, so that subscribers never see what the log does not have.
func (w *workspaceActor) append(pending []pendingEvent) {
	now := time.Now().UTC()
	evs := make([]storage.Event, 0, len(pending))
	for _, p := range pending {
		data, err := json.Marshal(p.data)
		if err != nil {
			w.log.Error("encode event", "type", p.typ, "err", err)
			continue
		}
		evs = append(evs, storage.Event{
			ID:          storage.NewEventID(),
			Type:        p.typ,
			CreatedAt:   now,
			WorkspaceID: w.ws,
			DeviceID:    p.deviceID,
			Data:        data,
		})
	}
	if len(evs) == 0 {
		return
	}
	for i := range evs {
		evs[i].Seq = w.seq + uint64(i) + 1
	}
	if err := w.g.db.AppendEvents(evs); err != nil {
		w.log.Error("append events", "count", len(evs), "err", err)
		return
	}
	w.seq += uint64(len(evs))
	w.g.hub.publish(w.ws, evs)
}
