package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Inbound media: stored on arrival when the session delivers the bytes,
// else downloaded through the session on the first GET and cached as a
// file of the workspace for MediaRetention; and the sweep that deletes
// expired files.

// Defaults of the media settings.
const (
	DefaultMediaRetention = 24 * time.Hour
	DefaultMediaMaxBytes  = 100 << 20
	// mediaDownloadLimit bounds one download of inbound media.
	mediaDownloadLimit = 5 * time.Minute
	// sweepInterval is how often expired files are deleted, sweepBatch how
	// many at most each time.
	sweepInterval = time.Minute
	sweepBatch    = 500
)

type mediaConfig struct {
	publicURL string
	retention time.Duration
	maxBytes  int64
}

func newMediaConfig(cfg Config) mediaConfig {
	m := mediaConfig{publicURL: strings.TrimRight(cfg.PublicURL, "/"), retention: cfg.MediaRetention, maxBytes: cfg.MediaMaxBytes}
	if m.retention <= 0 {
		m.retention = DefaultMediaRetention
	}
	if m.maxBytes <= 0 {
		m.maxBytes = DefaultMediaMaxBytes
	}
	return m
}

// mediaURL is where a message's media is served: absolute under the public
// URL when one is configured, else a path.
func (m mediaConfig) mediaURL(msgID string) string {
	return m.publicURL + "/api/messages/" + msgID + "/media"
}

// storeInboundMedia keeps media that arrived with its bytes as a file of
// the workspace and returns the file's id ("" when it could not).
func (a *deviceActor) storeInboundMedia(msgID string, media *engine.Media) string {
	now := time.Now().UTC()
	f, err := a.g.db.PutFile(storage.File{
		ID: storage.NewFileID(), WorkspaceID: a.dev.WorkspaceID, MimeType: media.MimeType, FileName: media.FileName,
		Source: "inbound", MessageID: msgID, CreatedAt: now, ExpiresAt: now.Add(a.g.media.retention),
	}, bytes.NewReader(media.Data), a.g.media.maxBytes)
	if err != nil {
		a.log.Warn("store inbound media", "msg", msgID, "err", err)
		return ""
	}
	return f.ID
}

// MessageMedia returns the media of a message of the workspace and a
// reader of its bytes: the cached copy, or else a download through the
// device's session, cached for next time. ErrNoMedia when the message has
// none; engine.ErrMediaExpired when WhatsApp no longer has it.
func (g *Gateway) MessageMedia(ctx context.Context, ws int64, id string) (storage.File, io.Reader, error) {
	m, err := g.Message(ctx, ws, id)
	if err != nil {
		return storage.File{}, nil, err
	}
	if m.Media == nil {
		return storage.File{}, nil, ErrNoMedia
	}
	now := time.Now().UTC()
	if m.Media.FileID != "" {
		f, r, err := g.db.OpenFile(ws, m.Media.FileID, now)
		if err == nil {
			return f, r, nil
		}
		if !errors.Is(err, storage.ErrNotFound) {
			return storage.File{}, nil, err
		}
	}
	if m.MediaRef == "" {
		return storage.File{}, nil, engine.ErrMediaExpired
	}
	dl, err := capability[engine.MediaDownloader](ctx, g, ws, m.DeviceID)
	if err != nil {
		return storage.File{}, nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, mediaDownloadLimit)
	defer cancel()
	data, err := dl.DownloadMedia(dctx, m.MediaRef)
	if err != nil {
		return storage.File{}, nil, fmt.Errorf("download media of %s: %w", id, err)
	}
	f, err := g.db.PutFile(storage.File{
		ID: storage.NewFileID(), WorkspaceID: ws, MimeType: m.Media.MimeType, FileName: m.Media.FileName,
		Source: "inbound", MessageID: m.ID, CreatedAt: now, ExpiresAt: now.Add(g.media.retention),
	}, bytes.NewReader(data), g.media.maxBytes)
	if err != nil {
		return storage.File{}, nil, fmt.Errorf("cache media of %s: %w", id, err)
	}
	if _, err := g.ask(ctx, ws, m.DeviceID, cmdMediaFile{msgID: m.ID, fileID: f.ID}); err != nil {
		g.log.Warn("record cached media", "msg", m.ID, "err", err)
	}
	return f, bytes.NewReader(data), nil
}

// sweepFiles deletes expired files every sweepInterval until the gateway
// stops.
func (g *Gateway) sweepFiles() {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-g.sweepDone:
			return
		case now := <-t.C:
			for {
				n, err := g.db.DeleteExpiredFiles(now, sweepBatch)
				if err != nil {
					if !errors.Is(err, storage.ErrClosed) {
						g.log.Error("delete expired files", "err", err)
					}
					break
				}
				if n > 0 {
					g.log.Debug("expired files deleted", "count", n)
				}
				if n < sweepBatch {
					break
				}
			}
		}
	}
}
