package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/egress"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Media given to a send: fetched from a URL, decoded from base64 or taken
// from an uploaded file; size-limited; its type sniffed and checked
// against the kind; stored as a file of the workspace (durably, before the
// send is admitted) so that the queued message can be sent after a restart.

// Defaults for the media settings of Config.
const (
	DefaultMediaMaxBytes     = 16 << 20  // images, video, audio, voice notes, stickers
	DefaultDocumentMaxBytes  = 100 << 20 // documents and uploads (WhatsApp's own limit is 2 GB)
	DefaultFileRetention     = 24 * time.Hour
	DefaultMediaFetchTimeout = 60 * time.Second
)

// maxMediaRedirects bounds the redirects followed when fetching media;
// each hop is checked against the private-address guard again.
const maxMediaRedirects = 5

// sniffLen is how much content http.DetectContentType looks at.
const sniffLen = 512

// File sources, as stored.
const (
	sourceUpload = "upload"
	sourceURL    = "url"
	sourceBase64 = "base64"
)

// mediaKinds are the kinds send-media accepts.
var mediaKinds = map[string]engine.MessageType{
	"image":    engine.TypeImage,
	"video":    engine.TypeVideo,
	"audio":    engine.TypeAudio,
	"voice":    engine.TypeVoice,
	"document": engine.TypeDocument,
	"sticker":  engine.TypeSticker,
}

// mediaInput is the part of a request that names media.
type mediaInput struct {
	URL      string
	Base64   string
	FileID   string
	MimeType string // declared by the client; checked against the content
	FileName string
}

// mediaLimit is the largest media of a kind.
func (s *Server) mediaLimit(kind engine.MessageType) int64 {
	if kind == engine.TypeDocument {
		return s.cfg.DocumentMaxBytes
	}
	return s.cfg.MediaMaxBytes
}

// resolveMedia turns a request's media into a stored file of the workspace
// and its description, or a 4xx: exactly one of url, base64 and fileId;
// within the kind's size limit; content that fits the kind. A fileId of
// another workspace is 404, like an unknown one. Nothing is stored when it
// fails.
func (s *Server) resolveMedia(ctx context.Context, ws int64, kind engine.MessageType, in mediaInput) (storage.MediaInfo, error) {
	given := 0
	for _, v := range []string{in.URL, in.Base64, in.FileID} {
		if strings.TrimSpace(v) != "" {
			given++
		}
	}
	if given != 1 {
		return storage.MediaInfo{}, validationError("url", "Give the media as exactly one of url, base64 or fileId")
	}
	limit := s.mediaLimit(kind)
	now := s.now().UTC()
	var (
		data     []byte
		declared = in.MimeType
		fileName = in.FileName
		source   string
		stored   *storage.File
	)
	switch {
	case in.FileID != "":
		f, content, err := s.db.ReadFile(ws, strings.TrimSpace(in.FileID), now)
		if errors.Is(err, storage.ErrNotFound) {
			return storage.MediaInfo{}, errFileNotFound
		}
		if err != nil {
			return storage.MediaInfo{}, err
		}
		if f.Size > limit {
			return storage.MediaInfo{}, mediaTooLarge(kind, limit)
		}
		stored, data = &f, content
		if declared == "" {
			declared = f.MimeType
		}
		if fileName == "" {
			fileName = f.FileName
		}
	case in.Base64 != "":
		decoded, mimeType, err := decodeBase64Media(in.Base64, limit)
		if err != nil {
			if errors.Is(err, storage.ErrTooLarge) {
				return storage.MediaInfo{}, mediaTooLarge(kind, limit)
			}
			return storage.MediaInfo{}, err
		}
		data, source = decoded, sourceBase64
		if declared == "" {
			declared = mimeType
		}
	default:
		fetched, err := s.fetchMedia(ctx, strings.TrimSpace(in.URL), limit)
		if err != nil {
			if errors.Is(err, storage.ErrTooLarge) {
				return storage.MediaInfo{}, mediaTooLarge(kind, limit)
			}
			return storage.MediaInfo{}, err
		}
		data, source = fetched.data, sourceURL
		if declared == "" {
			declared = fetched.mimeType
		}
		if fileName == "" {
			fileName = fetched.fileName
		}
	}
	if len(data) == 0 {
		return storage.MediaInfo{}, validationError("url", "The media is empty")
	}
	mimeType, err := checkKind(kind, data, declared)
	if err != nil {
		return storage.MediaInfo{}, err
	}
	info := storage.MediaInfo{MimeType: mimeType, Size: int64(len(data)), FileName: fileName}
	if kind == engine.TypeVoice {
		v, err := inspectVoice(data)
		if err != nil {
			return storage.MediaInfo{}, err
		}
		info.Seconds, info.Waveform = v.seconds, v.waveform
	}
	if kind == engine.TypeDocument && info.FileName == "" {
		info.FileName = "document" + extensionOf(mimeType)
	}
	if stored == nil {
		f, err := s.db.PutFile(storage.File{
			ID: storage.NewFileID(), WorkspaceID: ws, MimeType: mimeType, FileName: info.FileName, Source: source,
			CreatedAt: now, ExpiresAt: now.Add(s.cfg.FileRetention),
		}, bytes.NewReader(data), limit)
		if err != nil {
			return storage.MediaInfo{}, fmt.Errorf("store media: %w", err)
		}
		stored = &f
	}
	info.FileID = stored.ID
	return info, nil
}

