package fakewa

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/util/optional"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// device is a companion (a whatsmeow client) paired to an account.
type device struct {
	phone *Phone
	jid   types.JID // phone-number JID with the device number
	lid   types.JID // LID with the device number

	// Keys, from pairing and the client's upload.
	identity   [32]byte
	regID      uint32
	signed     *keys.PreKey
	preKeys    []*keys.PreKey // one-time, consumed by fetches
	registered bool

	removed     bool
	bannedUntil time.Time
	banCode     int

	conn   *conn // while logged in
	ready  bool  // logged in and active: the outbox flows
	outbox []*outItem
}

// outItem is a node waiting for a device's acknowledgement: messages until
// the device's receipt (or ack), receipts and notifications until its ack.
// Items are sent again on every new login until settled, as WhatsApp's
// offline queue does.
type outItem struct {
	key    string
	node   waBinary.Node
	sentOn *conn
}

// sentMessage remembers who sent a message, so that receipts find their
// way back.
type sentMessage struct {
	fromPhone  *Phone  // sent from a phone
	fromDevice *device // sent from a companion
	to         *Phone  // the recipient of a one-to-one message
	group      types.JID
	readers    map[*Phone]bool // the members who receipt a group message
	status     map[string]bool // receipts already passed on, by reader and status
}

// reader tells whether p is who receipts the message.
func (m *sentMessage) reader(p *Phone) bool {
	if m.readers != nil {
		return m.readers[p]
	}
	return m.to == p
}

func outKey(class, id, typ string) string { return class + "/" + id + "/" + typ }

// resolve finds the account (and companion, for a device number other
// than 0) of a phone-number JID or LID.
func (s *Server) resolve(jid types.JID) (*Phone, *device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.account(jid)
	if p == nil || jid.Device == 0 {
		return p, nil
	}
	return p, s.devices[p.number+":"+strconv.Itoa(int(jid.Device))]
}

// account finds an account by phone-number JID or LID. Called with s.mu
// held.
func (s *Server) account(jid types.JID) *Phone {
	switch jid.Server {
	case types.DefaultUserServer:
		return s.accounts[jid.User]
	case types.HiddenUserServer:
		return s.lids[jid.User]
	}
	return nil
}

// recipient finds the account of a phone number.
func (s *Server) recipient(number string) (*Phone, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.accounts[strings.TrimPrefix(number, "+")]
	if p == nil {
		return nil, fmt.Errorf("%s: %w", number, ErrUnknownAccount)
	}
	return p, nil
}

// device finds a companion by its JID string.
func (s *Server) device(jid string) (*device, error) {
	parsed, err := types.ParseJID(jid)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrUnknownDevice, jid, err)
	}
	_, d := s.resolve(parsed)
	if d == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownDevice, jid)
	}
	return d, nil
}

// companions returns an account's registered, linked companions.
func (s *Server) companions(p *Phone) []*device {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*device
	for _, d := range s.devices {
		if d.phone == p && d.registered && !d.removed {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b *device) int { return int(a.jid.Device) - int(b.jid.Device) })
	return out
}

// deliver queues a node for a device and sends it now if it is online.
func (s *Server) deliver(d *device, key string, n waBinary.Node) {
	s.mu.Lock()
	item := &outItem{key: key, node: n}
	d.outbox = append(d.outbox, item)
	c := d.conn
	if c == nil || !d.ready {
		s.mu.Unlock()
		return
	}
	item.sentOn = c
	s.mu.Unlock()
	c.send(n)
}

// flush marks a device ready (logged in and active) and sends what waits
// for it.
func (s *Server) flush(d *device, c *conn) {
	s.mu.Lock()
	if d.conn != c {
		s.mu.Unlock()
		return
	}
	d.ready = true
	var pending []waBinary.Node
	for _, item := range d.outbox {
		if item.sentOn != c {
			item.sentOn = c
			pending = append(pending, item.node)
		}
	}
	s.mu.Unlock()
	for _, n := range pending {
		c.send(n)
	}
}

// settle drops the outbox items a device acknowledged.
func (s *Server) settle(d *device, keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d.outbox = slices.DeleteFunc(d.outbox, func(item *outItem) bool { return slices.Contains(keys, item.key) })
}

