package actors

import (
	"errors"
	"fmt"

	"github.com/wa-gateway/wa-gateway/storage"
)

// Queries: contacts, groups, presence, read receipts and media downloads
// do network I/O that can take seconds. The actor hands its connected
// session to the facade, which calls it off the actor (sessions are safe
// for concurrent use), so that a slow query never holds up receipts and
// sends. What a query changes in the device's records goes back through
// the actor, their only writer.

// cmdSession answers the session while the device is connected.
func (a *deviceActor) cmdSession() reply {
	if a.sess == nil || a.dev.Status != StatusConnected {
		return reply{err: fmt.Errorf("%w: the device is %s", ErrNotConnected, a.dev.Status)}
	}
	return reply{val: a.sess}
}

// cmdMediaFile records the cached copy of an inbound message's media.
func (a *deviceActor) cmdMediaFile(m cmdMediaFile) reply {
	msg, err := a.g.db.GetMessage(a.dev.WorkspaceID, m.msgID)
	if errors.Is(err, storage.ErrNotFound) {
		return reply{err: ErrMessageNotFound}
	}
	if err != nil {
		return reply{err: err}
	}
	if msg.DeviceID != a.id || msg.Media == nil {
		return reply{err: ErrMessageNotFound}
	}
	media := *msg.Media
	media.FileID = m.fileID
	msg.Media = &media
	if err := a.g.db.PutMessage(msg); err != nil {
		return reply{err: fmt.Errorf("store message: %w", err)}
	}
	return reply{}
}

// cmdChatRead resets a chat's unread count.
func (a *deviceActor) cmdChatRead(chat string) reply {
	if err := a.g.db.MarkChatRead(a.id, chat); err != nil {
		return reply{err: err}
	}
	return reply{}
}