// decodeBase64Media decodes standard or URL-safe base64, padded or not,
// optionally as a data: URL (whose media type is returned).
func decodeBase64Media(raw string, limit int64) ([]byte, string, error) {
	raw = strings.TrimSpace(raw)
	mimeType := ""
	if rest, ok := strings.CutPrefix(raw, "data:"); ok {
		header, payload, found := strings.Cut(rest, ",")
		if !found || !strings.HasSuffix(header, ";base64") {
			return nil, "", validationError("base64", "base64 must be base64 data or a data: URL with ;base64")
		}
		mimeType = strings.TrimSuffix(header, ";base64")
		raw = payload
	}
	raw = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, raw)
	if int64(base64.StdEncoding.DecodedLen(len(raw))) > limit+3 {
		return nil, "", storage.ErrTooLarge
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err := enc.DecodeString(raw); err == nil {
			if int64(len(data)) > limit {
				return nil, "", storage.ErrTooLarge
			}
			return data, mimeType, nil
		}
	}
	return nil, "", validationError("base64", "base64 is not valid base64")
}

// fetched is media downloaded from a URL.
type fetched struct {
	data     []byte
	mimeType string
	fileName string
}

// fetchMedia downloads media from a client-given URL: http(s) only, every
// hop (redirects included) checked against the private-address guard
// unless AllowPrivateURLs, at most limit bytes, within MediaFetchTimeout.
// Failures say what went wrong without echoing what the remote answered.
func (s *Server) fetchMedia(ctx context.Context, raw string, limit int64) (fetched, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MediaFetchTimeout)
	defer cancel()
	target := raw
	for hop := 0; ; hop++ {
		u, err := egress.CheckURL(ctx, target, s.cfg.AllowPrivateURLs)
		if err != nil {
			return fetched{}, urlError(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return fetched{}, errInvalidURL
		}
		req.Header.Set("User-Agent", "wa-gateway media fetcher")
		resp, err := s.mediaClient.Do(req)
		if err != nil {
			return fetched{}, urlError(err)
		}
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
			loc, err := u.Parse(resp.Header.Get("Location"))
			resp.Body.Close()
			if err != nil || hop >= maxMediaRedirects {
				return fetched{}, mediaFetchFailed("too many or malformed redirects")
			}
			target = loc.String()
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			resp.Body.Close()
			return fetched{}, mediaFetchFailed("the server answered " + strconv.Itoa(resp.StatusCode))
		}
		if resp.ContentLength > limit {
			resp.Body.Close()
			return fetched{}, storage.ErrTooLarge
		}
		data, truncated, err := egress.ReadBody(resp, limit)
		if err != nil {
			return fetched{}, urlError(err)
		}
		if truncated {
			return fetched{}, storage.ErrTooLarge
		}
		out := fetched{data: data, fileName: path.Base(u.Path)}
		if out.fileName == "/" || out.fileName == "." {
			out.fileName = ""
		}
		if ct, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
			out.mimeType = ct
		}
		return out, nil
	}
}

