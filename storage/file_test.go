package storage

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"
)

func TestFiles(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "files@example.com")
	other, _, _ := testAccount(t, db, "other@example.com")
	now := time.Now()

	data := make([]byte, 2*fileChunkSize+12345) // three chunks, the last one short
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	f, err := db.PutFile(File{ID: NewFileID(), WorkspaceID: ws.ID, MimeType: "application/pdf", FileName: "a.pdf", Source: "upload",
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != int64(len(data)) || f.Chunks != 3 || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("stored %+v", f)
	}

	got, err := db.GetFile(ws.ID, f.ID, now)
	if err != nil || got.SHA256 != f.SHA256 || got.FileName != "a.pdf" {
		t.Fatalf("GetFile = %+v, %v", got, err)
	}
	if _, content, err := db.ReadFile(ws.ID, f.ID, now); err != nil || !bytes.Equal(content, data) {
		t.Fatalf("ReadFile: %d bytes, %v", len(content), err)
	}
	_, r, err := db.OpenFile(ws.ID, f.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := iotest.TestReader(r, data); err != nil {
		t.Fatalf("OpenFile reader: %v", err)
	}

	// Invisible to another workspace, after expiry, or by a malformed id.
	for name, lookup := range map[string]func() error{
		"other workspace": func() error { _, err := db.GetFile(other.ID, f.ID, now); return err },
		"expired":         func() error { _, err := db.GetFile(ws.ID, f.ID, now.Add(time.Hour)); return err },
		"malformed id":    func() error { _, err := db.GetFile(ws.ID, "file_x", now); return err },
		"unknown id":      func() error { _, err := db.GetFile(ws.ID, NewFileID(), now); return err },
	} {
		if err := lookup(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}

	// Over the limit, or a failing reader: nothing is stored.
	big := File{ID: NewFileID(), WorkspaceID: ws.ID, ExpiresAt: now.Add(time.Hour)}
	if _, err := db.PutFile(big, bytes.NewReader(data), int64(len(data)-1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	broken := File{ID: NewFileID(), WorkspaceID: ws.ID, ExpiresAt: now.Add(time.Hour)}
	if _, err := db.PutFile(broken, io.MultiReader(bytes.NewReader(data[:fileChunkSize+1]), iotest.ErrReader(io.ErrClosedPipe)), 1<<30); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("failing reader: %v", err)
	}
	for _, id := range []string{big.ID, broken.ID} {
		if _, err := db.GetFile(ws.ID, id, now); !errors.Is(err, ErrNotFound) {
			t.Errorf("refused file %s stored: %v", id, err)
		}
	}
	if _, err := db.PutFile(File{ID: "nope", WorkspaceID: ws.ID, ExpiresAt: now}, bytes.NewReader(nil), 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad id: %v", err)
	}

	// The sweep deletes expired files with their chunks, and only those.
	keep, err := db.PutFile(File{ID: NewFileID(), WorkspaceID: ws.ID, ExpiresAt: now.Add(3 * time.Hour)}, bytes.NewReader([]byte("keep")), 10)
	if err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteExpiredFiles(now.Add(2*time.Hour), 100)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredFiles = %d, %v; want 1", n, err)
	}
	if _, err := db.fileChunk(f.ID, 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("chunk of a deleted file: %v", err)
	}
	if _, content, err := db.ReadFile(ws.ID, keep.ID, now); err != nil || string(content) != "keep" {
		t.Errorf("kept file: %q, %v", content, err)
	}
	if n, err := db.DeleteExpiredFiles(now.Add(2*time.Hour), 100); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v", n, err)
	}
}
