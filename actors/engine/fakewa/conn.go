package fakewa

import (
	"context"

	"encoding/binary"
	"fmt"
	"strconv"
	"sync"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// closeGrace is how long the server waits, after a stream error or a
// refused login, for the client to hang up before it drops the connection
// itself.
const closeGrace = 5 * time.Second

// conn is one client connection: a registration connection (showing QR
// codes until a phone pairs it) or a companion device's login.
type conn struct {
	s      *Server
	t      *transport
	cancel context.CancelFunc
	done   chan struct{} // closed when serve returns
	drops  sync.Once

	payload *waWa6.ClientPayload
	dev     *device       // the logged-in companion; nil on registration connections
	reg     *registration // set on registration connections
}

// registration is the state of a connection that is pairing.
type registration struct {
	identity [32]byte // the companion's identity key, from its payload
	refs     []string // QR refs shown
	pending  *device  // paired by a phone, waiting for the companion's signature
	pairIQ   string   // id of the pair-success IQ
}

// serve runs the connection until it closes.
func (c *conn) serve() {
	defer close(c.done)
	defer c.cleanup()
	payload, err := c.t.handshake(c.s.tr)
	if err != nil {
		c.s.log.Debug("handshake failed", "err", err)
		c.drop()
		return
	}
	c.payload = payload
	if c.refuseVersion() {
		c.loop()
		return
	}
	if payload.DevicePairingData != nil {
		if err := c.startRegistration(); err != nil {
			c.s.log.Debug("registration", "err", err)
			c.drop()
			return
		}
	} else if err := c.login(); err != nil {
		c.s.log.Debug("login", "err", err)
		c.drop()
		return
	}
	c.loop()
}

func (c *conn) loop() {
	for {
		n, err := c.t.recv()
		if err != nil {
			c.drop()
			return
		}
		c.handle(n)
	}
}

// cleanup forgets the connection once it is gone.
func (c *conn) cleanup() {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.dev != nil && c.dev.conn == c {
		c.dev.conn, c.dev.ready = nil, false
		for _, subs := range s.presenceSubs { // subscriptions end with the connection
			delete(subs, c.dev)
		}
	}
	if c.reg != nil {
		for _, ref := range c.reg.refs {
			if s.qrRefs[ref] == c {
				delete(s.qrRefs, ref)
			}
		}
	}
	for number, l := range s.links {
		if l.conn == c {
			delete(s.links, number)
		}
	}
}

// drop closes the connection at once.
func (c *conn) drop() {
	c.drops.Do(func() {
		c.cancel()
		_ = c.t.ws.CloseNow()
	})
}

// closeAfterGrace drops the connection once the client hung up or the
// grace period ended, as WhatsApp does after a stream error or a refused
// login: the client has time to read the reason.
func (c *conn) closeAfterGrace() {
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		select {
		case <-c.done:
		case <-time.After(closeGrace):
		}
		c.drop()
	}()
}

// send writes a node; a failure means the connection is going away.
func (c *conn) send(n waBinary.Node) {
	c.s.log.Debug("->", "node", n.XMLString())
	if err := c.t.send(n); err != nil {
		c.s.log.Debug("send failed", "tag", n.Tag, "err", err)
		c.drop()
	}
}

// fail sends a login failure and closes the connection.
func (c *conn) fail(attrs waBinary.Attrs) {
	c.send(waBinary.Node{Tag: "failure", Attrs: attrs})
	c.closeAfterGrace()
}

// streamError sends a stream error and closes the connection.
func (c *conn) streamError(n waBinary.Node) {
	c.send(n)
	c.closeAfterGrace()
}

