package fakewa

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Chat states, calls and presence: what a phone's user does that is not a
// message. None of it is queued for an offline device, as on WhatsApp,
// where typing and presence are only for who is online now.

// Chat states a phone shows with Phone.Typing.
const (
	ChatTyping    = "typing"
	ChatRecording = "recording"
	ChatPaused    = "paused"
)

// sendNow sends a node to a companion if it is online and active, and
// reports whether it did.
func (s *Server) sendNow(d *device, n waBinary.Node) bool {
	s.mu.Lock()
	c := d.conn
	ready := c != nil && d.ready
	s.mu.Unlock()
	if ready {
		c.send(n)
	}
	return ready
}

// Typing plays the phone's user typing (ChatTyping), recording a voice
// note (ChatRecording) or stopping (ChatPaused) in the chat with another
// account; its online companions see it.
func (p *Phone) Typing(ctx context.Context, to, state string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var child waBinary.Node
	switch state {
	case ChatTyping:
		child = waBinary.Node{Tag: "composing"}
	case ChatRecording:
		child = waBinary.Node{Tag: "composing", Attrs: waBinary.Attrs{"media": "audio"}}
	case ChatPaused:
		child = waBinary.Node{Tag: "paused"}
	default:
		return fmt.Errorf("typing: %w: state %q", ErrProtocol, state)
	}
	r, err := p.s.recipient(to)
	if err != nil {
		return fmt.Errorf("typing: %w", err)
	}
	for _, d := range p.s.companions(r) {
		p.s.sendNow(d, waBinary.Node{Tag: "chatstate", Attrs: waBinary.Attrs{"from": p.pnJID()}, Content: []waBinary.Node{child}})
	}
	return nil
}

// Call plays the phone calling another account (a video call when video):
// the account's online companions get the offer. It returns the call id.
// Nobody answers; the call is only announced.
func (p *Phone) Call(ctx context.Context, to string, video bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r, err := p.s.recipient(to)
	if err != nil {
		return "", fmt.Errorf("call: %w", err)
	}
	callID := strings.ToUpper(randomHex(16))
	offer := waBinary.Node{Tag: "offer", Attrs: waBinary.Attrs{"call-id": callID, "call-creator": p.pnJID(), "caller_lid": p.lidJID()},
		Content: []waBinary.Node{{Tag: "audio", Attrs: waBinary.Attrs{"enc": "opus", "rate": "16000"}}}}
	if video {
		offer.Content = append(offer.GetChildren(), waBinary.Node{Tag: "video", Attrs: waBinary.Attrs{"enc": "vp8"}})
	}
	now := strconv.FormatInt(time.Now().Unix(), 10)
	for _, d := range p.s.companions(r) {
		p.s.sendNow(d, waBinary.Node{Tag: "call", Attrs: waBinary.Attrs{
			"from": p.pnJID(), "id": randomHex(8), "t": now, "platform": "android", "version": "2.25.1", "notify": p.name(),
		}, Content: []waBinary.Node{offer}})
	}
	return callID, nil
}

// SetOnline plays the phone's user coming online or going offline: the
// companions that subscribed to the account's presence and are online
// get it, with the last-seen time when going offline.
func (p *Phone) SetOnline(online bool) {
	p.mu.Lock()
	p.online = online
	if !online {
		p.lastSeen = time.Now()
	}
	p.mu.Unlock()
	n := p.presenceNode()
	p.s.mu.Lock()
	subs := make([]*device, 0, len(p.s.presenceSubs[p]))
	for d := range p.s.presenceSubs[p] {
		subs = append(subs, d)
	}
	p.s.mu.Unlock()
	for _, d := range subs {
		p.s.sendNow(d, n)
	}
}

// presenceNode is the phone's presence as WhatsApp sends it.
func (p *Phone) presenceNode() waBinary.Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	attrs := waBinary.Attrs{"from": p.pnJID()}
	if !p.online {
		attrs["type"] = "unavailable"
		if !p.lastSeen.IsZero() {
			attrs["last"] = strconv.FormatInt(p.lastSeen.Unix(), 10)
		}
	}
	return waBinary.Node{Tag: "presence", Attrs: attrs}
}

// presenceFromDevice handles a companion's presence node: a subscription
// to another account's presence is kept for the connection's device and
// answered with the current presence. The device's own availability is
// not tracked.
func (s *Server) presenceFromDevice(d *device, n *waBinary.Node) {
	if n.AttrGetter().OptionalString("type") != "subscribe" {
		return
	}
	to, _ := n.Attrs["to"].(types.JID)
	p, _ := s.resolve(to.ToNonAD())
	if p == nil {
		return
	}
	s.mu.Lock()
	if s.presenceSubs[p] == nil {
		s.presenceSubs[p] = make(map[*device]bool)
	}
	s.presenceSubs[p][d] = true
	s.mu.Unlock()
	s.sendNow(d, p.presenceNode())
}
