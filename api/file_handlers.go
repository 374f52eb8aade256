package api

import (
	"errors"
	"mime"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/storage"
)

// Files: uploads of a workspace, to send later by fileId. They are kept for
// Config.FileRetention and then deleted.

type fileDTO struct {
	ID        string   `json:"id"`
	FileID    string   `json:"fileId"` // the same id, under the name send-media takes
	MimeType  string   `json:"mimetype"`
	Size      int64    `json:"size"`
	SHA256    string   `json:"sha256"`
	FileName  string   `json:"filename,omitempty"`
	CreatedAt nullTime `json:"createdAt"`
	ExpiresAt nullTime `json:"expiresAt"`
}

func newFileDTO(f storage.File) fileDTO {
	return fileDTO{
		ID: f.ID, FileID: f.ID, MimeType: f.MimeType, Size: f.Size, SHA256: f.SHA256, FileName: f.FileName,
		CreatedAt: nullTime(f.CreatedAt), ExpiresAt: nullTime(f.ExpiresAt),
	}
}

// uploadFile stores the multipart field "file" as a file of the workspace:
// at most DocumentMaxBytes, its type the one declared for the part unless
// the content says otherwise.
func (s *Server) uploadFile(c *fiber.Ctx) error {
	p := principalOf(c)
	if !strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm) {
		return validationError("file", "Send the file as multipart/form-data in the field file")
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return validationError("file", "The multipart field file is required")
	}
	if fh.Size > s.cfg.DocumentMaxBytes {
		return mediaTooLarge("document", s.cfg.DocumentMaxBytes)
	}
	r, err := fh.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	head := make([]byte, sniffLen)
	n, _ := r.ReadAt(head, 0)
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(head[:n]))
	declared, _, _ := mime.ParseMediaType(fh.Header.Get(fiber.HeaderContentType))
	mimeType := sniffed
	if declared != "" && declared != "application/octet-stream" &&
		(sniffed == "application/octet-stream" || sniffed == "text/plain" || sameFamily(declared, sniffed)) {
		mimeType = declared // more precise (audio/ogg; an .xlsx the sniffer calls a zip)
	}
	name := filepath.Base(strings.ReplaceAll(fh.Filename, `\`, "/"))
	if name == "." || name == "/" || len(name) > maxFileNameBytes {
		name = ""
	}
	now := s.now().UTC()
	f, err := s.db.PutFile(storage.File{
		ID: storage.NewFileID(), WorkspaceID: p.WorkspaceID, MimeType: mimeType, FileName: name, Source: sourceUpload,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.FileRetention),
	}, r, s.cfg.DocumentMaxBytes)
	if errors.Is(err, storage.ErrTooLarge) {
		return mediaTooLarge("document", s.cfg.DocumentMaxBytes)
	}
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusCreated, newFileDTO(f))
}

// sameFamily reports whether two media types can name the same content:
// the same top-level type, an OGG stream and the audio or video in it, or
// a zip and an Office document built on zip.
func sameFamily(declared, sniffed string) bool {
	switch {
	case top(declared) == top(sniffed):
		return true
	case sniffed == "application/ogg":
		return top(declared) == "audio" || top(declared) == "video"
	}
	return sniffed == "application/zip" && strings.HasPrefix(declared, "application/")
}

func top(mimeType string) string {
	t, _, _ := strings.Cut(mimeType, "/")
	return t
}

// getFile describes a file of the workspace.
func (s *Server) getFile(c *fiber.Ctx) error {
	f, err := s.db.GetFile(principalOf(c).WorkspaceID, c.Params("id"), s.now())
	if errors.Is(err, storage.ErrNotFound) {
		return errFileNotFound
	}
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newFileDTO(f))
}

// fileContent streams a file of the workspace (?download=1: as an attachment).
func (s *Server) fileContent(c *fiber.Ctx) error {
	f, r, err := s.db.OpenFile(principalOf(c).WorkspaceID, c.Params("id"), s.now())
	if errors.Is(err, storage.ErrNotFound) {
		return errFileNotFound
	}
	if err != nil {
		return err
	}
	return sendFileContent(c, f, r, c.QueryBool("download"))
}
