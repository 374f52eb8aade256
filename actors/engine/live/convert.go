package live

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// This file maps whatsmeow's types to the engine's and back; nothing of
// whatsmeow crosses the seam.

// engineJID is j without its device part; hosted-account servers become
// their plain ones.
func engineJID(j types.JID) engine.JID {
	server := j.Server
	switch server {
	case types.HostedServer:
		server = types.DefaultUserServer
	case types.HostedLIDServer:
		server = types.HiddenUserServer
	}
	return engine.JID{User: j.User, Server: server}
}

// waJID is the whatsmeow JID of a recipient: a user (phone number or LID)
// or a group.
func waJID(j engine.JID) (types.JID, error) {
	switch j.Server {
	case engine.ServerUser, engine.ServerLID, engine.ServerGroup:
	default:
		return types.JID{}, fmt.Errorf("%w: %q is neither a user nor a group", engine.ErrInvalidRecipient, j.String())
	}
	if j.User == "" {
		return types.JID{}, fmt.Errorf("%w: empty user", engine.ErrInvalidRecipient)
	}
	return types.NewJID(j.User, j.Server), nil
}

// receipt maps the receipts that move a sent message on; others (our own
// devices', retries, server notices) are not the engine's business.
func receipt(e *events.Receipt) (engine.Receipt, bool) {
	var status engine.ReceiptStatus
	switch e.Type {
	case types.ReceiptTypeDelivered:
		status = engine.ReceiptDelivered
	case types.ReceiptTypeRead:
		status = engine.ReceiptRead
	case types.ReceiptTypePlayed:
		status = engine.ReceiptPlayed
	default:
		return engine.Receipt{}, false
	}
	if len(e.MessageIDs) == 0 {
		return engine.Receipt{}, false
	}
	return engine.Receipt{
		Chat:   engineJID(e.Chat),
		WAIDs:  append([]string(nil), e.MessageIDs...),
		Status: status,
		At:     e.Timestamp,
	}, true
}

// identity is a user's phone number and LID, each when known.
type identity struct{ phone, lid string }

// identify finds both identities of a user JID: from alt when the message
// carried it, otherwise from the store's LID map.
func (s *session) identify(a *attempt, jid, alt types.JID) identity {
	jid, alt = jid.ToNonAD(), alt.ToNonAD()
	if alt.IsEmpty() && (jid.Server == types.DefaultUserServer || jid.Server == types.HiddenUserServer) {
		found, err := a.cli.Store.GetAltJID(a.ctx, jid)
		if err != nil {
			s.log.Warn("LID map lookup", "jid", jid.String(), "err", err)
		}
		alt = found.ToNonAD()
	}
	var id identity
	for _, j := range []types.JID{jid, alt} {
		switch j.Server {
		case types.DefaultUserServer, types.HostedServer:
			if id.phone == "" {
				id.phone = j.User
			}
		case types.HiddenUserServer, types.HostedLIDServer:
			if id.lid == "" {
				id.lid = j.User
			}
		}
	}
	return id
}

// preferPhone is the user's phone-number JID when known, else jid itself.
func preferPhone(jid types.JID, id identity) engine.JID {
	if id.phone != "" {
		return engine.UserJID(id.phone)
	}
	return engineJID(jid)
}

// message maps an inbound message; false for what is not a message a user
// sees (key distribution, poll votes, other protocol messages).
func (s *session) message(a *attempt, e *events.Message) (engine.Message, bool) {
	info := e.Info
	if e.Message == nil {
		return engine.Message{}, false
	}
	m := engine.Message{
		WAID:      info.ID,
		PushName:  info.PushName,
		IsGroup:   info.IsGroup,
		FromMe:    info.IsFromMe,
		Timestamp: info.Timestamp,
	}
	if !content(&m, e.Message) {
		s.log.Debug("inbound message without user content", "id", info.ID)
		return engine.Message{}, false
	}
	sender := s.identify(a, info.Sender, info.SenderAlt)
	m.Sender = preferPhone(info.Sender, sender)
	m.SenderPhone, m.SenderLID = sender.phone, sender.lid
	switch {
	case info.IsGroup || info.Chat.Server == types.NewsletterServer || info.Chat.Server == types.BroadcastServer:
		m.Chat = engineJID(info.Chat)
	case info.IsFromMe:
		m.Chat = preferPhone(info.Chat, s.identify(a, info.Chat, info.RecipientAlt))
	default:
		m.Chat = m.Sender
	}
	return m, true
}

