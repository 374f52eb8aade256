package sim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// What WhatsApp's servers keep beyond messages, simulated: each device's
// contacts, the groups (shared by every device of the engine, so that two
// sandbox devices can be in one group), the media of inbound messages
// until it is downloaded, and a record of the presence and read receipts
// each device sent, for tests to check.

// Bounds of what the directory keeps, so that a long-running sandbox does
// not grow without end.
const (
	keepMediaBytes  = 64 << 20 // inbound media waiting for download; the oldest go first
	keepSignals     = 1000     // presence updates and read receipts per device
	keepSentDataMax = 1 << 20  // Sent keeps the bytes of media up to this size
	inviteCodeLen   = 22
	groupIDDigits   = 18
	mediaRefPrefix  = "sim-media:"
)

// PresenceSent is a chat presence a device sent (Engine.Presences), and
// when (Config.Now).
type PresenceSent struct {
	Chat  engine.JID
	State engine.ChatPresence
	At    time.Time
}

// ReadSent is a read receipt a device sent (Engine.ReadReceipts).
type ReadSent struct {
	Chat   engine.JID
	Sender engine.JID
	WAIDs  []string
}

type directory struct {
	mu        sync.Mutex
	contacts  map[int64]map[engine.JID]engine.Contact
	groups    map[engine.JID]*group
	media     map[string][]byte
	mediaFIFO []string
	mediaSize int
	presences map[int64][]PresenceSent
	reads     map[int64][]ReadSent
}

// group is a simulated group. Members are keyed by their user JID.
type group struct {
	jid     engine.JID
	subject string
	owner   engine.JID
	created time.Time
	members map[engine.JID]role
	invite  string
}

type role int

const (
	roleMember role = iota
	roleAdmin
	roleOwner
)

func newDirectory() *directory {
	return &directory{
		contacts:  make(map[int64]map[engine.JID]engine.Contact),
		groups:    make(map[engine.JID]*group),
		media:     make(map[string][]byte),
		presences: make(map[int64][]PresenceSent),
		reads:     make(map[int64][]ReadSent),
	}
}

// forget drops what is kept for one device (its group memberships stay:
// the groups belong to everyone in them).
func (d *directory) forget(deviceID int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.contacts, deviceID)
	delete(d.presences, deviceID)
	delete(d.reads, deviceID)
}