// Pending is how many messages, receipts and notifications wait for a
// device's acknowledgement (delivered or not).
func (s *Server) Pending(deviceJID string) (int, error) {
	d, err := s.device(deviceJID)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(d.outbox), nil
}

// removeDevice unlinks a companion: its keys are refused from then on and,
// when the phone unlinked it, its stream ends with "device removed". A
// device that logs itself out gets only the answer to its request.
func (s *Server) removeDevice(d *device, byPhone bool) {
	if d == nil {
		return
	}
	s.mu.Lock()
	d.removed = true
	d.outbox = nil
	c := d.conn
	s.mu.Unlock()
	if c != nil && byPhone {
		c.streamError(deviceRemovedError())
	}
}

// messageFromDevice routes a message a companion sent: acknowledged at
// once, then decrypted by the recipients' phones and passed to their
// companions.
func (s *Server) messageFromDevice(c *conn, n *waBinary.Node) {
	ag := n.AttrGetter()
	id := ag.OptionalString("id")
	to, _ := n.Attrs["to"].(types.JID)
	sender := c.dev
	ack := waBinary.Attrs{"class": "message", "id": id, "from": to, "t": strconv.FormatInt(time.Now().Unix(), 10)}
	if to.Server == types.GroupServer {
		if !s.groupMessageFromDevice(sender, n, id, ag.OptionalString("type"), to) {
			ack["error"] = "403" // not a member (any more)
		}
		c.send(waBinary.Node{Tag: "ack", Attrs: ack})
		return
	}
	c.send(waBinary.Node{Tag: "ack", Attrs: ack})
	recipient, _ := s.resolve(to.ToNonAD())
	if recipient == nil {
		s.log.Debug("message to a number not on WhatsApp", "to", to.String())
		return
	}
	s.mu.Lock()
	s.sent[id] = &sentMessage{fromDevice: sender, to: recipient, status: make(map[string]bool)}
	s.mu.Unlock()
	participants, _ := n.GetOptionalChildByTag("participants")
	for _, target := range participants.GetChildren() {
		jid, ok := target.Attrs["jid"].(types.JID)
		enc, hasEnc := target.GetOptionalChildByTag("enc")
		if target.Tag != "to" || !ok || !hasEnc {
			continue
		}
		p, d := s.resolve(jid)
		switch {
		case p == nil:
		case jid.Device == 0:
			s.phoneReceive(p, sender, id, ag.OptionalString("type"), enc)
		case d != nil:
			s.forward(sender, d, to, id, ag.OptionalString("type"), enc)
		}
	}
}

// phoneReceive decrypts a companion's message on a simulated phone. A
// message for another account is received and acknowledged with
// "delivered" (and "read" with Config.AutoRead); a copy for the sender's
// own phone is only decrypted.
func (s *Server) phoneReceive(p *Phone, sender *device, id, msgType string, enc waBinary.Node) {
	msg, err := p.decrypt(sender.jid, enc)
	if err != nil {
		s.log.Warn("phone could not decrypt", "phone", p.number, "from", sender.jid.String(), "id", id, "err", err)
		return
	}
	if p == sender.phone {
		return // the sender's own phone keeps a copy (DeviceSentMessage)
	}
	typ, text := describe(msg)
	p.receive(Received{
		ID: id, From: sender.phone.number, FromDevice: sender.jid.String(), At: time.Now(),
		Type: typ, Text: text, Message: msg,
	})
	s.onReceipt(id, p, StatusDelivered)
	if s.cfg.AutoRead {
		s.onReceipt(id, p, StatusRead)
	}
}

// forward passes a companion's message to another companion.
func (s *Server) forward(sender, d *device, chat types.JID, id, msgType string, enc waBinary.Node) {
	attrs := waBinary.Attrs{
		"from": sender.jid, "id": id, "type": msgType, "t": strconv.FormatInt(time.Now().Unix(), 10),
		"notify": sender.phone.name(),
	}
	if d.phone == sender.phone {
		attrs["recipient"] = chat.ToNonAD() // a copy for a sibling device
	} else {
		attrs["sender_lid"] = sender.lid
	}
	s.deliver(d, outKey("message", id, ""), waBinary.Node{Tag: "message", Attrs: attrs, Content: []waBinary.Node{enc}})
}

