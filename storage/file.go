package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// File is a stored blob of a workspace: an upload, the media of a send
// (fetched from a URL or given inline) or a cached copy of inbound media.
// Its bytes are kept in chunks beside the record; both go when it expires.
type File struct {
	ID          string    `json:"id"` // file_…, time-ordered
	WorkspaceID int64     `json:"workspaceId"`
	MimeType    string    `json:"mimetype"`
	FileName    string    `json:"filename,omitempty"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"` // lowercase hex
	Chunks      int64     `json:"chunks"`
	Source      string    `json:"source"` // upload, url, base64, inbound
	MessageID   string    `json:"messageId,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

const (
	fileIDPrefix = "file_"
	fileIDLength = len(fileIDPrefix) + sortableIDLength

	// fileChunkSize keeps each value well under pebble's memtable size, so
	// that large files neither bloat one entry nor need a huge read to
	// serve a range.
	fileChunkSize = 1 << 20
)

// NewFileID returns a new time-ordered file id ("file_" + 26 chars).
func NewFileID() string { return sortableIDs.next(fileIDPrefix) }

// IsFileID reports whether s has the shape of a file id.
func IsFileID(s string) bool { return isSortableID(s, fileIDPrefix) }

// PutFile stores the bytes read from r as file f, synced, in one batch, and
// returns f with its Size, SHA256 and Chunks set. f.ID must come from
// NewFileID and f.WorkspaceID and f.ExpiresAt must be set (ErrInvalid
// otherwise). More than limit bytes wraps ErrTooLarge and stores nothing;
// a read error stores nothing either.
func (db *DB) PutFile(f File, r io.Reader, limit int64) (File, error) {
	switch {
	case !IsFileID(f.ID):
		return File{}, fmt.Errorf("put file: %w: id %q", ErrInvalid, f.ID)
	case f.WorkspaceID <= 0 || f.ExpiresAt.IsZero():
		return File{}, fmt.Errorf("put file %s: %w: workspace %d, expiry %v", f.ID, ErrInvalid, f.WorkspaceID, f.ExpiresAt)
	}
	if err := db.acquire(); err != nil {
		return File{}, err
	}
	defer db.release()

	b := db.pdb.NewBatch()
	defer b.Close()
	h := sha256.New()
	buf := make([]byte, fileChunkSize)
	f.Size, f.Chunks = 0, 0
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			f.Size += int64(n)
			if f.Size > limit {
				return File{}, fmt.Errorf("put file %s: %w: more than %d bytes", f.ID, ErrTooLarge, limit)
			}
			h.Write(buf[:n])
			if err := b.Set(fileChunkKey(f.ID, f.Chunks), buf[:n], nil); err != nil {
				return File{}, fmt.Errorf("put file %s: %w", f.ID, err)
			}
			f.Chunks++
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return File{}, fmt.Errorf("put file %s: read: %w", f.ID, err)
		}
	}
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	f.CreatedAt, f.ExpiresAt = f.CreatedAt.UTC(), f.ExpiresAt.UTC()
	err := setRecord(b, fileKey(f.WorkspaceID, f.ID), f)
	if err == nil {
		err = b.Set(fileExpiryKey(f.ExpiresAt.Unix(), f.ID), encodeID(f.WorkspaceID), nil)
	}
	if err == nil {
		err = b.Commit(pebble.Sync)
	}
	if err != nil {
		return File{}, fmt.Errorf("put file %s: %w", f.ID, err)
	}
	return f, nil
}

// GetFile returns a file of workspace ws; ErrNotFound when it is missing,
// belongs to another workspace or has expired (now is past ExpiresAt).
func (db *DB) GetFile(ws int64, id string, now time.Time) (File, error) {
	if !IsFileID(id) {
		return File{}, fmt.Errorf("file %q: %w", id, ErrNotFound)
	}
	if err := db.acquire(); err != nil {
		return File{}, err
	}
	defer db.release()
	f, err := getRecord[File](db.pdb, fileKey(ws, id))
	if err == nil && !now.Before(f.ExpiresAt) {
		err = ErrNotFound
	}
	if err != nil {
		return File{}, fmt.Errorf("file %q: %w", id, err)
	}
	return f, nil
}

// ReadFile returns the whole content of a file of workspace ws (see
// GetFile for ErrNotFound). The caller owns the bytes.
func (db *DB) ReadFile(ws int64, id string, now time.Time) (File, []byte, error) {
	f, err := db.GetFile(ws, id, now)
	if err != nil {
		return File{}, nil, err
	}
	data := make([]byte, 0, f.Size)
	for n := range f.Chunks {
		chunk, err := db.fileChunk(f.ID, n)
		if err != nil {
			return File{}, nil, err
		}
		data = append(data, chunk...)
	}
	if int64(len(data)) != f.Size {
		return File{}, nil, fmt.Errorf("file %s: %w: %d bytes stored, record says %d", f.ID, ErrCorrupt, len(data), f.Size)
	}
	return f, data, nil
}

// OpenFile returns a reader of the content of a file of workspace ws (see
// GetFile for ErrNotFound). It reads one chunk at a time, so serving a
// large file does not hold it in memory; a file that expires while it is
// read fails the read with ErrNotFound.
func (db *DB) OpenFile(ws int64, id string, now time.Time) (File, io.Reader, error) {
	f, err := db.GetFile(ws, id, now)
	if err != nil {
		return File{}, nil, err
	}
	return f, &fileReader{db: db, f: f}, nil
}

type fileReader struct {
	db   *DB
	f    File
	next int64  // the next chunk to load
	buf  []byte // what is left of the current chunk
}

func (r *fileReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.next >= r.f.Chunks {
			return 0, io.EOF
		}
		chunk, err := r.db.fileChunk(r.f.ID, r.next)
		if err != nil {
			return 0, err
		}
		r.buf = chunk
		r.next++
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

func (db *DB) fileChunk(id string, n int64) ([]byte, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	chunk, err := get(db.pdb, fileChunkKey(id, n))
	if err != nil {
		return nil, fmt.Errorf("file %s chunk %d: %w", id, n, err)
	}
	return chunk, nil
}

// DeleteExpiredFiles deletes up to limit files that expired by now, with
// their bytes, oldest expiry first, and returns how many it deleted. Each
// file goes in its own synced batch.
func (db *DB) DeleteExpiredFiles(now time.Time, limit int) (int, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	type expired struct {
		key []byte
		ws  int64
		id  string
	}
	var due []expired
	upper := fileExpiryKey(now.Unix()+1, "")
	err := scan(db.pdb, []byte(prefixFileExpiry), upper, false, func(k, v []byte) (bool, error) {
		_, id, err := parseFileExpiryKey(k)
		if err != nil {
			return false, err
		}
		ws, err := decodeID(v)
		if err != nil {
			return false, err
		}
		due = append(due, expired{key: append([]byte(nil), k...), ws: ws, id: id})
		return len(due) < limit, nil
	})
	if err != nil {
		return 0, fmt.Errorf("expired files: %w", err)
	}
	for i, e := range due {
		b := db.pdb.NewBatch()
		chunks := fileChunksPrefix(e.id)
		err := errors.Join(
			b.DeleteRange(chunks, prefixEnd(chunks), nil),
			b.Delete(fileKey(e.ws, e.id), nil),
			b.Delete(e.key, nil),
		)
		if err == nil {
			err = b.Commit(pebble.Sync)
		}
		b.Close()
		if err != nil {
			return i, fmt.Errorf("delete expired file %s: %w", e.id, err)
		}
	}
	return len(due), nil
}
