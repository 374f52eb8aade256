package fakewa

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	mathrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// Phone is a simulated WhatsApp account and the phone it lives on: it
// pairs companion devices (ScanQR, EnterCode), unlinks them, and talks to
// other accounts (SendText, Received, Read). Its phone is always online.
// Safe for concurrent use.
type Phone struct {
	s        *Server
	number   string
	lid      string
	rawID    uint32
	signal   *signalStore
	cryptoMu sync.Mutex // one Signal operation at a time

	mu         sync.Mutex
	pushName   string
	nextDevice uint16
	received   []Received
	status     map[string]string // receipts of the messages this phone sent
	online     bool              // the user's presence (SetOnline)
	lastSeen   time.Time
	changed    chan struct{} // closed and replaced on every change
}

// Received is a message a simulated phone received, decrypted.
type Received struct {
	ID         string
	From       string // the sender's phone number
	FromDevice string // the JID of the device that sent it
	Group      string // the group's JID, for a message sent to a group
	At         time.Time
	Type       string // text, image, video, audio, document, sticker, location, contact, reaction or other
	Text       string // the text, or the caption of media
	Message    *waE2E.Message
}

// Receipt statuses of the messages a Phone sent.
const (
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
)

// Phone returns the account of a phone number (digits with the country
// code), creating it on first use: from then on the number is on
// WhatsApp.
func (s *Server) Phone(number string) *Phone {
	number = strings.TrimPrefix(strings.TrimSpace(number), "+")
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.accounts[number]; ok {
		return p
	}
	h := fnv.New32a()
	h.Write([]byte(number))
	identity := keys.NewKeyPair()
	p := &Phone{
		s:        s,
		number:   number,
		lid:      "8" + number,
		rawID:    h.Sum32(),
		signal:   newSignalStore(identity, mathrand.Uint32N(16380)+1),
		pushName: "Phone " + number,
		status:   make(map[string]string),
		changed:  make(chan struct{}),
	}
	s.accounts[number] = p
	s.lids[p.lid] = p
	return p
}

// Number is the account's phone number.
func (p *Phone) Number() string { return p.number }

// JID is the account's phone-number JID, "number@s.whatsapp.net".
func (p *Phone) JID() string { return p.pnJID().String() }

// LID is the user part of the account's LID.
func (p *Phone) LID() string { return p.lid }

// SetPushName sets the name the account's messages carry.
func (p *Phone) SetPushName(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushName = name
}

func (p *Phone) name() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pushName
}

func (p *Phone) pnJID() types.JID  { return types.NewJID(p.number, types.DefaultUserServer) }
func (p *Phone) lidJID() types.JID { return types.NewJID(p.lid, types.HiddenUserServer) }

// notify wakes everyone waiting for a change of the phone. Called with
// p.mu held.
func (p *Phone) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// ScanQR plays the phone scanning a companion's QR code: the device is
// paired to this account (WhatsApp then restarts its connection and it
// logs in). ErrNoPairing when no connection shows that code.
func (p *Phone) ScanQR(ctx context.Context, code string) error {
	parts := strings.Split(code, ",")
	if len(parts) != 4 {
		return fmt.Errorf("scan QR: %w: not a WhatsApp QR code", ErrNoPairing)
	}
	identity, err1 := base64.StdEncoding.DecodeString(parts[2])
	advSecret, err2 := base64.StdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(identity) != 32 || len(advSecret) != 32 {
		return fmt.Errorf("scan QR: %w: malformed keys", ErrNoPairing)
	}
	p.s.mu.Lock()
	c := p.s.qrRefs[parts[0]]
	p.s.mu.Unlock()
	if c == nil || c.reg.identity != [32]byte(identity) {
		return fmt.Errorf("scan QR: %w", ErrNoPairing)
	}
	return p.pair(ctx, c, [32]byte(identity), advSecret)
}