// onReceipt passes a receipt from reader (the recipient account) for
// message id back to its sender, once per status.
func (s *Server) onReceipt(id string, reader *Phone, status string) {
	s.mu.Lock()
	m := s.sent[id]
	key := reader.number + "/" + status
	if m == nil || !m.reader(reader) || m.status[key] {
		s.mu.Unlock()
		return
	}
	m.status[key] = true
	s.mu.Unlock()
	switch {
	case m.fromPhone != nil:
		m.fromPhone.setStatus(id, status)
	case m.fromDevice != nil:
		attrs := waBinary.Attrs{"from": reader.pnJID(), "id": id, "t": strconv.FormatInt(time.Now().Unix(), 10)}
		if !m.group.IsEmpty() {
			attrs["from"], attrs["participant"] = m.group, reader.pnJID()
		}
		typ := ""
		if status == StatusRead {
			typ = "read"
			attrs["type"] = typ
		}
		s.deliver(m.fromDevice, outKey("receipt", id, typ), waBinary.Node{Tag: "receipt", Attrs: attrs})
	}
}

// receiptFromDevice handles a companion's receipt: "delivered" settles
// the messages it names; delivered and read receipts go back to their
// senders.
func (s *Server) receiptFromDevice(c *conn, n *waBinary.Node) {
	ag := n.AttrGetter()
	id, typ := ag.OptionalString("id"), ag.OptionalString("type")
	ack := waBinary.Attrs{"class": "receipt", "id": id, "from": n.Attrs["to"]}
	if typ != "" {
		ack["type"] = typ
	}
	c.send(waBinary.Node{Tag: "ack", Attrs: ack})
	ids := []string{id}
	if list, ok := n.GetOptionalChildByTag("list"); ok {
		for _, item := range list.GetChildren() {
			if itemID, ok := item.Attrs["id"].(string); ok {
				ids = append(ids, itemID)
			}
		}
	}
	d := c.dev
	switch typ {
	case "", "inactive":
		var settled []string
		for _, mid := range ids {
			settled = append(settled, outKey("message", mid, ""))
			s.onReceipt(mid, d.phone, StatusDelivered)
		}
		s.settle(d, settled...)
	case "read", "played":
		for _, mid := range ids {
			s.onReceipt(mid, d.phone, StatusRead)
		}
	case "sender", "peer_msg":
		var settled []string
		for _, mid := range ids {
			settled = append(settled, outKey("message", mid, ""))
		}
		s.settle(d, settled...)
	default:
		s.log.Debug("receipt ignored", "type", typ, "id", id)
	}
}

// ackFromDevice settles what a companion acknowledged. An ack of a message
// is a refusal (it could not decrypt it); WhatsApp stops redelivering.
func (s *Server) ackFromDevice(d *device, n *waBinary.Node) {
	ag := n.AttrGetter()
	class, id, typ := ag.OptionalString("class"), ag.OptionalString("id"), ag.OptionalString("type")
	if class == "message" {
		typ = ""
		if e := ag.OptionalString("error"); e != "" {
			s.log.Warn("device refused a message", "device", d.jid.String(), "id", id, "error", e)
		}
	}
	s.settle(d, outKey(class, id, typ))
}

// decrypt opens a message a companion encrypted for this phone.
func (p *Phone) decrypt(from types.JID, enc waBinary.Node) (*waE2E.Message, error) {
	ct, _ := enc.Content.([]byte)
	addr := from.SignalAddress()
	ctx := context.Background()
	p.cryptoMu.Lock()
	defer p.cryptoMu.Unlock()
	builder := session.NewBuilderFromSignal(p.signal, addr, serializer)
	cipher := session.NewCipher(builder, addr)
	var plain []byte
	var err error
	switch typ := enc.AttrGetter().OptionalString("type"); typ {
	case "pkmsg":
		var m *protocol.PreKeySignalMessage
		if m, err = protocol.NewPreKeySignalMessageFromBytes(ct, serializer.PreKeySignalMessage, serializer.SignalMessage); err == nil {
			plain, err = cipher.DecryptMessage(ctx, m)
		}
	case "msg":
		var m *protocol.SignalMessage
		if m, err = protocol.NewSignalMessageFromBytes(ct, serializer.SignalMessage); err == nil {
			plain, err = cipher.Decrypt(ctx, m)
		}
	default:
		err = fmt.Errorf("%w: enc type %q", ErrProtocol, typ)
	}
	if err != nil {
		return nil, err
	}
	return unpadMessage(plain)
}

