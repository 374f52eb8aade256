package fakewa

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/protocol"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// Group roles, as WhatsApp names them in a participant's "type".
const (
	RoleMember     = ""
	RoleAdmin      = "admin"
	RoleSuperAdmin = "superadmin" // the group's creator
)

// group is a group chat. Members are addressed by phone number (WhatsApp's
// "pn" addressing mode), with their LID alongside.
type group struct {
	jid     types.JID
	subject string
	creator *Phone
	created time.Time
	members map[*Phone]string // role
	invite  string
}

// Group is a group as the server keeps it.
type Group struct {
	JID     string // "<id>@g.us"
	Subject string
	Creator string            // the creator's phone number
	Members map[string]string // phone number → role (RoleMember, RoleAdmin, RoleSuperAdmin)
	Invite  string            // the invite code
}

// IQ errors of the group namespace, as whatsmeow reads them.
var iqErrorText = map[int]string{
	400: "bad-request", 401: "not-authorized", 403: "forbidden", 404: "item-not-found", 406: "not-acceptable",
}

func iqError(code int) waBinary.Node {
	return waBinary.Node{Tag: "error", Attrs: waBinary.Attrs{"code": strconv.Itoa(code), "text": iqErrorText[code]}}
}

// Group returns a group by its JID.
func (s *Server) Group(jid string) (Group, error) {
	parsed, err := types.ParseJID(jid)
	if err != nil || parsed.Server != types.GroupServer {
		return Group{}, fmt.Errorf("%w: %q is not a group", ErrUnknownGroup, jid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[parsed.User]
	if g == nil {
		return Group{}, fmt.Errorf("%w: %s", ErrUnknownGroup, jid)
	}
	out := Group{JID: g.jid.String(), Subject: g.subject, Creator: g.creator.number, Members: make(map[string]string), Invite: g.invite}
	for p, role := range g.members {
		out.Members[p.number] = role
	}
	return out, nil
}

// CreateGroup plays the account's phone creating a group with other
// accounts (phone numbers) in it; the phone is its creator and admin.
// Members' companions get the "create" notification. It returns the
// group's JID.
func (p *Phone) CreateGroup(ctx context.Context, subject string, members ...string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	req := waBinary.Node{Tag: "create", Attrs: waBinary.Attrs{"subject": subject}}
	var parts []waBinary.Node
	for _, m := range members {
		parts = append(parts, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": types.NewJID(strings.TrimPrefix(m, "+"), types.DefaultUserServer)}})
	}
	req.Content = parts
	res, code := p.s.createGroup(p, req)
	if code != 0 {
		return "", fmt.Errorf("create group: %w: error %d", ErrProtocol, code)
	}
	for _, part := range res[0].GetChildren() {
		if e := part.AttrGetter().OptionalString("error"); e != "" {
			return "", fmt.Errorf("create group: %w: %v not added (error %s)", ErrUnknownAccount, part.Attrs["jid"], e)
		}
	}
	return types.NewJID(res[0].AttrGetter().String("id"), types.GroupServer).String(), nil
}

// groupIQ answers a query of the group namespace (w:g2) from a device:
// its answer's content, or the code of an IQ error.
func (s *Server) groupIQ(d *device, to types.JID, typ string, req waBinary.Node) ([]waBinary.Node, int) {
	if d == nil {
		return nil, 401
	}
	actor := d.phone
	if to == types.GroupServerJID {
		switch {
		case typ == "set" && req.Tag == "create":
			return s.createGroup(actor, req)
		case typ == "get" && req.Tag == "participating":
			return s.participating(actor), 0
		case typ == "set" && req.Tag == "leave":
			return s.leaveGroups(actor, req)
		}
		return nil, 400
	}
	if to.Server != types.GroupServer {
		return nil, 400
	}
	switch {
	case typ == "get" && req.Tag == "query":
		s.mu.Lock()
		defer s.mu.Unlock()
		g, _, code := s.memberGroup(to, actor)
		if code != 0 {
			return nil, code
		}
		return []waBinary.Node{g.node()}, 0
	case req.Tag == "invite":
		return s.groupInvite(actor, to, typ == "set")
	case typ == "set" && slices.Contains([]string{"add", "remove", "promote", "demote"}, req.Tag):
		return s.updateParticipants(actor, to, req)
	}
	return nil, 400
}

// adminGroup is memberGroup for changes only admins may make: 401 for a
// member who is not one. Called with s.mu held.
func (s *Server) adminGroup(jid types.JID, actor *Phone) (*group, int) {
	g, role, code := s.memberGroup(jid, actor)
	if code == 0 && role == RoleMember {
		code = 401
	}
	return g, code
}

// memberGroup finds a group the actor is in, with the actor's role: 404
// when there is no such group, 403 when the actor is not a member. Called
// with s.mu held.
func (s *Server) memberGroup(jid types.JID, actor *Phone) (*group, string, int) {
	g := s.groups[jid.User]
	if g == nil {
		return nil, "", 404
	}
	role, ok := g.members[actor]
	if !ok {
		return nil, "", 403
	}
	return g, role, 0
}

// node is the group's <group> element: its attributes and participants,
// ordered by phone number.
func (g *group) node() waBinary.Node {
	created := strconv.FormatInt(g.created.Unix(), 10)
	attrs := waBinary.Attrs{
		"id": g.jid.User, "subject": g.subject, "creation": created, "creator": g.creator.pnJID(),
		"s_t": created, "s_o": g.creator.pnJID(), "size": strconv.Itoa(len(g.members)),
	}
	members := slices.SortedFunc(maps.Keys(g.members), func(a, b *Phone) int { return strings.Compare(a.number, b.number) })
	parts := make([]waBinary.Node, 0, len(members))
	for _, p := range members {
		parts = append(parts, participantNode(p, g.members[p]))
	}
	return waBinary.Node{Tag: "group", Attrs: attrs, Content: parts}
}

func participantNode(p *Phone, role string) waBinary.Node {
	attrs := waBinary.Attrs{"jid": p.pnJID(), "lid": p.lidJID()}
	if role != RoleMember {
		attrs["type"] = role
	}
	return waBinary.Node{Tag: "participant", Attrs: attrs}
}

// createGroup makes a group of the actor (its superadmin) and the
// participants that are on WhatsApp; the others come back with error 404.
func (s *Server) createGroup(actor *Phone, req waBinary.Node) ([]waBinary.Node, int) {
	subject := req.AttrGetter().OptionalString("subject")
	if strings.TrimSpace(subject) == "" {
		return nil, 400
	}
	s.mu.Lock()
	g := &group{
		jid:     types.NewJID("120363"+randomDigits(12), types.GroupServer),
		subject: subject,
		creator: actor,
		created: time.Now(),
		members: map[*Phone]string{actor: RoleSuperAdmin},
		invite:  randomHex(11),
	}
	var failed []waBinary.Node
	for _, part := range req.GetChildrenByTag("participant") {
		jid, _ := part.Attrs["jid"].(types.JID)
		p := s.account(jid)
		if p == nil {
			failed = append(failed, waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": jid, "error": "404"}})
			continue
		}
		if _, ok := g.members[p]; !ok {
			g.members[p] = RoleMember
		}
	}
	s.groups[g.jid.User] = g
	created := g.node()
	res := created // the answer also lists who could not be added
	res.Content = append(slices.Clone(created.GetChildren()), failed...)
	recipients := slices.Collect(maps.Keys(g.members))
	s.mu.Unlock()
	s.groupNotify(g.jid, actor, recipients, waBinary.Node{Tag: "create", Content: []waBinary.Node{created}})
	return []waBinary.Node{res}, 0
}

// participating lists the groups the actor is in.
func (s *Server) participating(actor *Phone) []waBinary.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []waBinary.Node
	for _, id := range slices.Sorted(maps.Keys(s.groups)) {
		if g := s.groups[id]; hasMember(g, actor) {
			list = append(list, g.node())
		}
	}
	return []waBinary.Node{{Tag: "groups", Content: list}}
}

func hasMember(g *group, p *Phone) bool {
	_, ok := g.members[p]
	return ok
}

// updateParticipants adds, removes, promotes or demotes members; admins
// only. Per participant: 404 for an account that does not exist (add) or
// is not a member, 409 for one already in the group, 406 for removing or
// demoting the group's creator.
func (s *Server) updateParticipants(actor *Phone, to types.JID, req waBinary.Node) ([]waBinary.Node, int) {
	action := req.Tag
	s.mu.Lock()
	g, code := s.adminGroup(to, actor)
	if code != 0 {
		s.mu.Unlock()
		return nil, code
	}
	var results, changed []waBinary.Node
	recipients := slices.Collect(maps.Keys(g.members))
	for _, part := range req.GetChildrenByTag("participant") {
		jid, _ := part.Attrs["jid"].(types.JID)
		res := waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": jid}}
		p := s.account(jid)
		current, member := "", false
		if p != nil {
			current, member = g.members[p]
		}
		fail := ""
		switch {
		case action == "add" && p == nil:
			fail = "404"
		case action == "add" && member:
			fail = "409"
		case action == "add":
			g.members[p] = RoleMember
			recipients = append(recipients, p)
		case !member:
			fail = "404"
		case current == RoleSuperAdmin && action != "promote":
			fail = "406"
		case action == "remove":
			delete(g.members, p)
		case action == "promote":
			if current != RoleSuperAdmin {
				g.members[p] = RoleAdmin
			}
		case action == "demote":
			g.members[p] = RoleMember
		}
		if fail != "" {
			res.Attrs["error"] = fail
		} else {
			res.Attrs["lid"] = p.lidJID()
			changed = append(changed, participantNode(p, RoleMember))
		}
		results = append(results, res)
	}
	s.mu.Unlock()
	if len(changed) > 0 {
		s.groupNotify(to, actor, recipients, waBinary.Node{Tag: action, Content: changed})
	}
	return []waBinary.Node{{Tag: action, Content: results}}, 0
}

// groupInvite returns the group's invite code, a new one when reset;
// admins only.
func (s *Server) groupInvite(actor *Phone, to types.JID, reset bool) ([]waBinary.Node, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, code := s.adminGroup(to, actor)
	if code != 0 {
		return nil, code
	}
	if reset {
		g.invite = randomHex(11)
	}
	return []waBinary.Node{{Tag: "invite", Attrs: waBinary.Attrs{"code": g.invite}}}, 0
}

// leaveGroups takes the actor out of the groups the request names. When
// the last admin leaves, the longest-standing member (by phone number
// here) becomes one, as WhatsApp does; an empty group is gone.
func (s *Server) leaveGroups(actor *Phone, req waBinary.Node) ([]waBinary.Node, int) {
	type left struct {
		jid        types.JID
		recipients []*Phone
	}
	var done []left
	var results []waBinary.Node
	s.mu.Lock()
	for _, gn := range req.GetChildrenByTag("group") {
		jid, _ := gn.Attrs["id"].(types.JID)
		g, _, code := s.memberGroup(jid, actor)
		if code != 0 {
			s.mu.Unlock()
			return nil, code
		}
		recipients := slices.Collect(maps.Keys(g.members))
		delete(g.members, actor)
		if len(g.members) == 0 {
			delete(s.groups, jid.User)
		} else if !slices.ContainsFunc(slices.Collect(maps.Values(g.members)), func(r string) bool { return r != RoleMember }) {
			first := slices.MinFunc(slices.Collect(maps.Keys(g.members)), func(a, b *Phone) int { return strings.Compare(a.number, b.number) })
			g.members[first] = RoleAdmin
		}
		done = append(done, left{jid: jid, recipients: recipients})
		results = append(results, waBinary.Node{Tag: "group", Attrs: waBinary.Attrs{"id": jid}})
	}
	s.mu.Unlock()
	for _, l := range done {
		s.groupNotify(l.jid, actor, l.recipients, waBinary.Node{Tag: "remove", Content: []waBinary.Node{participantNode(actor, RoleMember)}})
	}
	return []waBinary.Node{{Tag: "leave", Content: results}}, 0
}

// groupNotify sends a group change (w:gp2) by actor to the companions of
// recipients, queued until they acknowledge it.
func (s *Server) groupNotify(group types.JID, actor *Phone, recipients []*Phone, change waBinary.Node) {
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, p := range recipients {
		for _, d := range s.companions(p) {
			id := randomHex(8)
			s.deliver(d, outKey("notification", id, "w:gp2"), waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{
				"from": group, "type": "w:gp2", "id": id, "t": now, "participant": actor.pnJID(), "notify": actor.name(),
			}, Content: []waBinary.Node{change}})
		}
	}
}

// groupMessageFromDevice routes a companion's message to a group: each
// member's phone takes the sender key distributed to it, decrypts the
// group message (skmsg) and acknowledges it with a "delivered" receipt;
// the members' companions get it with their own copy of the sender key.
// It answers whether the message was accepted (the sender is a member).
func (s *Server) groupMessageFromDevice(sender *device, n *waBinary.Node, id, msgType string, to types.JID) bool {
	s.mu.Lock()
	g := s.groups[to.User]
	if g == nil || !hasMember(g, sender.phone) {
		s.mu.Unlock()
		return false
	}
	members := slices.Collect(maps.Keys(g.members))
	readers := make(map[*Phone]bool, len(members))
	for _, p := range members {
		readers[p] = p != sender.phone
	}
	s.sent[id] = &sentMessage{fromDevice: sender, group: to, readers: readers, status: make(map[string]bool)}
	s.mu.Unlock()

	i := slices.IndexFunc(n.GetChildrenByTag("enc"), func(c waBinary.Node) bool { return c.AttrGetter().OptionalString("type") == "skmsg" })
	if i < 0 {
		s.log.Warn("group message without skmsg", "id", id)
		return true
	}
	skmsg := n.GetChildrenByTag("enc")[i]
	keys := make(map[string]waBinary.Node) // deviceKey of a phone-number JID → its <enc> of the sender key
	participants, _ := n.GetOptionalChildByTag("participants")
	for _, target := range participants.GetChildren() {
		jid, ok := target.Attrs["jid"].(types.JID)
		enc, hasEnc := target.GetOptionalChildByTag("enc")
		if target.Tag == "to" && ok && hasEnc {
			if p, _ := s.resolve(jid.ToNonAD()); p != nil {
				keys[deviceKey(types.JID{User: p.number, Device: jid.Device})] = enc
			}
		}
	}
	for _, p := range members {
		var key *waBinary.Node
		if enc, ok := keys[deviceKey(p.pnJID())]; ok {
			key = &enc
		}
		msg, err := p.openGroupMessage(to, sender, key, skmsg)
		if err != nil {
			s.log.Warn("phone could not decrypt a group message", "phone", p.number, "group", to.String(), "id", id, "err", err)
		} else if p != sender.phone {
			typ, text := describe(msg)
			p.receive(Received{
				ID: id, From: sender.phone.number, FromDevice: sender.jid.String(), Group: to.String(), At: time.Now(),
				Type: typ, Text: text, Message: msg,
			})
			s.onReceipt(id, p, StatusDelivered)
			if s.cfg.AutoRead {
				s.onReceipt(id, p, StatusRead)
			}
		}
		for _, d := range s.companions(p) {
			if d == sender {
				continue
			}
			content := []waBinary.Node{skmsg}
			if enc, ok := keys[deviceKey(d.jid)]; ok {
				content = []waBinary.Node{enc, skmsg}
			}
			s.deliver(d, outKey("message", id, ""), waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{
				"from": to, "participant": sender.jid, "participant_lid": sender.lid, "id": id, "type": msgType,
				"t": strconv.FormatInt(time.Now().Unix(), 10), "notify": sender.phone.name(),
			}, Content: content})
		}
	}
	return true
}

// openGroupMessage takes the sender key a companion distributed to this
// phone (key, when the message carries one) and decrypts its group
// message.
func (p *Phone) openGroupMessage(group types.JID, sender *device, key *waBinary.Node, skmsg waBinary.Node) (*waE2E.Message, error) {
	ctx := context.Background()
	name := protocol.NewSenderKeyName(group.String(), sender.lid.SignalAddress())
	if key != nil {
		dist, err := p.decrypt(sender.jid, *key)
		if err != nil {
			return nil, fmt.Errorf("sender key: %w", err)
		}
		if skdm := dist.GetSenderKeyDistributionMessage(); skdm != nil {
			m, err := protocol.NewSenderKeyDistributionMessageFromBytes(skdm.GetAxolotlSenderKeyDistributionMessage(), serializer.SenderKeyDistributionMessage)
			if err != nil {
				return nil, fmt.Errorf("%w: sender key: %v", ErrProtocol, err)
			}
			p.cryptoMu.Lock()
			err = groups.NewGroupSessionBuilder(p.signal, serializer).Process(ctx, name, m)
			p.cryptoMu.Unlock()
			if err != nil {
				return nil, fmt.Errorf("sender key: %w", err)
			}
		}
	}
	ct, _ := skmsg.Content.([]byte)
	m, err := protocol.NewSenderKeyMessageFromBytes(ct, serializer.SenderKeyMessage)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	p.cryptoMu.Lock()
	builder := groups.NewGroupSessionBuilder(p.signal, serializer)
	plain, err := groups.NewGroupCipher(builder, name, p.signal).Decrypt(ctx, m)
	p.cryptoMu.Unlock()
	if err != nil {
		return nil, err
	}
	return unpadMessage(plain)
}

// SendGroupText sends a text from this account's phone to a group it is
// in: it distributes its sender key to the members' companions (with the
// message, as WhatsApp's clients do) and the members' phones receive it.
// It returns the message id.
func (p *Phone) SendGroupText(ctx context.Context, groupJID, text string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	s := p.s
	jid, err := types.ParseJID(groupJID)
	if err != nil || jid.Server != types.GroupServer {
		return "", fmt.Errorf("send to %s: %w", groupJID, ErrUnknownGroup)
	}
	s.mu.Lock()
	g, _, code := s.memberGroup(jid, p)
	var members []*Phone
	if g != nil {
		members = slices.Collect(maps.Keys(g.members))
	}
	s.mu.Unlock()
	if code != 0 {
		return "", fmt.Errorf("send to %s: %w (error %d)", groupJID, ErrUnknownGroup, code)
	}
	msg := &waE2E.Message{Conversation: proto.String(text)}
	plaintext, err := proto.Marshal(msg)
	if err != nil {
		return "", err
	}
	name := protocol.NewSenderKeyName(jid.String(), p.lidJID().SignalAddress())
	p.cryptoMu.Lock()
	builder := groups.NewGroupSessionBuilder(p.signal, serializer)
	dist, err := builder.Create(ctx, name)
	var sealed protocol.GroupCiphertextMessage
	if err == nil {
		sealed, err = groups.NewGroupCipher(builder, name, p.signal).Encrypt(ctx, pad(plaintext))
	}
	p.cryptoMu.Unlock()
	if err != nil {
		return "", fmt.Errorf("send to %s: %w", groupJID, err)
	}
	skdm, err := proto.Marshal(&waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{
		GroupID: proto.String(jid.String()), AxolotlSenderKeyDistributionMessage: dist.Serialize(),
	}})
	if err != nil {
		return "", err
	}
	skmsg := waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": "skmsg"}, Content: sealed.SignedSerialize()}
	id := newMessageID()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, m := range members {
		for _, d := range s.companions(m) {
			enc, err := p.encrypt(d, skdm)
			if err != nil {
				return id, fmt.Errorf("send to %s: %w", d.jid, err)
			}
			s.deliver(d, outKey("message", id, ""), waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{
				"from": jid, "participant": p.pnJID(), "participant_lid": p.lidJID(), "id": id, "t": now, "type": "text", "notify": p.name(),
			}, Content: []waBinary.Node{enc, skmsg}})
		}
		if m != p {
			m.receive(Received{ID: id, From: p.number, FromDevice: p.JID(), Group: jid.String(), At: time.Now(), Type: "text", Text: text, Message: msg})
		}
	}
	return id, nil
}

// unpadMessage removes WhatsApp's padding and parses the message.
func unpadMessage(plain []byte) (*waE2E.Message, error) {
	if len(plain) == 0 || int(plain[len(plain)-1]) > len(plain) {
		return nil, fmt.Errorf("%w: bad padding", ErrProtocol)
	}
	plain = plain[:len(plain)-int(plain[len(plain)-1])]
	var msg waE2E.Message
	if err := proto.Unmarshal(plain, &msg); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	return &msg, nil
}

// randomDigits is n random decimal digits.
func randomDigits(n int) string {
	b := []byte(randomHex(n))[:n]
	for i, c := range b {
		b[i] = '0' + c%10
	}
	return string(b)
}
