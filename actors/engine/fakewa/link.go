package fakewa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"go.mau.fi/util/random"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/pbkdf2"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"go.mau.fi/whatsmeow/util/keys"
)

// This file is pairing by code ("Link with phone number"), following
// whatsmeow's pair-code.go: the companion asks for a code for a phone
// number (companion_hello), the user types it on that phone (EnterCode),
// the phone answers with its own ephemeral key wrapped with the code, the
// companion sends its identity wrapped with the shared secret
// (companion_finish), and the phone pairs it as after a QR scan.

// link is a pairing-code request waiting for its phone.
type link struct {
	conn      *conn
	ref       string
	wrapped   []byte // the companion's ephemeral key, wrapped with the code
	primary   *keys.KeyPair
	companion []byte // the companion's ephemeral key, once unwrapped
}

// linkHello records a companion's request and answers with its reference.
func (c *conn) linkHello(n waBinary.Node) waBinary.Node {
	jid, _ := n.Attrs["jid"].(types.JID)
	wrapped, _ := n.GetChildByTag("link_code_pairing_wrapped_companion_ephemeral_pub").Content.([]byte)
	ref := randomHex(16)
	if len(wrapped) == 80 && jid.User != "" && c.reg != nil {
		c.s.mu.Lock()
		c.s.links[jid.User] = &link{conn: c, ref: ref, wrapped: wrapped}
		c.s.mu.Unlock()
	}
	return waBinary.Node{Tag: "link_code_companion_reg", Content: []waBinary.Node{
		{Tag: "link_code_pairing_ref", Content: []byte(ref)},
	}}
}

// codeKey derives the key that wraps ephemeral keys with a pairing code.
func codeKey(code string, salt []byte) []byte {
	return pbkdf2.Key([]byte(code), salt, 2<<16, 32, sha256.New)
}

// ctr applies AES-CTR (its own inverse).
func ctr(key, iv, data []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	cipher.NewCTR(block, iv).XORKeyStream(out, data)
	return out, nil
}

// EnterCode plays the user typing a companion's pairing code on the phone
// ("XXXX-XXXX"). The companion must have asked for a code for this phone
// number (ErrNoPairing otherwise). A wrong code makes the pairing fail on
// the companion's side, as on WhatsApp.
func (p *Phone) EnterCode(ctx context.Context, code string) error {
	code = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	p.s.mu.Lock()
	l := p.s.links[p.number]
	p.s.mu.Unlock()
	if l == nil {
		return fmt.Errorf("enter code: %w for %s", ErrNoPairing, p.number)
	}
	companion, err := ctr(codeKey(code, l.wrapped[:32]), l.wrapped[32:48], l.wrapped[48:80])
	if err != nil {
		return fmt.Errorf("enter code: %w", err)
	}
	primary := keys.NewKeyPair()
	salt, iv := random.Bytes(32), random.Bytes(16)
	wrappedPrimary, err := ctr(codeKey(code, salt), iv, primary.Pub[:])
	if err != nil {
		return fmt.Errorf("enter code: %w", err)
	}
	p.s.mu.Lock()
	l.primary, l.companion = primary, companion
	p.s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	l.conn.send(waBinary.Node{
		Tag:   "notification",
		Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "link_code_companion_reg", "id": randomHex(6)},
		Content: []waBinary.Node{{Tag: "link_code_companion_reg", Attrs: waBinary.Attrs{"stage": "primary_hello"}, Content: []waBinary.Node{
			{Tag: "link_code_pairing_ref", Content: []byte(l.ref)},
			{Tag: "link_code_pairing_wrapped_primary_ephemeral_pub", Content: slices.Concat(salt, iv, wrappedPrimary)},
			{Tag: "primary_identity_pub", Content: p.signal.identity.Pub[:]},
		}}},
	})
	return nil
}

// linkFinish unwraps the companion's identity and pairs it.
func (c *conn) linkFinish(n waBinary.Node) {
	s := c.s
	jid, _ := n.Attrs["jid"].(types.JID)
	s.mu.Lock()
	l := s.links[jid.User]
	p := s.accounts[jid.User]
	s.mu.Unlock()
	if l == nil || l.conn != c || l.primary == nil || p == nil {
		s.log.Debug("companion_finish without a pairing in progress")
		return
	}
	bundle, _ := n.GetChildByTag("link_code_pairing_wrapped_key_bundle").Content.([]byte)
	if err := p.finishLink(c, l, bundle); err != nil {
		s.log.Debug("pairing by code failed", "err", err)
	}
}

func (p *Phone) finishLink(c *conn, l *link, bundle []byte) error {
	if len(bundle) < 32+12+16 {
		return fmt.Errorf("%w: short key bundle", ErrProtocol)
	}
	shared, err := curve25519.X25519(l.primary.Priv[:], l.companion)
	if err != nil {
		return err
	}
	key := hkdfutil.SHA256(shared, bundle[:32], []byte("link_code_pairing_key_bundle_encryption_key"), 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	plain, err := gcm.Open(nil, bundle[32:44], bundle[44:], nil)
	if err != nil || len(plain) != 96 {
		return fmt.Errorf("%w: key bundle does not open (wrong code?)", ErrProtocol)
	}
	companionIdentity := [32]byte(plain[:32])
	identityShared, err := curve25519.X25519(p.signal.identity.Priv[:], companionIdentity[:])
	if err != nil {
		return err
	}
	advSecret := hkdfutil.SHA256(slices.Concat(shared, identityShared, plain[64:96]), nil, []byte("adv_secret"), 32)
	p.s.mu.Lock()
	delete(p.s.links, p.number)
	p.s.mu.Unlock()
	return p.pair(context.Background(), c, companionIdentity, advSecret)
}
