package actors

import (
	"context"
	"errors"

	"github.com/wa-gateway/wa-gateway/storage"
)

// The facade's view of a device's send queue, and cancellation.

// Queue returns a device's queue: at most limit of the oldest queued
// messages (1 to MaxQueueView), each with when it is expected to go, and
// the pacer's state.
func (g *Gateway) Queue(ctx context.Context, ws, id int64, limit int) (QueueView, error) {
	v, err := g.ask(ctx, ws, id, cmdQueue{limit: limit})
	if err != nil {
		return QueueView{}, err
	}
	return v.(QueueView), nil
}

// CancelMessage cancels a queued message: it fails with the code
// "cancelled" (message.failed) and is never sent. ErrNotCancellable when
// it was sent, failed or is being sent already; ErrMessageNotFound when
// the workspace has no such outgoing message.
func (g *Gateway) CancelMessage(ctx context.Context, ws int64, id string) (storage.Message, error) {
	m, err := g.db.GetMessage(ws, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Message{}, ErrMessageNotFound
	}
	if err != nil {
		return storage.Message{}, err
	}
	v, err := g.ask(ctx, ws, m.DeviceID, cmdCancel{msgID: id})
	if errors.Is(err, ErrDeviceNotFound) {
		return storage.Message{}, ErrMessageNotFound
	}
	if err != nil {
		return storage.Message{}, err
	}
	g.metrics.messageSent(outcomeCancelled)
	return v.(storage.Message), nil
}
