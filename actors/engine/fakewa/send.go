package fakewa

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"go.mau.fi/util/random"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/util/cbcutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"google.golang.org/protobuf/proto"
)

// SendText sends a text message from this account's phone to another
// account (a phone number). It returns the message id.
func (p *Phone) SendText(ctx context.Context, to, text string) (string, error) {
	return p.Send(ctx, to, &waE2E.Message{Conversation: proto.String(text)})
}

// SendImage uploads an image to the fake's media host and sends it from
// this account's phone to another account.
func (p *Phone) SendImage(ctx context.Context, to string, data []byte, mimeType, caption string) (string, error) {
	m := p.s.upload(data, mediaImageKeys)
	img := &waE2E.ImageMessage{
		URL: proto.String("https://" + mediaHost + m.path), DirectPath: proto.String(m.path),
		MediaKey: m.key, FileEncSHA256: m.encSHA256, FileSHA256: m.sha256, FileLength: proto.Uint64(uint64(len(data))),
		Mimetype: proto.String(mimeType),
	}
	if caption != "" {
		img.Caption = proto.String(caption)
	}
	return p.Send(ctx, to, &waE2E.Message{ImageMessage: img})
}

// Send sends any message from this account's phone to another account:
// its phone receives it at once; its companions get it encrypted (queued
// while offline); this account's own companions get the copy WhatsApp
// gives linked devices. It returns the message id.
func (p *Phone) Send(ctx context.Context, to string, msg *waE2E.Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s := p.s
	recipient, err := s.recipient(to)
	if err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	plaintext, err := proto.Marshal(msg)
	if err != nil {
		return "", err
	}
	copyForSelf, err := proto.Marshal(&waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{
		DestinationJID: proto.String(recipient.JID()), Message: msg,
	}})
	if err != nil {
		return "", err
	}
	id := newMessageID()
	s.mu.Lock()
	s.sent[id] = &sentMessage{fromPhone: p, to: recipient, status: make(map[string]bool)}
	s.mu.Unlock()
	p.setStatus(id, StatusSent)

	msgType, mediaType := "text", mediaTypeOf(msg)
	if mediaType != "" {
		msgType = "media"
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, d := range s.companions(recipient) {
		enc, err := p.encrypt(d, plaintext)
		if err != nil {
			return id, fmt.Errorf("send to %s: %w", d.jid, err)
		}
		if mediaType != "" {
			enc.Attrs["mediatype"] = mediaType
		}
		s.deliver(d, outKey("message", id, ""), waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{
			"from": p.pnJID(), "sender_lid": p.lidJID(), "id": id, "t": now, "type": msgType, "notify": p.name(),
		}, Content: []waBinary.Node{enc}})
	}
	if recipient != p {
		for _, d := range s.companions(p) {
			enc, err := p.encrypt(d, copyForSelf)
			if err != nil {
				return id, fmt.Errorf("send copy to %s: %w", d.jid, err)
			}
			s.deliver(d, outKey("message", id, ""), waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{
				"from": p.pnJID(), "recipient": recipient.pnJID(), "id": id, "t": now, "type": msgType, "notify": p.name(),
			}, Content: []waBinary.Node{enc}})
		}
	}
	typ, text := describe(msg)
	recipient.receive(Received{ID: id, From: p.number, FromDevice: p.JID(), At: time.Now(), Type: typ, Text: text, Message: msg})
	s.onReceipt(id, recipient, StatusDelivered)
	if s.cfg.AutoRead {
		s.onReceipt(id, recipient, StatusRead)
	}
	return id, nil
}

func mediaTypeOf(m *waE2E.Message) string {
	switch {
	case m.ImageMessage != nil:
		return "image"
	case m.VideoMessage != nil:
		return "video"
	case m.AudioMessage != nil:
		if m.GetAudioMessage().GetPTT() {
			return "ptt"
		}
		return "audio"
	case m.DocumentMessage != nil:
		return "document"
	case m.StickerMessage != nil:
		return "sticker"
	}
	return ""
}

// Key-derivation labels of WhatsApp's media encryption.
const (
	mediaImageKeys    = "WhatsApp Image Keys"
	mediaVideoKeys    = "WhatsApp Video Keys"
	mediaAudioKeys    = "WhatsApp Audio Keys"
	mediaDocumentKeys = "WhatsApp Document Keys"
)

// uploaded is media stored on the fake media host.
type uploaded struct {
	path                   string
	key, sha256, encSHA256 []byte
}

// upload encrypts media as WhatsApp clients do (AES-CBC, then a 10-byte
// HMAC) and stores it.
func (s *Server) upload(data []byte, label string) uploaded {
	key := random.Bytes(32)
	iv, cipherKey, macKey := mediaKeys(key, label)
	ct, err := cbcutil.Encrypt(cipherKey, iv, data)
	if err != nil {
		panic(fmt.Sprintf("fakewa: media encryption: %v", err)) // keys of the right size never fail
	}
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	mac.Write(ct)
	blob := append(ct, mac.Sum(nil)[:10]...)
	sum, encSum := sha256.Sum256(data), sha256.Sum256(blob)
	return uploaded{path: s.storeMedia(blob), key: key, sha256: sum[:], encSHA256: encSum[:]}
}

func mediaKeys(key []byte, label string) (iv, cipherKey, macKey []byte) {
	expanded := hkdfutil.SHA256(key, nil, []byte(label), 112)
	return expanded[:16], expanded[16:48], expanded[48:80]
}

// Download fetches and decrypts the media of a received message from the
// fake's media host.
func (p *Phone) Download(r Received) ([]byte, error) {
	m := r.Message
	if dsm := m.GetDeviceSentMessage().GetMessage(); dsm != nil {
		m = dsm
	}
	type media interface {
		GetDirectPath() string
		GetURL() string
		GetMediaKey() []byte
		GetFileSHA256() []byte
	}
	var md media
	var label string
	switch {
	case m.ImageMessage != nil:
		md, label = m.ImageMessage, mediaImageKeys
	case m.StickerMessage != nil:
		md, label = m.StickerMessage, mediaImageKeys
	case m.VideoMessage != nil:
		md, label = m.VideoMessage, mediaVideoKeys
	case m.AudioMessage != nil:
		md, label = m.AudioMessage, mediaAudioKeys
	case m.DocumentMessage != nil:
		md, label = m.DocumentMessage, mediaDocumentKeys
	default:
		return nil, fmt.Errorf("download %s: %w: no media", r.ID, ErrProtocol)
	}
	where := md.GetDirectPath()
	if where == "" {
		where = md.GetURL()
	}
	blob, ok := p.s.mediaBytes(where)
	if !ok || len(blob) <= 10 {
		return nil, fmt.Errorf("download %s: %w: media not on the media host", r.ID, ErrProtocol)
	}
	iv, cipherKey, macKey := mediaKeys(md.GetMediaKey(), label)
	ct, tag := blob[:len(blob)-10], blob[len(blob)-10:]
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	mac.Write(ct)
	if !hmac.Equal(mac.Sum(nil)[:10], tag) {
		return nil, fmt.Errorf("download %s: %w: media MAC mismatch", r.ID, ErrProtocol)
	}
	data, err := cbcutil.Decrypt(cipherKey, iv, ct)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", r.ID, err)
	}
	if sum := sha256.Sum256(data); len(md.GetFileSHA256()) == 32 && !hmac.Equal(sum[:], md.GetFileSHA256()) {
		return nil, fmt.Errorf("download %s: %w: media hash mismatch", r.ID, ErrProtocol)
	}
	return data, nil
}