// content fills the type and content of m from msg; false when msg
// carries nothing a user sees.
func content(m *engine.Message, msg *waE2E.Message) bool {
	var ctxInfo *waE2E.ContextInfo
	switch {
	case msg.Conversation != nil:
		m.Type, m.Text = engine.TypeText, msg.GetConversation()
	case msg.ExtendedTextMessage != nil:
		t := msg.ExtendedTextMessage
		m.Type, m.Text, ctxInfo = engine.TypeText, t.GetText(), t.GetContextInfo()
	case msg.ImageMessage != nil:
		i := msg.ImageMessage
		m.Type, m.Text, ctxInfo = engine.TypeImage, i.GetCaption(), i.GetContextInfo()
		m.Media = inboundMedia(engine.TypeImage, i, i.GetMimetype(), "")
	case msg.VideoMessage != nil:
		v := msg.VideoMessage
		m.Type, m.Text, ctxInfo = engine.TypeVideo, v.GetCaption(), v.GetContextInfo()
		m.Media = inboundMedia(engine.TypeVideo, v, v.GetMimetype(), "")
		m.Media.Seconds = int(v.GetSeconds())
	case msg.AudioMessage != nil:
		au := msg.AudioMessage
		m.Type, ctxInfo = engine.TypeAudio, au.GetContextInfo()
		if au.GetPTT() {
			m.Type = engine.TypeVoice
		}
		m.Media = inboundMedia(m.Type, au, au.GetMimetype(), "")
		m.Media.Seconds, m.Media.Waveform = int(au.GetSeconds()), au.GetWaveform()
	case msg.DocumentMessage != nil:
		d := msg.DocumentMessage
		m.Type, m.Text, ctxInfo = engine.TypeDocument, d.GetCaption(), d.GetContextInfo()
		m.Media = inboundMedia(engine.TypeDocument, d, d.GetMimetype(), d.GetFileName())
	case msg.StickerMessage != nil:
		st := msg.StickerMessage
		m.Type, ctxInfo = engine.TypeSticker, st.GetContextInfo()
		m.Media = inboundMedia(engine.TypeSticker, st, st.GetMimetype(), "")
	case msg.LocationMessage != nil:
		l := msg.LocationMessage
		m.Type, ctxInfo = engine.TypeLocation, l.GetContextInfo()
		m.Location = &engine.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(), Name: l.GetName(), Address: l.GetAddress()}
	case msg.LiveLocationMessage != nil:
		l := msg.LiveLocationMessage
		m.Type, ctxInfo = engine.TypeLocation, l.GetContextInfo()
		m.Location = &engine.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(), Name: l.GetCaption()}
	case msg.ContactMessage != nil:
		c := msg.ContactMessage
		m.Type, ctxInfo = engine.TypeContact, c.GetContextInfo()
		m.Contact = &engine.ContactCard{DisplayName: c.GetDisplayName(), VCard: c.GetVcard()}
	case len(msg.GetContactsArrayMessage().GetContacts()) > 0:
		// The engine carries one card; a shared list keeps its first.
		c := msg.ContactsArrayMessage.GetContacts()[0]
		m.Type, ctxInfo = engine.TypeContact, msg.ContactsArrayMessage.GetContextInfo()
		m.Contact = &engine.ContactCard{DisplayName: c.GetDisplayName(), VCard: c.GetVcard()}
	case msg.ReactionMessage != nil:
		r := msg.ReactionMessage
		m.Type, m.Text, m.Target = engine.TypeReaction, r.GetText(), messageRef(r.GetKey())
	case poll(msg) != nil:
		p := poll(msg)
		m.Type, ctxInfo = engine.TypePoll, p.GetContextInfo()
		m.Poll = &engine.Poll{Name: p.GetName(), SelectableCount: int(p.GetSelectableOptionsCount())}
		for _, o := range p.GetOptions() {
			m.Poll.Options = append(m.Poll.Options, o.GetOptionName())
		}
	case msg.ProtocolMessage != nil:
		pm := msg.ProtocolMessage
		switch pm.GetType() {
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			var edited engine.Message
			if pm.GetEditedMessage() == nil || !content(&edited, pm.GetEditedMessage()) {
				return false
			}
			m.Type, m.Text, m.Target = engine.TypeEdit, edited.Text, messageRef(pm.GetKey())
		case waE2E.ProtocolMessage_REVOKE:
			m.Type, m.Target = engine.TypeRevoke, messageRef(pm.GetKey())
		default:
			return false
		}
	case msg.SenderKeyDistributionMessage != nil, msg.PollUpdateMessage != nil, msg.EncReactionMessage != nil,
		msg.MessageContextInfo != nil && isEmptyBesidesContext(msg):
		return false
	default:
		m.Type = engine.TypeUnknown
	}
	if id := ctxInfo.GetStanzaID(); id != "" {
		m.QuotedWAID = id
	}
	for _, j := range ctxInfo.GetMentionedJID() {
		if jid, err := types.ParseJID(j); err == nil {
			m.Mentions = append(m.Mentions, engineJID(jid))
		}
	}
	return true
}