// pair sends pair-success to a registration connection: a new device of
// this account, its identity signed with the account key.
func (p *Phone) pair(ctx context.Context, c *conn, companionIdentity [32]byte, advSecret []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := p.s
	p.mu.Lock()
	p.nextDevice++
	id := p.nextDevice
	p.mu.Unlock()
	d := &device{
		phone:    p,
		jid:      types.JID{User: p.number, Device: id, Server: types.DefaultUserServer},
		lid:      types.JID{User: p.lid, Device: id, Server: types.HiddenUserServer},
		identity: companionIdentity,
	}
	details, err := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID: proto.Uint32(p.rawID), Timestamp: proto.Uint64(uint64(time.Now().Unix())), KeyIndex: proto.Uint32(uint32(id)),
	})
	if err != nil {
		return err
	}
	msg := slices.Concat([]byte{6, 0}, details, companionIdentity[:])
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*p.signal.identity.Priv), msg)
	signed, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{
		Details: details, AccountSignatureKey: p.signal.identity.Pub[:], AccountSignature: sig[:],
	})
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, advSecret)
	mac.Write(signed)
	container, err := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{Details: signed, HMAC: mac.Sum(nil)})
	if err != nil {
		return err
	}
	iqID := "ps-" + randomHex(4)
	s.mu.Lock()
	if c.reg == nil || c.reg.pending != nil {
		s.mu.Unlock()
		return fmt.Errorf("pair: %w: already pairing", ErrNoPairing)
	}
	c.reg.pending, c.reg.pairIQ = d, iqID
	s.mu.Unlock()
	c.send(waBinary.Node{
		Tag:   "iq",
		Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": iqID, "xmlns": "md"},
		Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
			{Tag: "device-identity", Content: container},
			{Tag: "device", Attrs: waBinary.Attrs{"jid": d.jid, "lid": d.lid}},
			{Tag: "platform", Attrs: waBinary.Attrs{"name": "android"}},
		}}},
	})
	return nil
}

// finishPairing registers the device once the companion signed its
// identity, and restarts its stream (515) so that it logs in.
func (c *conn) finishPairing(iqID string) {
	s := c.s
	s.mu.Lock()
	if c.reg == nil || c.reg.pending == nil || c.reg.pairIQ != iqID {
		s.mu.Unlock()
		return
	}
	d := c.reg.pending
	s.devices[deviceKey(d.jid)] = d
	s.mu.Unlock()
	s.log.Debug("paired", "device", d.jid.String())
	c.streamError(restartError())
}

// Devices returns the JIDs of the account's companion devices
// ("number:device@s.whatsapp.net"), oldest first.
func (p *Phone) Devices() []string {
	var out []string
	for _, d := range p.s.companions(p) {
		out = append(out, d.jid.String())
	}
	return out
}

// Unlink plays "log out" of a linked device on the phone: WhatsApp ends
// its stream with "device removed" (401) and refuses its keys from then on.
func (p *Phone) Unlink(deviceJID string) error {
	d, err := p.s.device(deviceJID)
	if err != nil {
		return err
	}
	if d.phone != p {
		return fmt.Errorf("unlink %s: %w of %s", deviceJID, ErrUnknownDevice, p.number)
	}
	p.s.removeDevice(d, true)
	return nil
}

// Received returns the messages the account's phone received, oldest
// first.
func (p *Phone) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.received)
}

// WaitReceived waits until the phone has received a message that match
// accepts (nil accepts any) and returns it.
func (p *Phone) WaitReceived(ctx context.Context, match func(Received) bool) (Received, error) {
	for {
		p.mu.Lock()
		for _, r := range p.received {
			if match == nil || match(r) {
				p.mu.Unlock()
				return r, nil
			}
		}
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Received{}, fmt.Errorf("wait for a message to %s: %w", p.number, ErrTimeout)
		}
	}
}

// Status is the receipt status of a message the phone sent: StatusSent,
// StatusDelivered or StatusRead; "" for an unknown id.
func (p *Phone) Status(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status[id]
}

// WaitStatus waits until a message the phone sent has reached status (or
// a later one).
func (p *Phone) WaitStatus(ctx context.Context, id, status string) error {
	rank := map[string]int{StatusSent: 1, StatusDelivered: 2, StatusRead: 3}
	for {
		p.mu.Lock()
		reached := rank[p.status[id]] >= rank[status]
		ch := p.changed
		p.mu.Unlock()
		if reached {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s of %s: %w", status, id, ErrTimeout)
		}
	}
}

func (p *Phone) setStatus(id, status string) {
	rank := map[string]int{StatusSent: 1, StatusDelivered: 2, StatusRead: 3}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rank[status] > rank[p.status[id]] {
		p.status[id] = status
		p.notify()
	}
}

func (p *Phone) receive(r Received) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.received = append(p.received, r)
	p.notify()
}

// Read plays the phone's user opening messages it received: "read"
// receipts go to their senders.
func (p *Phone) Read(ids ...string) error {
	for _, id := range ids {
		if !p.hasReceived(id) {
			return fmt.Errorf("read %s: %w by %s", id, ErrUnknownMessage, p.number)
		}
		p.s.onReceipt(id, p, StatusRead)
	}
	return nil
}

func (p *Phone) hasReceived(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.received {
		if r.ID == id {
			return true
		}
	}
	return false
}