// urlError is the wire error of a failed fetch: an invalid or private URL
// by name, anything else as one uniform failure (a port scan learns
// nothing from the message).
func urlError(err error) error {
	switch {
	case errors.Is(err, egress.ErrPrivateAddress):
		return errURLNotAllowed
	case errors.Is(err, egress.ErrInvalidURL):
		return errInvalidURL
	case errors.Is(err, context.DeadlineExceeded):
		return mediaFetchFailed("it took too long")
	}
	return mediaFetchFailed("it could not be reached")
}

// checkKind sniffs the content and checks that it fits the kind; it
// returns the media type to send. A declared type is used when the content
// does not tell (plain text, unknown binary) and must fit the kind too.
func checkKind(kind engine.MessageType, data []byte, declared string) (string, error) {
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(data[:min(len(data), sniffLen)]))
	declared = strings.ToLower(strings.TrimSpace(declared))
	if d, _, err := mime.ParseMediaType(declared); err == nil {
		declared = d
	} else {
		declared = ""
	}
	generic := sniffed == "application/octet-stream" || sniffed == "text/plain"
	mismatch := func(found string) error {
		return &apiError{status: http.StatusBadRequest, code: errMediaKindMismatch.code,
			message: fmt.Sprintf("The content is %s, which cannot be sent as %s", found, kind)}
	}
	switch kind {
	case engine.TypeDocument:
		if declared != "" {
			return declared, nil
		}
		return sniffed, nil
	case engine.TypeVoice:
		if !isOggOpus(data) {
			return "", errVoiceFormat
		}
		return "audio/ogg; codecs=opus", nil
	case engine.TypeSticker:
		if sniffed != "image/webp" {
			return "", mismatch(orUnknown(sniffed, generic))
		}
		return sniffed, nil
	}
	fits := func(t string) bool {
		switch kind {
		case engine.TypeImage:
			return strings.HasPrefix(t, "image/") && t != "image/svg+xml"
		case engine.TypeVideo:
			return strings.HasPrefix(t, "video/")
		case engine.TypeAudio:
			return strings.HasPrefix(t, "audio/") || t == "application/ogg"
		}
		return false
	}
	switch {
	case !generic && kind == engine.TypeAudio && sniffed == "video/mp4":
		return "audio/mp4", nil // an .m4a has the same container as video
	case !generic && fits(sniffed):
		if sniffed == "application/ogg" {
			return "audio/ogg", nil
		}
		return sniffed, nil
	case !generic:
		return "", mismatch(sniffed)
	case declared != "" && fits(declared):
		return declared, nil
	}
	return "", mismatch(orUnknown(declared, declared == ""))
}

func orUnknown(t string, unknown bool) string {
	if unknown {
		return "of an unrecognised type"
	}
	return t
}

// extensionOf is a file extension for a media type ("" when unknown).
func extensionOf(mimeType string) string {
	exts, err := mime.ExtensionsByType(mimeType)
	if err != nil || len(exts) == 0 {
		return ""
	}
	return exts[0]
}

// mediaTooLarge is the 413 of media over its kind's limit.
func mediaTooLarge(kind engine.MessageType, limit int64) error {
	what := "Media"
	if kind == engine.TypeDocument {
		what = "A document"
	}
	return &apiError{status: http.StatusRequestEntityTooLarge, code: errMediaTooLarge.code,
		message: fmt.Sprintf("%s may be at most %d bytes", what, limit)}
}

// mediaFetchFailed is the 400 of a URL that gave no media.
func mediaFetchFailed(why string) error {
	return &apiError{status: http.StatusBadRequest, code: errMediaFetchFailed.code,
		message: "Could not fetch the media URL: " + why}
}
