package live

import (
	"context"
	"errors"
	"fmt"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// Send implements engine.Session. A message to a phone number first
// checks that the number has a device on WhatsApp (whatsmeow caches the
// answer); media is uploaded first. It blocks until WhatsApp acknowledged
// the message.
func (s *session) Send(ctx context.Context, msg engine.OutMessage) (engine.SendResult, error) {
	to, err := waJID(msg.To)
	if err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", err)
	}
	if to.Server == types.DefaultUserServer {
		devices, err := a.cli.GetUserDevices(ctx, []types.JID{to})
		if err != nil {
			return engine.SendResult{}, fmt.Errorf("send: device list of %s: %w", to, transportError(err))
		}
		if !hasDevice(devices, to) {
			return engine.SendResult{}, fmt.Errorf("send to %s: %w", to.User, engine.ErrNotOnWhatsApp)
		}
	}
	content, err := s.outgoing(ctx, a, to, msg)
	if err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", err)
	}
	resp, err := a.cli.SendMessage(ctx, to, content, whatsmeow.SendRequestExtra{ID: types.MessageID(msg.WAID)})
	if err != nil {
		return engine.SendResult{}, fmt.Errorf("send: %w", sendError(to, err))
	}
	return engine.SendResult{WAID: string(resp.ID), ServerTime: resp.Timestamp}, nil
}

// sendError maps a failed send: to a group the device is not in (whatsmeow
// could not read its members, or WhatsApp refused the message with 403 or
// 404) it is engine.ErrGroupNotFound.
func sendError(to types.JID, err error) error {
	if to.Server == types.GroupServer {
		code, _ := serverErrorCode(err)
		if code == 403 || code == 404 || errors.Is(err, whatsmeow.ErrGroupNotFound) || errors.Is(err, whatsmeow.ErrNotInGroup) {
			return fmt.Errorf("%w: %v", engine.ErrGroupNotFound, err)
		}
	}
	return transportError(err)
}

func hasDevice(devices []types.JID, user types.JID) bool {
	for _, d := range devices {
		if d.User == user.User {
			return true
		}
	}
	return false
}

// outgoing builds the WhatsApp message of msg, uploading its media.
func (s *session) outgoing(ctx context.Context, a *attempt, to types.JID, msg engine.OutMessage) (*waE2E.Message, error) {
	quote := s.contextInfo(a, to, msg)
	if msg.Media != nil {
		return s.outgoingMedia(ctx, a, msg, quote)
	}
	cli := a.cli
	switch msg.Type {
	case "", engine.TypeText:
		if quote == nil {
			return &waE2E.Message{Conversation: proto.String(msg.Text)}, nil
		}
		return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(msg.Text), ContextInfo: quote}}, nil
	case engine.TypeLocation:
		l := msg.Location
		if l == nil {
			return nil, fmt.Errorf("%w: location message without a location", ErrIncomplete)
		}
		return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: proto.Float64(l.Latitude), DegreesLongitude: proto.Float64(l.Longitude),
			Name: optional(l.Name), Address: optional(l.Address), ContextInfo: quote,
		}}, nil
	case engine.TypeContact:
		c := msg.Contact
		if c == nil || c.VCard == "" {
			return nil, fmt.Errorf("%w: contact message without a vCard", ErrIncomplete)
		}
		return &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
			DisplayName: proto.String(c.DisplayName), Vcard: proto.String(c.VCard), ContextInfo: quote,
		}}, nil
	case engine.TypePoll:
		p := msg.Poll
		if p == nil || p.Name == "" || len(p.Options) < 2 {
			return nil, fmt.Errorf("%w: a poll needs a name and two options", ErrIncomplete)
		}
		m := cli.BuildPollCreation(p.Name, p.Options, p.SelectableCount)
		m.PollCreationMessage.ContextInfo = quote
		return m, nil
	case engine.TypeReaction, engine.TypeEdit, engine.TypeRevoke:
		t := msg.Target
		if t == nil || t.WAID == "" {
			return nil, fmt.Errorf("%w: %s without a target message", ErrIncomplete, msg.Type)
		}
		sender := types.EmptyJID
		if !t.FromMe {
			sender = to
			if !t.Sender.IsZero() {
				if j, err := waJID(t.Sender); err == nil {
					sender = j
				}
			}
		}
		switch msg.Type {
		case engine.TypeReaction:
			return cli.BuildReaction(to, sender, types.MessageID(t.WAID), msg.Text), nil
		case engine.TypeEdit:
			return cli.BuildEdit(to, types.MessageID(t.WAID), &waE2E.Message{Conversation: proto.String(msg.Text)}), nil
		default:
			return cli.BuildRevoke(to, sender, types.MessageID(t.WAID)), nil
		}
	}
	return nil, fmt.Errorf("%w: %s messages without media", engine.ErrUnsupported, msg.Type)
}

