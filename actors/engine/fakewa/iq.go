package fakewa

import (
	"encoding/binary"
	"strconv"
	"strings"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// handleIQ answers a client's info query.
func (c *conn) handleIQ(n *waBinary.Node) {
	ag := n.AttrGetter()
	id, typ, xmlns := ag.OptionalString("id"), ag.OptionalString("type"), ag.OptionalString("xmlns")
	var first waBinary.Node
	if ch := n.GetChildren(); len(ch) > 0 {
		first = ch[0]
	}
	switch typ {
	case "result":
		if first.Tag == "pair-device-sign" {
			c.finishPairing(id)
		}
		return
	case "error":
		c.s.log.Debug("client answered an IQ with an error", "node", n.XMLString())
		return
	}
	result := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "result", "id": id}}
	var after func()
	switch xmlns {
	case "encrypt":
		switch {
		case typ == "get" && first.Tag == "count":
			result.Content = []waBinary.Node{{Tag: "count", Attrs: waBinary.Attrs{"value": strconv.Itoa(c.s.preKeyCount(c.dev))}}}
		case typ == "set":
			c.s.storeKeys(c.dev, n)
		case typ == "get" && first.Tag == "key":
			result.Content = []waBinary.Node{c.s.bundles(first)}
		}
	case "usync":
		result.Content = []waBinary.Node{c.s.usync(n)}
	case "w:m":
		if first.Tag == "media_conn" {
			result.Content = []waBinary.Node{c.s.mediaConn()}
		}
	case "md":
		switch first.Tag {
		case "link_code_companion_reg":
			switch first.AttrGetter().OptionalString("stage") {
			case "companion_hello":
				result.Content = []waBinary.Node{c.linkHello(first)}
			case "companion_finish":
				after = func() { c.linkFinish(first) }
			}
		case "remove-companion-device":
			c.s.removeDevice(c.dev, false)
		}
	case "w:g2":
		to, _ := n.Attrs["to"].(types.JID)
		content, code := c.s.groupIQ(c.dev, to, typ, first)
		if code != 0 {
			result.Attrs["type"] = "error"
			content = []waBinary.Node{iqError(code)}
		}
		result.Attrs["from"] = to
		result.Content = content
	case "w:profile:picture":
		// Simulated accounts have no profile pictures.
		result.Attrs["type"] = "error"
		result.Content = []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": "404", "text": "item-not-found"}}}
	case "passive":
		if first.Tag == "active" && c.dev != nil {
			after = func() { c.s.flush(c.dev, c) }
		}
	}
	c.send(result)
	if after != nil {
		after()
	}
}

// preKeyCount is what the server tells a device about its prekeys.
func (s *Server) preKeyCount(d *device) int {
	if d == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.PrekeyBatch > 0 && d.registered {
		return s.cfg.PrekeyBatch
	}
	return len(d.preKeys)
}