// encrypt seals plaintext for a companion, starting a session from the
// companion's uploaded keys when there is none.
func (p *Phone) encrypt(d *device, plaintext []byte) (waBinary.Node, error) {
	ctx := context.Background()
	addr := d.jid.SignalAddress()
	p.cryptoMu.Lock()
	defer p.cryptoMu.Unlock()
	builder := session.NewBuilderFromSignal(p.signal, addr, serializer)
	has, err := p.signal.ContainsSession(ctx, addr)
	if err != nil {
		return waBinary.Node{}, err
	}
	if !has {
		b, err := p.s.companionBundle(d)
		if err != nil {
			return waBinary.Node{}, err
		}
		if err := builder.ProcessBundle(ctx, b); err != nil {
			return waBinary.Node{}, fmt.Errorf("start session with %s: %w", d.jid, err)
		}
	}
	ct, err := session.NewCipher(builder, addr).Encrypt(ctx, pad(plaintext))
	if err != nil {
		return waBinary.Node{}, err
	}
	typ := "msg"
	if ct.Type() == protocol.PREKEY_TYPE {
		typ = "pkmsg"
	}
	return waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": typ}, Content: ct.Serialize()}, nil
}

// companionBundle takes a prekey bundle of a companion for a new session.
func (s *Server) companionBundle(d *device) (*prekey.Bundle, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !d.registered {
		return nil, fmt.Errorf("%w: %s has uploaded no keys", ErrUnknownDevice, d.jid)
	}
	preKeyID := optional.NewEmptyUint32()
	var preKeyPub ecc.ECPublicKeyable
	if len(d.preKeys) > 0 {
		k := d.preKeys[0]
		d.preKeys = d.preKeys[1:]
		preKeyID, preKeyPub = optional.NewOptionalUint32(k.KeyID), ecc.NewDjbECPublicKey(*k.Pub)
	}
	return prekey.NewBundle(d.regID, uint32(d.jid.Device), preKeyID, d.signed.KeyID, preKeyPub,
		ecc.NewDjbECPublicKey(*d.signed.Pub), *d.signed.Signature, identity.NewKey(ecc.NewDjbECPublicKey(d.identity))), nil
}

// pad adds WhatsApp's padding: n bytes of value n.
func pad(b []byte) []byte {
	n := byte(1 + len(b)%15)
	return append(slices.Clone(b), bytes.Repeat([]byte{n}, int(n))...)
}

// describe names a message's type and text.
func describe(m *waE2E.Message) (typ, text string) {
	if dsm := m.GetDeviceSentMessage().GetMessage(); dsm != nil {
		m = dsm
	}
	switch {
	case m.Conversation != nil:
		return "text", m.GetConversation()
	case m.ExtendedTextMessage != nil:
		return "text", m.GetExtendedTextMessage().GetText()
	case m.ImageMessage != nil:
		return "image", m.GetImageMessage().GetCaption()
	case m.VideoMessage != nil:
		return "video", m.GetVideoMessage().GetCaption()
	case m.AudioMessage != nil:
		return "audio", ""
	case m.DocumentMessage != nil:
		return "document", m.GetDocumentMessage().GetCaption()
	case m.StickerMessage != nil:
		return "sticker", ""
	case m.LocationMessage != nil:
		return "location", m.GetLocationMessage().GetName()
	case m.ContactMessage != nil:
		return "contact", m.GetContactMessage().GetDisplayName()
	case m.ReactionMessage != nil:
		return "reaction", m.GetReactionMessage().GetText()
	}
	return "other", ""
}
