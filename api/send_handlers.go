package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The send kinds beyond text. Each validates its own content and then goes
// through admit: the same rate limit, durable queue and lifecycle as text.

// Bounds of message content, after WhatsApp's own.
const (
	maxMentions      = 1024
	maxPollOptions   = 12
	maxPollText      = 255
	maxPlaceText     = 1024
	maxVCardBytes    = 64 << 10
	maxEmojiBytes    = 32
	maxFileNameBytes = 255
	// editWindow is how long after sending WhatsApp accepts an edit.
	editWindow = 15 * time.Minute
)

type sendMediaRequest struct {
	DeviceID flexID   `json:"deviceId"`
	To       string   `json:"to"`
	Kind     string   `json:"kind"`
	URL      string   `json:"url"`
	Base64   string   `json:"base64"`
	FileID   string   `json:"fileId"`
	Caption  string   `json:"caption"`
	FileName string   `json:"filename"`
	MimeType string   `json:"mimetype"`
	QuotedID string   `json:"quotedId"`
	Mentions []string `json:"mentions"`
	Wait     bool     `json:"wait"`
}

// sendMedia admits an image, video, audio, voice note, document or sticker.
// The media is resolved (fetched, decoded or looked up), checked and stored
// before the send is admitted, so that bad media is a 4xx with nothing
// queued.
func (s *Server) sendMedia(c *fiber.Ctx) error {
	p := principalOf(c)
	var req sendMediaRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	deviceID, to, err := s.sendTarget(c, p, req.DeviceID, req.To)
	if err != nil {
		return err
	}
	kind, ok := mediaKinds[req.Kind]
	if !ok {
		return validationError("kind", "kind must be image, video, audio, voice, document or sticker")
	}
	if err := checkMediaFields(kind, req.Caption, req.FileName, req.MimeType); err != nil {
		return err
	}
	mentions, err := parseMentions(req.Mentions)
	if err != nil {
		return err
	}
	send, err := s.mediaSend(c, p, deviceID, to, kind, req.Caption, mediaInput{
		URL: req.URL, Base64: req.Base64, FileID: req.FileID, MimeType: req.MimeType, FileName: req.FileName,
	})
	if err != nil {
		return err
	}
	send.QuotedID, send.Mentions = strings.TrimSpace(req.QuotedID), mentions
	return s.admit(c, p, req.Wait, send)
}

// checkMediaFields checks what a media send says about its media: a
// caption only where WhatsApp shows one, a plain file name, a media type.
func checkMediaFields(kind engine.MessageType, caption, fileName, mimeType string) error {
	if len(caption) > maxTextBytes {
		return validationError("caption", fmt.Sprintf("caption must be at most %d bytes", maxTextBytes))
	}
	if caption != "" && (kind == engine.TypeAudio || kind == engine.TypeVoice || kind == engine.TypeSticker) {
		return validationError("caption", "audio, voice notes and stickers have no caption")
	}
	if len(fileName) > maxFileNameBytes || strings.ContainsAny(fileName, "/\\\x00") {
		return validationError("filename", "filename must be a plain file name of at most 255 bytes")
	}
	if mimeType != "" {
		if _, _, err := mime.ParseMediaType(mimeType); err != nil {
			return validationError("mimetype", "mimetype must be a media type such as image/jpeg")
		}
	}
	return nil
}

// mediaSend resolves the media of a checked media send (fetched, decoded
// or looked up, then stored) and returns the send to admit. Every surface's
// media send goes through it.
func (s *Server) mediaSend(c *fiber.Ctx, p *principal, deviceID int64, to engine.JID, kind engine.MessageType, caption string, in mediaInput) (actors.SendRequest, error) {
	// The device must exist (and be seen) before media is fetched for it.
	if _, err := s.visibleDevice(c, p, deviceID); err != nil {
		return actors.SendRequest{}, err
	}
	info, err := s.resolveMedia(c.UserContext(), p.WorkspaceID, kind, in)
	if err != nil {
		return actors.SendRequest{}, err
	}
	return actors.SendRequest{DeviceID: deviceID, To: to, Type: kind, Text: caption, Media: &info}, nil
}