// refuseVersion refuses a client whose version is below the server's
// minimum, with 405 "client outdated"; it reports whether it did.
func (c *conn) refuseVersion() bool {
	v := c.payload.GetUserAgent().GetAppVersion()
	announced := store.WAVersionContainer{v.GetPrimary(), v.GetSecondary(), v.GetTertiary()}
	c.s.mu.Lock()
	minimum := c.s.minVersion
	c.s.mu.Unlock()
	if minimum.IsZero() || !older(announced, minimum) {
		return false
	}
	c.s.log.Debug("client outdated", "version", announced.String(), "minimum", minimum.String())
	c.fail(waBinary.Attrs{"reason": "405"})
	return true
}

// startRegistration shows QR codes to a client without keys.
func (c *conn) startRegistration() error {
	pd := c.payload.DevicePairingData
	if len(pd.GetEIdent()) != 32 {
		return fmt.Errorf("%w: registration without an identity key", ErrProtocol)
	}
	reg := &registration{identity: [32]byte(pd.GetEIdent())}
	refs := make([]waBinary.Node, 6)
	for i := range refs {
		ref := "2@" + randomHex(24)
		reg.refs = append(reg.refs, ref)
		refs[i] = waBinary.Node{Tag: "ref", Content: []byte(ref)}
	}
	c.s.mu.Lock()
	c.reg = reg
	for _, ref := range reg.refs {
		c.s.qrRefs[ref] = c
	}
	c.s.mu.Unlock()
	c.send(waBinary.Node{
		Tag:     "iq",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": "pd-" + randomHex(4), "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-device", Content: refs}},
	})
	return nil
}

// login accepts a paired companion, or refuses it (logged out, banned).
// A second connection of the same device replaces the first, as on
// WhatsApp.
func (c *conn) login() error {
	user := strconv.FormatUint(c.payload.GetUsername(), 10)
	key := user + ":" + strconv.FormatUint(uint64(c.payload.GetDevice()), 10)
	s := c.s
	s.mu.Lock()
	d := s.devices[key]
	switch {
	case d == nil || d.removed:
		s.mu.Unlock()
		s.log.Debug("login of an unknown or removed device", "device", key)
		c.fail(waBinary.Attrs{"reason": "401"})
		return nil
	case time.Now().Before(d.bannedUntil):
		until, code := d.bannedUntil, d.banCode
		s.mu.Unlock()
		c.fail(waBinary.Attrs{"reason": "402", "code": strconv.Itoa(code), "expire": strconv.Itoa(int(time.Until(until).Seconds()))})
		return nil
	}
	old := d.conn
	d.conn, d.ready, c.dev = c, false, d
	lid := d.lid
	s.mu.Unlock()
	if old != nil {
		s.log.Debug("stream replaced", "device", key)
		old.streamError(replacedError())
	}
	c.send(waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{
		"t": strconv.FormatInt(time.Now().Unix(), 10), "lid": lid, "props": "1", "location": "fake",
	}})
	return nil
}

// handle dispatches one node from the client.
func (c *conn) handle(n *waBinary.Node) {
	c.s.log.Debug("<-", "node", n.XMLString())
	switch n.Tag {
	case "iq":
		c.handleIQ(n)
	case "message":
		if c.dev != nil {
			c.s.messageFromDevice(c, n)
		}
	case "receipt":
		if c.dev != nil {
			c.s.receiptFromDevice(c, n)
		}
	case "ack":
		if c.dev != nil {
			c.s.ackFromDevice(c.dev, n)
		}
	case "presence":
		if c.dev != nil {
			c.s.presenceFromDevice(c.dev, n)
		}
	}
}

func replacedError() waBinary.Node {
	return waBinary.Node{Tag: "stream:error", Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "replaced"}}}}
}

func deviceRemovedError() waBinary.Node {
	return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "401"},
		Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "device_removed"}}}}
}

func restartError() waBinary.Node {
	return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "515"}}
}

// keyID is a 3-byte big-endian key id.
func keyID(b []byte) uint32 {
	if len(b) != 3 {
		return 0
	}
	return binary.BigEndian.Uint32(append([]byte{0}, b...))
}

func keyIDBytes(id uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id)
	return b[1:]
}