// meet records a contact of the device: someone it wrote to or who wrote
// to it. A push name, once known, is kept.
func (d *directory) meet(deviceID int64, jid engine.JID, pushName string) {
	if jid.Server != engine.ServerUser && jid.Server != engine.ServerLID {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	book := d.contacts[deviceID]
	if book == nil {
		book = make(map[engine.JID]engine.Contact)
		d.contacts[deviceID] = book
	}
	c := book[jid]
	c.JID = jid
	switch jid.Server {
	case engine.ServerUser:
		c.Phone = jid.User
	case engine.ServerLID:
		c.LID = jid.User
	}
	if pushName != "" {
		c.PushName = pushName
	}
	book[jid] = c
}

// putMedia keeps inbound media until it is downloaded and returns its ref.
func (d *directory) putMedia(ref string, data []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.media[ref] = data
	d.mediaFIFO = append(d.mediaFIFO, ref)
	d.mediaSize += len(data)
	for d.mediaSize > keepMediaBytes && len(d.mediaFIFO) > 1 {
		old := d.mediaFIFO[0]
		d.mediaFIFO = d.mediaFIFO[1:]
		d.mediaSize -= len(d.media[old])
		delete(d.media, old)
	}
}

func (d *directory) getMedia(ref string) ([]byte, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	data, ok := d.media[ref]
	return data, ok
}

func appendBounded[T any](s []T, v T) []T {
	s = append(s, v)
	if over := len(s) - keepSignals; over > 0 {
		s = append(s[:0:0], s[over:]...)
	}
	return s
}

// canSendTo reports whether self may write to the chat to: users always,
// groups when self is a member. Groups the sim never heard of are taken to
// exist with the device in them, so that tests can write to any group JID.
func (d *directory) canSendTo(to, self engine.JID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.groups[to]
	if !ok {
		return true
	}
	_, member := g.members[self]
	return member
}

// Presences returns the chat presences the device sent, oldest first (at
// most the last 1000). The caller owns the slice.
func (e *Engine) Presences(deviceID int64) []PresenceSent {
	e.dir.mu.Lock()
	defer e.dir.mu.Unlock()
	return slices.Clone(e.dir.presences[deviceID])
}

// ReadReceipts returns the read receipts the device sent, oldest first (at
// most the last 1000). The caller owns the slice.
func (e *Engine) ReadReceipts(deviceID int64) []ReadSent {
	e.dir.mu.Lock()
	defer e.dir.mu.Unlock()
	return slices.Clone(e.dir.reads[deviceID])
}

// self is the device's own user JID; ErrNotConnected while not connected.
// It runs on the session's goroutine.
func (s *Session) self() (engine.JID, error) {
	if s.state != stateConnected {
		return engine.JID{}, engine.ErrNotConnected
	}
	return engine.UserJID(s.pairing.Phone), nil
}

// connected runs f on the session's goroutine with the device's own JID,
// once it is connected.
func (s *Session) connected(ctx context.Context, what string, f func(self engine.JID) error) error {
	err := s.do(ctx, func() error {
		self, err := s.self()
		if err != nil {
			return err
		}
		return f(self)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Contacts implements engine.Contacts: everyone the device wrote to or
// heard from since the engine started, by JID.
func (s *Session) Contacts(ctx context.Context) ([]engine.Contact, error) {
	var out []engine.Contact
	err := s.connected(ctx, "contacts", func(engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, c := range d.contacts[s.id] {
			out = append(out, c)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b engine.Contact) int { return strings.Compare(a.JID.String(), b.JID.String()) })
	return out, err
}

// Avatar implements engine.Contacts. Every user on WhatsApp and every group
// the sim knows has a picture: an SVG with the last digits of the number
// (or the group's initial) as a data: URL. Numbers that are not on
// WhatsApp have none.
func (s *Session) Avatar(ctx context.Context, jid engine.JID) (engine.Avatar, error) {
	var av engine.Avatar
	err := s.connected(ctx, "avatar", func(engine.JID) error {
		label := ""
		switch jid.Server {
		case engine.ServerUser, engine.ServerLID:
			if !onWhatsApp(jid) {
				return engine.ErrNoAvatar
			}
			label = jid.User[max(len(jid.User)-2, 0):]
		case engine.ServerGroup:
			d := s.eng.dir
			d.mu.Lock()
			g, ok := d.groups[jid]
			if ok {
				label = strings.ToUpper(firstRune(g.subject))
			}
			d.mu.Unlock()
			if !ok {
				return engine.ErrNoAvatar
			}
		default:
			return engine.ErrNoAvatar
		}
		sum := sha256.Sum256([]byte(jid.String()))
		svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" fill="#%s"/><text x="48" y="60" font-size="36" text-anchor="middle" fill="#fff" font-family="sans-serif">%s</text></svg>`,
			hex.EncodeToString(sum[:3]), label)
		av = engine.Avatar{URL: "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg)), ID: hex.EncodeToString(sum[:8])}
		return nil
	})
	return av, err
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return "?"
}

// Groups implements engine.Groups: the groups the device is a member of.
func (s *Session) Groups(ctx context.Context) ([]engine.Group, error) {
	var out []engine.Group
	err := s.connected(ctx, "groups", func(self engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, g := range d.groups {
			if _, ok := g.members[self]; ok {
				out = append(out, g.info())
			}
		}
		return nil
	})
	slices.SortFunc(out, func(a, b engine.Group) int { return strings.Compare(a.JID.User, b.JID.User) })
	return out, err
}

// info is the group as the seam describes it, members by JID.
func (g *group) info() engine.Group {
	out := engine.Group{JID: g.jid, Subject: g.subject, Owner: g.owner, CreatedAt: g.created}
	for jid, r := range g.members {
		out.Participants = append(out.Participants, engine.Participant{
			JID: jid, Phone: jid.Phone(), IsAdmin: r >= roleAdmin, IsSuperAdmin: r == roleOwner,
		})
	}
	slices.SortFunc(out.Participants, func(a, b engine.Participant) int { return strings.Compare(a.JID.User, b.JID.User) })
	return out
}

// CreateGroup implements engine.Groups. Participants that are not on
// WhatsApp (999…) are not added and come back in Failed.
func (s *Session) CreateGroup(ctx context.Context, subject string, participants []engine.JID) (engine.Group, error) {
	var out engine.Group
	err := s.connected(ctx, "create group", func(self engine.JID) error {
		g := &group{
			jid:     engine.JID{User: "120363" + s.eng.digits(groupIDDigits-6), Server: engine.ServerGroup},
			subject: subject,
			owner:   self,
			created: s.eng.now().UTC().Truncate(time.Second),
			members: map[engine.JID]role{self: roleOwner},
			invite:  s.eng.inviteCode(),
		}
		var failed []engine.ParticipantResult
		for _, p := range participants {
			switch {
			case p.Server != engine.ServerUser && p.Server != engine.ServerLID, !onWhatsApp(p):
				failed = append(failed, engine.ParticipantResult{JID: p, Error: engine.ParticipantErrorNotOnWhatsApp})
			case p != self:
				g.members[p] = roleMember
			}
		}
		d := s.eng.dir
		d.mu.Lock()
		d.groups[g.jid] = g
		out = g.info()
		d.mu.Unlock()
		out.Failed = failed
		// WhatsApp tells the creator's devices too.
		s.emit(engine.GroupUpdate{Group: g.jid, Actor: self, ActorPhone: self.Phone(), ActorLID: s.pairing.LID, Joined: true, Subject: subject, At: g.created})
		return nil
	})
	return out, err
}

// memberGroup returns a group the device is in, with the device's role.
// The caller holds d.mu.
func (d *directory) memberGroup(jid, self engine.JID) (*group, role, error) {
	g, ok := d.groups[jid]
	if !ok {
		return nil, 0, fmt.Errorf("%w: %s", engine.ErrGroupNotFound, jid)
	}
	r, ok := g.members[self]
	if !ok {
		return nil, 0, fmt.Errorf("%w: %s", engine.ErrGroupNotFound, jid)
	}
	return g, r, nil
}

// UpdateParticipants implements engine.Groups. Only admins may change the
// membership; nobody may remove or demote the owner.
func (s *Session) UpdateParticipants(ctx context.Context, jid engine.JID, action engine.ParticipantAction, participants []engine.JID) ([]engine.ParticipantResult, error) {
	var out []engine.ParticipantResult
	err := s.connected(ctx, "update participants", func(self engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		g, r, err := d.memberGroup(jid, self)
		if err == nil && r < roleAdmin {
			err = engine.ErrNotGroupAdmin
		}
		if err != nil {
			d.mu.Unlock()
			return err
		}
		changed := engine.GroupParticipants{Group: jid, Actor: self, ActorPhone: self.Phone(), ActorLID: s.pairing.LID, Action: action, At: s.eng.now()}
		for _, p := range participants {
			res := engine.ParticipantResult{JID: p, Error: g.apply(action, p)}
			out = append(out, res)
			if res.Error == "" {
				changed.Participants = append(changed.Participants, engine.Participant{JID: p, Phone: p.Phone()})
			}
		}
		d.mu.Unlock()
		if len(changed.Participants) > 0 {
			s.emit(changed)
		}
		return nil
	})
	return out, err
}

// apply does one participant's change and returns the reason it failed.
func (g *group) apply(action engine.ParticipantAction, p engine.JID) string {
	r, member := g.members[p]
	switch action {
	case engine.ParticipantAdd:
		switch {
		case member:
			return engine.ParticipantErrorAlreadyInGroup
		case p.Server != engine.ServerUser && p.Server != engine.ServerLID, !onWhatsApp(p):
			return engine.ParticipantErrorNotOnWhatsApp
		}
		g.members[p] = roleMember
		return ""
	case engine.ParticipantRemove, engine.ParticipantPromote, engine.ParticipantDemote:
		switch {
		case !member:
			return engine.ParticipantErrorNotInGroup
		case r == roleOwner && action != engine.ParticipantPromote:
			return engine.ParticipantErrorNotAllowed
		}
		switch action {
		case engine.ParticipantRemove:
			delete(g.members, p)
		case engine.ParticipantPromote:
			if r != roleOwner {
				g.members[p] = roleAdmin
			}
		default:
			g.members[p] = roleMember
		}
		return ""
	}
	return engine.ParticipantErrorNotAllowed
}

// InviteLink implements engine.Groups.
func (s *Session) InviteLink(ctx context.Context, jid engine.JID, reset bool) (string, error) {
	var link string
	err := s.connected(ctx, "invite link", func(self engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		defer d.mu.Unlock()
		g, r, err := d.memberGroup(jid, self)
		if err != nil {
			return err
		}
		if r < roleAdmin {
			return engine.ErrNotGroupAdmin
		}
		if reset {
			g.invite = s.eng.inviteCode()
		}
		link = "https://chat.whatsapp.com/" + g.invite
		return nil
	})
	return link, err
}

// LeaveGroup implements engine.Groups. A group nobody is left in is gone.
func (s *Session) LeaveGroup(ctx context.Context, jid engine.JID) error {
	return s.connected(ctx, "leave group", func(self engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		g, _, err := d.memberGroup(jid, self)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		delete(g.members, self)
		if len(g.members) == 0 {
			delete(d.groups, jid)
		}
		d.mu.Unlock()
		s.emit(engine.GroupParticipants{Group: jid, Actor: self, ActorPhone: self.Phone(), ActorLID: s.pairing.LID, Action: engine.ParticipantRemove,
			Participants: []engine.Participant{{JID: self, Phone: self.Phone(), LID: s.pairing.LID}}, At: s.eng.now()})
		return nil
	})
}

// SendChatPresence implements engine.Presence: it is recorded for
// Engine.Presences.
func (s *Session) SendChatPresence(ctx context.Context, chat engine.JID, state engine.ChatPresence) error {
	return s.connected(ctx, "chat presence", func(engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		defer d.mu.Unlock()
		d.presences[s.id] = appendBounded(d.presences[s.id], PresenceSent{Chat: chat, State: state, At: s.eng.now()})
		return nil
	})
}

// MarkRead implements engine.Presence: it is recorded for
// Engine.ReadReceipts.
func (s *Session) MarkRead(ctx context.Context, chat, sender engine.JID, waids []string, _ time.Time) error {
	return s.connected(ctx, "mark read", func(engine.JID) error {
		d := s.eng.dir
		d.mu.Lock()
		defer d.mu.Unlock()
		d.reads[s.id] = appendBounded(d.reads[s.id], ReadSent{Chat: chat, Sender: sender, WAIDs: slices.Clone(waids)})
		return nil
	})
}

// DownloadMedia implements engine.MediaDownloader: the media of an inbound
// message, kept by the simulated servers until newer media pushes it out
// (64 MiB in all), after which it wraps engine.ErrMediaExpired.
func (s *Session) DownloadMedia(ctx context.Context, ref string) ([]byte, error) {
	if !strings.HasPrefix(ref, mediaRefPrefix) {
		return nil, fmt.Errorf("download media: %w", engine.ErrInvalidMediaRef)
	}
	var data []byte
	err := s.do(ctx, func() error {
		if !s.pairing.Paired {
			return engine.ErrNotPaired
		}
		d, ok := s.eng.dir.getMedia(ref)
		if !ok {
			return engine.ErrMediaExpired
		}
		data = slices.Clone(d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("download media: %w", err)
	}
	return data, nil
}

// digits returns n random decimal digits, the first not zero.
func (e *Engine) digits(n int) string {
	v := new(big.Int).SetBytes(e.random(16))
	s := v.String()
	for len(s) < n {
		s += v.String()
	}
	s = s[:n]
	if s[0] == '0' {
		s = "1" + s[1:]
	}
	return s
}

// inviteCode returns a group invite code like WhatsApp's (22 base62 chars).
func (e *Engine) inviteCode() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := e.random(inviteCodeLen)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

var (
	_ engine.Contacts        = (*Session)(nil)
	_ engine.Groups          = (*Session)(nil)
	_ engine.Presence        = (*Session)(nil)
	_ engine.MediaDownloader = (*Session)(nil)
)

// checkContent refuses an outgoing message whose content does not fit its
// type, as WhatsApp's servers or the recipient's phone would.
func checkContent(m engine.OutMessage) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s message %s", engine.ErrInvalidMessage, m.Type, why) }
	switch m.Type {
	case "":
		return nil // untyped: taken as text, whatever it holds
	case engine.TypeText:
		if m.Text == "" {
			return bad("without text")
		}
	case engine.TypeImage, engine.TypeVideo, engine.TypeAudio, engine.TypeVoice, engine.TypeDocument, engine.TypeSticker:
		if m.Media == nil || len(m.Media.Data) == 0 {
			return bad("without media")
		}
		if m.Type == engine.TypeVoice && len(m.Media.Waveform) == 0 {
			return bad("without a waveform")
		}
	case engine.TypeLocation:
		if m.Location == nil {
			return bad("without a location")
		}
	case engine.TypeContact:
		if m.Contact == nil || m.Contact.VCard == "" {
			return bad("without a vCard")
		}
	case engine.TypePoll:
		if m.Poll == nil || m.Poll.Name == "" || len(m.Poll.Options) < 2 {
			return bad("without a question and two options")
		}
	case engine.TypeReaction, engine.TypeRevoke:
		if m.Target == nil || m.Target.WAID == "" {
			return bad("without a target")
		}
	case engine.TypeEdit:
		if m.Target == nil || m.Target.WAID == "" || !m.Target.FromMe || m.Text == "" {
			return bad("without a target of this device's or a new text")
		}
	default:
		return fmt.Errorf("%w: %q messages", engine.ErrUnsupported, m.Type)
	}
	return nil
}

// ownCopy copies what the caller could change after Send returns; media
// over keepSentDataMax is kept without its bytes.
func ownCopy(m engine.OutMessage) engine.OutMessage {
	if m.Media != nil {
		media := *m.Media
		if len(media.Data) > keepSentDataMax {
			media.Size, media.Data = int64(len(media.Data)), nil
		}
		media.Data = slices.Clone(media.Data)
		media.Waveform = slices.Clone(media.Waveform)
		m.Media = &media
	}
	m.Mentions = slices.Clone(m.Mentions)
	if m.Location != nil {
		l := *m.Location
		m.Location = &l
	}
	if m.Contact != nil {
		c := *m.Contact
		m.Contact = &c
	}
	if m.Poll != nil {
		p := *m.Poll
		p.Options = slices.Clone(p.Options)
		m.Poll = &p
	}
	if m.Target != nil {
		t := *m.Target
		m.Target = &t
	}
	return m
}