// contextInfo is the reply and mentions part of a message; nil when it
// has neither.
func (s *session) contextInfo(a *attempt, to types.JID, msg engine.OutMessage) *waE2E.ContextInfo {
	if msg.QuotedWAID == "" && len(msg.Mentions) == 0 {
		return nil
	}
	c := &waE2E.ContextInfo{}
	if msg.QuotedWAID != "" {
		c.StanzaID = proto.String(msg.QuotedWAID)
		// A zero QuotedSender means the quoted message is this device's own.
		participant := a.cli.Store.GetJID().ToNonAD()
		if !msg.QuotedSender.IsZero() {
			if j, err := waJID(msg.QuotedSender); err == nil {
				participant = j
			}
		}
		c.Participant = proto.String(participant.String())
		if to.Server == types.GroupServer {
			c.RemoteJID = proto.String(to.String())
		}
	}
	for _, m := range msg.Mentions {
		if j, err := waJID(m); err == nil {
			c.MentionedJID = append(c.MentionedJID, j.String())
		}
	}
	return c
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

// Default MIME types of outgoing media, when the message names none.
var defaultMime = map[engine.MessageType]string{
	engine.TypeImage:    "image/jpeg",
	engine.TypeVideo:    "video/mp4",
	engine.TypeAudio:    "audio/mpeg",
	engine.TypeVoice:    "audio/ogg; codecs=opus",
	engine.TypeDocument: "application/octet-stream",
	engine.TypeSticker:  "image/webp",
}

func (s *session) outgoingMedia(ctx context.Context, a *attempt, msg engine.OutMessage, quote *waE2E.ContextInfo) (*waE2E.Message, error) {
	m := msg.Media
	kind := m.Kind
	if kind == "" {
		kind = msg.Type
	}
	var mediaType whatsmeow.MediaType
	switch kind {
	case engine.TypeImage, engine.TypeSticker:
		mediaType = whatsmeow.MediaImage
	case engine.TypeVideo:
		mediaType = whatsmeow.MediaVideo
	case engine.TypeAudio, engine.TypeVoice:
		mediaType = whatsmeow.MediaAudio
	case engine.TypeDocument:
		mediaType = whatsmeow.MediaDocument
	default:
		return nil, fmt.Errorf("%w: media kind %q", engine.ErrUnsupported, kind)
	}
	if len(m.Data) == 0 {
		return nil, ErrNoMediaData
	}
	up, err := a.cli.Upload(ctx, m.Data, mediaType)
	if err != nil {
		return nil, fmt.Errorf("upload %s: %w", kind, transportError(err))
	}
	mime := m.MimeType
	if mime == "" {
		mime = defaultMime[kind]
	}
	caption := optional(msg.Text)
	url, path, length := proto.String(up.URL), proto.String(up.DirectPath), proto.Uint64(up.FileLength)
	switch kind {
	case engine.TypeImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			Caption: caption, Mimetype: proto.String(mime), URL: url, DirectPath: path, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length, ContextInfo: quote,
		}}, nil
	case engine.TypeSticker:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			Mimetype: proto.String(mime), URL: url, DirectPath: path, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length, ContextInfo: quote,
		}}, nil
	case engine.TypeVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			Caption: caption, Mimetype: proto.String(mime), URL: url, DirectPath: path, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length, ContextInfo: quote,
		}}, nil
	case engine.TypeAudio, engine.TypeVoice:
		au := &waE2E.AudioMessage{
			PTT: proto.Bool(kind == engine.TypeVoice), Mimetype: proto.String(mime), URL: url, DirectPath: path,
			MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length,
			ContextInfo: quote,
		}
		if m.Seconds > 0 {
			au.Seconds = proto.Uint32(uint32(m.Seconds))
		}
		if len(m.Waveform) > 0 {
			au.Waveform = m.Waveform
		}
		return &waE2E.Message{AudioMessage: au}, nil
	default: // document
		name := m.FileName
		if name == "" {
			name = "file"
		}
		return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			Caption: caption, Mimetype: proto.String(mime), FileName: proto.String(name), Title: proto.String(name),
			URL: url, DirectPath: path, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
			FileSHA256: up.FileSHA256, FileLength: length, ContextInfo: quote,
		}}, nil
	}
}

// CheckPhones implements engine.Session with one query to WhatsApp. Each
// answer carries the phone as given; strings that are not phone numbers
// are not on WhatsApp.
func (s *session) CheckPhones(ctx context.Context, phones []string) ([]engine.PhoneCheck, error) {
	a, err := s.connected()
	if err != nil {
		return nil, fmt.Errorf("check phones: %w", err)
	}
	out := make([]engine.PhoneCheck, len(phones))
	byNumber := make(map[string][]int, len(phones))
	var query []string
	for i, phone := range phones {
		out[i].Phone = phone
		p, err := engine.NormalizePhone(phone)
		if err != nil {
			continue
		}
		if _, dup := byNumber[p]; !dup {
			query = append(query, "+"+p)
		}
		byNumber[p] = append(byNumber[p], i)
	}
	if len(query) == 0 {
		return out, nil
	}
	res, err := a.cli.IsOnWhatsApp(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("check phones: %w", transportError(err))
	}
	for _, r := range res {
		p, err := engine.NormalizePhone(r.Query)
		if err != nil || !r.IsIn {
			continue
		}
		for _, i := range byNumber[p] {
			out[i].OnWhatsApp, out[i].JID = true, engineJID(r.JID.ToNonAD())
		}
	}
	return out, nil
}

// DownloadMedia implements engine.MediaDownloader; it needs a connection
// (WhatsApp tells connected clients where media lives).
func (s *session) DownloadMedia(ctx context.Context, ref string) ([]byte, error) {
	r, err := parseMediaRef(ref)
	if err != nil {
		return nil, fmt.Errorf("download media: %w", err)
	}
	msg, err := r.downloadMessage()
	if err != nil {
		return nil, fmt.Errorf("download media: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return nil, fmt.Errorf("download media: %w", err)
	}
	data, err := a.cli.Download(ctx, msg)
	if err != nil {
		if errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith404) || errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith410) {
			return nil, fmt.Errorf("download media: %w: %v", engine.ErrMediaExpired, err)
		}
		return nil, fmt.Errorf("download media: %w", transportError(err))
	}
	return data, nil
}