type sendLocationRequest struct {
	DeviceID  flexID   `json:"deviceId"`
	To        string   `json:"to"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name"`
	Address   string   `json:"address"`
	QuotedID  string   `json:"quotedId"`
	Wait      bool     `json:"wait"`
}

// sendLocation admits a location (a pin with an optional name and address).
func (s *Server) sendLocation(c *fiber.Ctx) error {
	p := principalOf(c)
	var req sendLocationRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	deviceID, to, err := s.sendTarget(c, p, req.DeviceID, req.To)
	if err != nil {
		return err
	}
	switch {
	case req.Latitude == nil || math.IsNaN(*req.Latitude) || *req.Latitude < -90 || *req.Latitude > 90:
		return validationError("latitude", "latitude is required, from -90 to 90")
	case req.Longitude == nil || math.IsNaN(*req.Longitude) || *req.Longitude < -180 || *req.Longitude > 180:
		return validationError("longitude", "longitude is required, from -180 to 180")
	case len(req.Name) > maxPlaceText:
		return validationError("name", "name must be at most 1024 bytes")
	case len(req.Address) > maxPlaceText:
		return validationError("address", "address must be at most 1024 bytes")
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: deviceID, To: to, Type: engine.TypeLocation, QuotedID: strings.TrimSpace(req.QuotedID),
		Location: &storage.Location{Latitude: *req.Latitude, Longitude: *req.Longitude, Name: req.Name, Address: req.Address},
	})
}

type sendContactRequest struct {
	DeviceID    flexID `json:"deviceId"`
	To          string `json:"to"`
	Name        string `json:"name"`
	Phone       string `json:"phone"`
	VCard       string `json:"vcard"`
	DisplayName string `json:"displayName"`
	QuotedID    string `json:"quotedId"`
	Wait        bool   `json:"wait"`
}

// sendContact admits a contact card: a vCard as given, or one made from
// name and phone (with the WhatsApp id, so the recipient can message it).
func (s *Server) sendContact(c *fiber.Ctx) error {
	p := principalOf(c)
	var req sendContactRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	deviceID, to, err := s.sendTarget(c, p, req.DeviceID, req.To)
	if err != nil {
		return err
	}
	card, err := contactCard(req)
	if err != nil {
		return err
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: deviceID, To: to, Type: engine.TypeContact, QuotedID: strings.TrimSpace(req.QuotedID), Contact: card,
	})
}

// contactCard validates a contact request and returns its card.
func contactCard(req sendContactRequest) (*storage.ContactCard, error) {
	if req.VCard != "" {
		v := strings.TrimSpace(req.VCard)
		if len(v) > maxVCardBytes || !strings.HasPrefix(strings.ToUpper(v), "BEGIN:VCARD") || !strings.HasSuffix(strings.ToUpper(v), "END:VCARD") {
			return nil, validationError("vcard", "vcard must be a vCard (BEGIN:VCARD … END:VCARD) of at most 64 KiB")
		}
		name := strings.TrimSpace(req.DisplayName)
		if name == "" {
			name = vcardName(v)
		}
		if name == "" {
			return nil, validationError("displayName", "displayName is required when the vCard has no FN line")
		}
		return &storage.ContactCard{DisplayName: name, VCard: v}, nil
	}
	name := strings.TrimSpace(req.Name)
	if name == "" || len(name) > maxPlaceText || strings.ContainsAny(name, "\r\n") {
		return nil, validationError("name", "name (or vcard) is required, one line of at most 1024 bytes")
	}
	phone, err := engine.NormalizePhone(req.Phone)
	if err != nil {
		return nil, validationError("phone", "phone must be a phone number with country code")
	}
	vcard := "BEGIN:VCARD\nVERSION:3.0\nN:;" + vcardEscape(name) + ";;;\nFN:" + vcardEscape(name) +
		"\nTEL;type=CELL;type=VOICE;waid=" + phone + ":+" + phone + "\nEND:VCARD"
	return &storage.ContactCard{DisplayName: name, VCard: vcard}, nil
}