// storeKeys keeps the Signal keys a device uploads.
func (s *Server) storeKeys(d *device, n *waBinary.Node) {
	if d == nil {
		return
	}
	reg, _ := n.GetChildByTag("registration").Content.([]byte)
	ident, _ := n.GetChildByTag("identity").Content.([]byte)
	skey := n.GetChildByTag("skey")
	signed := nodeToKey(skey)
	if len(reg) != 4 || len(ident) != 32 || signed == nil || signed.Signature == nil {
		s.log.Debug("malformed prekey upload")
		return
	}
	var uploaded []*keys.PreKey
	list := n.GetChildByTag("list")
	for _, k := range list.GetChildren() {
		if pk := nodeToKey(k); pk != nil {
			uploaded = append(uploaded, pk)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d.regID = binary.BigEndian.Uint32(reg)
	d.identity = [32]byte(ident)
	d.signed = signed
	d.preKeys = append(d.preKeys, uploaded...)
	d.registered = true
}

// nodeToKey reads a <key> or <skey> node (public key only).
func nodeToKey(n waBinary.Node) *keys.PreKey {
	id, _ := n.GetChildByTag("id").Content.([]byte)
	value, _ := n.GetChildByTag("value").Content.([]byte)
	if len(id) != 3 || len(value) != 32 {
		return nil
	}
	k := &keys.PreKey{KeyPair: keys.KeyPair{Pub: (*[32]byte)(value)}, KeyID: keyID(id)}
	if sig, ok := n.GetChildByTag("signature").Content.([]byte); ok && len(sig) == 64 {
		k.Signature = (*[64]byte)(sig)
	}
	return k
}

func keyNode(tag string, k *keys.PreKey) waBinary.Node {
	content := []waBinary.Node{{Tag: "id", Content: keyIDBytes(k.KeyID)}, {Tag: "value", Content: k.Pub[:]}}
	if k.Signature != nil {
		content = append(content, waBinary.Node{Tag: "signature", Content: k.Signature[:]})
	}
	return waBinary.Node{Tag: tag, Content: content}
}

// bundles answers a prekey fetch: each device's identity, signed prekey
// and one one-time prekey (consumed).
func (s *Server) bundles(req waBinary.Node) waBinary.Node {
	var users []waBinary.Node
	for _, u := range req.GetChildren() {
		jid, ok := u.Attrs["jid"].(types.JID)
		if u.Tag != "user" || !ok {
			continue
		}
		users = append(users, s.bundle(jid))
	}
	return waBinary.Node{Tag: "list", Content: users}
}

func (s *Server) bundle(jid types.JID) waBinary.Node {
	user := waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}}
	notFound := func() waBinary.Node {
		user.Content = []waBinary.Node{{Tag: "error", Attrs: waBinary.Attrs{"code": "404", "text": "item-not-found"}}}
		return user
	}
	p, d := s.resolve(jid)
	if p == nil {
		return notFound()
	}
	var regID uint32
	var identity [32]byte
	var signed, oneTime *keys.PreKey
	if jid.Device == 0 {
		regID, identity, signed, oneTime = p.signal.regID, *p.signal.identity.Pub, p.signal.signed, p.signal.newPreKey()
	} else {
		s.mu.Lock()
		if d == nil || !d.registered || d.removed {
			s.mu.Unlock()
			return notFound()
		}
		regID, identity, signed = d.regID, d.identity, d.signed
		if len(d.preKeys) > 0 {
			oneTime, d.preKeys = d.preKeys[0], d.preKeys[1:]
		}
		s.mu.Unlock()
	}
	content := []waBinary.Node{
		{Tag: "registration", Content: binary.BigEndian.AppendUint32(nil, regID)},
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: identity[:]},
	}
	if oneTime != nil {
		content = append(content, keyNode("key", oneTime))
	}
	user.Content = append(content, keyNode("skey", signed))
	return user
}

// usync answers user queries: device lists, and whether phone numbers are
// on WhatsApp.
func (s *Server) usync(n *waBinary.Node) waBinary.Node {
	usync := n.GetChildByTag("usync")
	query := usync.GetChildByTag("query")
	_, wantDevices := query.GetOptionalChildByTag("devices")
	var users []waBinary.Node
	list := usync.GetChildByTag("list")
	for _, u := range list.GetChildren() {
		if u.Tag != "user" {
			continue
		}
		if jid, ok := u.Attrs["jid"].(types.JID); ok {
			node := waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}}
			if wantDevices {
				node.Content = []waBinary.Node{s.deviceList(jid)}
			}
			users = append(users, node)
			continue
		}
		contact, ok := u.GetOptionalChildByTag("contact")
		if !ok {
			continue
		}
		users = append(users, s.contactCheck(contact))
	}
	return waBinary.Node{Tag: "usync", Content: []waBinary.Node{{Tag: "list", Content: users}}}
}

// deviceList lists an account's devices: its phone and its registered
// companions. An unknown user has none.
func (s *Server) deviceList(jid types.JID) waBinary.Node {
	var devs []waBinary.Node
	if p, _ := s.resolve(jid.ToNonAD()); p != nil {
		devs = append(devs, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": "0"}})
		for _, d := range s.companions(p) {
			devs = append(devs, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": strconv.Itoa(int(d.jid.Device))}})
		}
	}
	return waBinary.Node{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list", Content: devs}}}
}

// contactCheck answers whether the phone number in a <contact> query
// ("+15551234567@c.us" or "+15551234567") is on WhatsApp.
func (s *Server) contactCheck(contact waBinary.Node) waBinary.Node {
	var raw string
	switch v := contact.Content.(type) {
	case []byte:
		raw = string(v)
	case string:
		raw = v
	}
	number, _, _ := strings.Cut(raw, "@")
	number = strings.TrimPrefix(number, "+")
	typ := "out"
	s.mu.Lock()
	if _, ok := s.accounts[number]; ok {
		typ = "in"
	}
	s.mu.Unlock()
	return waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": types.NewJID(number, types.DefaultUserServer)},
		Content: []waBinary.Node{{Tag: "contact", Attrs: waBinary.Attrs{"type": typ}, Content: []byte(raw)}}}
}

func (s *Server) mediaConn() waBinary.Node {
	s.mu.Lock()
	auth := s.mediaAuth
	s.mu.Unlock()
	return waBinary.Node{Tag: "media_conn",
		Attrs:   waBinary.Attrs{"auth": auth, "ttl": "3600", "auth_ttl": "3600", "max_buckets": "12"},
		Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": mediaHost}}}}
}