// isEmptyBesidesContext reports whether msg carries only context (as the
// messages that only distribute keys or secrets do).
func isEmptyBesidesContext(msg *waE2E.Message) bool {
	c := proto.Clone(msg).(*waE2E.Message)
	c.MessageContextInfo = nil
	return proto.Size(c) == 0
}

// messageRef maps the key of the message a reaction, edit or revocation
// is about.
func messageRef(k *waCommon.MessageKey) *engine.MessageRef {
	ref := &engine.MessageRef{WAID: k.GetID(), FromMe: k.GetFromMe()}
	if p := k.GetParticipant(); p != "" {
		if jid, err := types.ParseJID(p); err == nil {
			ref.Sender = engineJID(jid)
		}
	}
	return ref
}

func poll(msg *waE2E.Message) *waE2E.PollCreationMessage {
	switch {
	case msg.PollCreationMessage != nil:
		return msg.PollCreationMessage
	case msg.PollCreationMessageV2 != nil:
		return msg.PollCreationMessageV2
	case msg.PollCreationMessageV3 != nil:
		return msg.PollCreationMessageV3
	}
	return nil
}

// downloadable is what whatsmeow needs to fetch and decrypt media.
type downloadable interface {
	GetDirectPath() string
	GetURL() string
	GetMediaKey() []byte
	GetFileSHA256() []byte
	GetFileEncSHA256() []byte
	GetFileLength() uint64
}

// mediaRef is what Media.Ref carries (JSON, base64url, versioned by its
// prefix).
type mediaRef struct {
	Kind       engine.MessageType `json:"k"`
	DirectPath string             `json:"p,omitempty"`
	URL        string             `json:"u,omitempty"`
	MediaKey   []byte             `json:"m"`
	EncSHA256  []byte             `json:"e"`
	SHA256     []byte             `json:"s"`
	Length     uint64             `json:"l"`
}

const mediaRefPrefix = "wm1."

func inboundMedia(kind engine.MessageType, d downloadable, mime, fileName string) *engine.Media {
	ref := mediaRef{
		Kind: kind, DirectPath: d.GetDirectPath(), URL: d.GetURL(), MediaKey: d.GetMediaKey(),
		EncSHA256: d.GetFileEncSHA256(), SHA256: d.GetFileSHA256(), Length: d.GetFileLength(),
	}
	data, _ := json.Marshal(ref) // a struct of strings and bytes always marshals
	return &engine.Media{
		Kind: kind, MimeType: mime, Size: int64(d.GetFileLength()), FileName: fileName,
		Ref: mediaRefPrefix + base64.RawURLEncoding.EncodeToString(data),
	}
}

func parseMediaRef(s string) (mediaRef, error) {
	var ref mediaRef
	rest, ok := strings.CutPrefix(s, mediaRefPrefix)
	if !ok {
		return ref, fmt.Errorf("%w: unknown format", engine.ErrInvalidMediaRef)
	}
	data, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return ref, fmt.Errorf("%w: %v", engine.ErrInvalidMediaRef, err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		return ref, fmt.Errorf("%w: %v", engine.ErrInvalidMediaRef, err)
	}
	if len(ref.MediaKey) != 32 || (ref.DirectPath == "" && ref.URL == "") {
		return ref, fmt.Errorf("%w: incomplete", engine.ErrInvalidMediaRef)
	}
	return ref, nil
}

// downloadMessage rebuilds the message whatsmeow downloads media from.
func (r mediaRef) downloadMessage() (whatsmeow.DownloadableMessage, error) {
	url, path := &r.URL, &r.DirectPath
	length := &r.Length
	switch r.Kind {
	case engine.TypeImage:
		return &waE2E.ImageMessage{URL: url, DirectPath: path, MediaKey: r.MediaKey, FileEncSHA256: r.EncSHA256, FileSHA256: r.SHA256, FileLength: length}, nil
	case engine.TypeSticker:
		return &waE2E.StickerMessage{URL: url, DirectPath: path, MediaKey: r.MediaKey, FileEncSHA256: r.EncSHA256, FileSHA256: r.SHA256, FileLength: length}, nil
	case engine.TypeVideo:
		return &waE2E.VideoMessage{URL: url, DirectPath: path, MediaKey: r.MediaKey, FileEncSHA256: r.EncSHA256, FileSHA256: r.SHA256, FileLength: length}, nil
	case engine.TypeAudio, engine.TypeVoice:
		return &waE2E.AudioMessage{URL: url, DirectPath: path, MediaKey: r.MediaKey, FileEncSHA256: r.EncSHA256, FileSHA256: r.SHA256, FileLength: length}, nil
	case engine.TypeDocument:
		return &waE2E.DocumentMessage{URL: url, DirectPath: path, MediaKey: r.MediaKey, FileEncSHA256: r.EncSHA256, FileSHA256: r.SHA256, FileLength: length}, nil
	}
	return nil, fmt.Errorf("%w: media kind %q", engine.ErrInvalidMediaRef, r.Kind)
}