// vcardName is the FN of a vCard, "" when it has none.
func vcardName(v string) string {
	for _, line := range strings.Split(strings.ReplaceAll(v, "\r\n", "\n"), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.SplitN(key, ";", 2)[0], "FN") {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

func vcardEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`).Replace(s)
}

type sendReactionRequest struct {
	DeviceID  flexID  `json:"deviceId"`
	MessageID string  `json:"messageId"`
	Emoji     *string `json:"emoji"`
	Wait      bool    `json:"wait"`
}

// sendReaction admits a reaction to a message of the device (sent or
// received); an empty emoji removes the device's reaction.
func (s *Server) sendReaction(c *fiber.Ctx) error {
	p := principalOf(c)
	var req sendReactionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.MessageID) == "" {
		return validationError("messageId", "messageId is required")
	}
	if req.Emoji == nil {
		return validationError("emoji", `emoji is required ("" removes a reaction)`)
	}
	if len(*req.Emoji) > maxEmojiBytes || strings.ContainsAny(*req.Emoji, " \t\r\n") {
		return validationError("emoji", "emoji must be one emoji")
	}
	target, err := s.targetMessage(c, p, req.DeviceID, req.MessageID)
	if err != nil {
		return err
	}
	if target.WAID == "" || target.Status == statusQueued || target.Status == "failed" {
		return errNotReactable
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: target.DeviceID, To: chatOf(target), Type: engine.TypeReaction, Text: *req.Emoji, TargetID: target.ID,
	})
}

type sendPollRequest struct {
	DeviceID        flexID   `json:"deviceId"`
	To              string   `json:"to"`
	Name            string   `json:"name"`
	Question        string   `json:"question"`
	Options         []string `json:"options"`
	SelectableCount *int     `json:"selectableCount"`
	QuotedID        string   `json:"quotedId"`
	Wait            bool     `json:"wait"`
}

// sendPoll admits a poll: a question, 2 to 12 distinct options, and how
// many a voter may choose (default 1; 0 means any number).
func (s *Server) sendPoll(c *fiber.Ctx) error {
	p := principalOf(c)
	var req sendPollRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	deviceID, to, err := s.sendTarget(c, p, req.DeviceID, req.To)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = strings.TrimSpace(req.Question)
	}
	if name == "" || utf8.RuneCountInString(name) > maxPollText {
		return validationError("name", "name (the question) is required, at most 255 characters")
	}
	if len(req.Options) < 2 || len(req.Options) > maxPollOptions {
		return validationError("options", "options must list 2 to 12 choices")
	}
	seen := map[string]bool{}
	options := make([]string, len(req.Options))
	for i, o := range req.Options {
		o = strings.TrimSpace(o)
		if o == "" || utf8.RuneCountInString(o) > maxPollText || seen[o] {
			return validationError("options", "options must be distinct, non-empty, at most 255 characters each")
		}
		seen[o], options[i] = true, o
	}
	selectable := 1
	if req.SelectableCount != nil {
		selectable = *req.SelectableCount
	}
	if selectable < 0 || selectable > len(options) {
		return validationError("selectableCount", "selectableCount must be from 0 (any number) to the number of options")
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: deviceID, To: to, Type: engine.TypePoll, QuotedID: strings.TrimSpace(req.QuotedID),
		Poll: &storage.Poll{Name: name, Options: options, SelectableCount: selectable},
	})
}

type editRequest struct {
	Text string `json:"text"`
	Wait bool   `json:"wait"`
}

// editMessage admits an edit of a text or caption the device sent.
func (s *Server) editMessage(c *fiber.Ctx) error {
	p := principalOf(c)
	var req editRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Text == "" || len(req.Text) > maxTextBytes {
		return validationError("text", fmt.Sprintf("text is required, at most %d bytes", maxTextBytes))
	}
	target, err := s.targetMessage(c, p, flexID{}, c.Params("id"))
	if err != nil {
		return err
	}
	editable := target.Type == string(engine.TypeText) || (target.Media != nil && target.Type != string(engine.TypeSticker) &&
		target.Type != string(engine.TypeAudio) && target.Type != string(engine.TypeVoice))
	sentAt := target.Timestamp
	if sentAt.IsZero() {
		sentAt = target.SentAt
	}
	if target.Direction != "out" || target.WAID == "" || target.Status == statusQueued || target.Status == "failed" ||
		!editable || !target.RevokedAt.IsZero() || s.now().Sub(sentAt) > editWindow {
		return errNotEditable
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: target.DeviceID, To: chatOf(target), Type: engine.TypeEdit, Text: req.Text, TargetID: target.ID,
	})
}

type revokeRequest struct {
	Wait bool `json:"wait"`
}

// revokeMessage admits the deletion for everyone of a message the device sent.
func (s *Server) revokeMessage(c *fiber.Ctx) error {
	p := principalOf(c)
	var req revokeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	target, err := s.targetMessage(c, p, flexID{}, c.Params("id"))
	if err != nil {
		return err
	}
	if target.Direction != "out" || target.WAID == "" || target.Status == statusQueued || target.Status == "failed" || !target.RevokedAt.IsZero() {
		return errNotRevocable
	}
	return s.admit(c, p, req.Wait, actors.SendRequest{
		DeviceID: target.DeviceID, To: chatOf(target), Type: engine.TypeRevoke, TargetID: target.ID,
	})
}

// targetMessage loads a message the caller can see; naming a device that is
// not the message's is naming a message that does not exist.
func (s *Server) targetMessage(c *fiber.Ctx, p *principal, device flexID, id string) (storage.Message, error) {
	if device.Present && !device.Valid {
		return storage.Message{}, validationError("deviceId", "deviceId must be a device id (a positive integer)")
	}
	m, err := s.visibleMessage(c, p, strings.TrimSpace(id))
	if err != nil {
		return storage.Message{}, err
	}
	if device.Present && device.Value != m.DeviceID {
		return storage.Message{}, actors.ErrMessageNotFound
	}
	return m, nil
}

// visibleMessage loads a message of the workspace that the caller's key
// may see (a device key: its device's; a test key: sandbox devices').
func (s *Server) visibleMessage(c *fiber.Ctx, p *principal, id string) (storage.Message, error) {
	m, err := s.gw.Message(c.UserContext(), p.WorkspaceID, id)
	if err != nil {
		return storage.Message{}, err
	}
	if p.Kind != principalLive && p.Kind != principalSession {
		if _, err := s.visibleDevice(c, p, m.DeviceID); err != nil {
			if errors.Is(err, actors.ErrDeviceNotFound) {
				return storage.Message{}, actors.ErrMessageNotFound
			}
			return storage.Message{}, err
		}
	}
	return m, nil
}

// chatOf is the chat a message belongs to, where a reaction, edit or
// revocation of it goes.
func chatOf(m storage.Message) engine.JID {
	j, err := engine.ParseRecipient(m.Chat)
	if err != nil {
		return engine.JID{User: m.Chat}
	}
	return j
}

// parseMentions reads mentioned users: phone numbers or user/LID JIDs.
func parseMentions(raw []string) ([]engine.JID, error) {
	if len(raw) > maxMentions {
		return nil, validationError("mentions", "mentions may list at most 1024 users")
	}
	out := make([]engine.JID, 0, len(raw))
	for _, r := range raw {
		j, err := engine.ParseRecipient(r)
		if err != nil || (j.Server != engine.ServerUser && j.Server != engine.ServerLID) {
			return nil, validationError("mentions", "mentions must be phone numbers or user JIDs")
		}
		out = append(out, j)
	}
	return out, nil
}

// messageMedia streams the media of a message: the stored copy, or
// downloaded through the device on the first request and cached.
func (s *Server) messageMedia(c *fiber.Ctx) error {
	p := principalOf(c)
	m, err := s.visibleMessage(c, p, c.Params("id"))
	if err != nil {
		return err
	}
	f, r, err := s.gw.MessageMedia(c.UserContext(), p.WorkspaceID, m.ID)
	if err != nil {
		return err
	}
	return sendFileContent(c, f, r, c.QueryBool("download"))
}

// sendFileContent streams a stored file with its type, length and name.
func sendFileContent(c *fiber.Ctx, f storage.File, r io.Reader, attachment bool) error {
	mimeType := f.MimeType
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	c.Set(fiber.HeaderContentType, mimeType)
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	c.Set(fiber.HeaderETag, strconv.Quote(f.SHA256))
	disposition := "inline"
	if attachment {
		disposition = "attachment"
	}
	if f.FileName != "" {
		disposition = mime.FormatMediaType(disposition, map[string]string{"filename": f.FileName})
	}
	c.Set(fiber.HeaderContentDisposition, disposition)
	return c.Status(fiber.StatusOK).SendStream(r, int(f.Size))
}
