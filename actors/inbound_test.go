package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

func TestMediaURL(t *testing.T) {
	for _, tt := range []struct{ public, want string }{
		{"", "/api/messages/msg_1/media"},
		{"https://wa.example.com", "https://wa.example.com/api/messages/msg_1/media"},
		{"https://wa.example.com/", "https://wa.example.com/api/messages/msg_1/media"},
	} {
		if got := newMediaConfig(Config{PublicURL: tt.public}).mediaURL("msg_1"); got != tt.want {
			t.Errorf("mediaURL with %q = %q, want %q", tt.public, got, tt.want)
		}
	}
}

// waitEvent waits for the workspace's first event of a type and decodes
// its data into v.
func (h *harness) waitEvent(typ string, v any) {
	h.t.Helper()
	waitFor(h.t, 5*time.Second, func() error {
		evs, err := h.db.ReadEvents(h.ws, 0, 1000)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.Type == typ {
				return json.Unmarshal(e.Data, v)
			}
		}
		return fmt.Errorf("no %s event yet", typ)
	})
}

// TestInboundKinds receives a location, a contact, a poll, and a reaction,
// an edit and a revocation of a sent message, and checks what is stored
// and emitted for each.
func TestInboundKinds(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	d := h.device("phone")
	h.pair(d.ID)
	res, err := h.gw.Send(ctx, h.ws, SendRequest{DeviceID: d.ID, To: engine.UserJID("628111222333"), Type: engine.TypeText, Text: "tpyo"})
	if err != nil {
		t.Fatal(err)
	}
	sent := h.waitMessage(res.Message.ID, MessageRead)
	in := func(msg engine.SandboxInbound) {
		t.Helper()
		msg.From = "628111222333"
		if err := h.gw.SandboxInbound(ctx, h.ws, d.ID, msg); err != nil {
			t.Fatal(err)
		}
	}

	in(engine.SandboxInbound{Location: &engine.Location{Latitude: 1.5, Longitude: 2.5, Name: "Here"}})
	in(engine.SandboxInbound{Contact: &engine.ContactCard{DisplayName: "Ann", VCard: "BEGIN:VCARD\nFN:Ann\nEND:VCARD"}})
	in(engine.SandboxInbound{Poll: &engine.Poll{Name: "Q?", Options: []string{"a", "b"}, SelectableCount: 1}})
	var received []storage.Message
	waitFor(t, 5*time.Second, func() error {
		msgs, _, err := h.db.ListMessages(h.ws, storage.MessageFilter{DeviceID: d.ID, Direction: "in"})
		if err != nil || len(msgs) != 3 {
			return fmt.Errorf("%d inbound messages (%v)", len(msgs), err)
		}
		received = msgs
		return nil
	})
	poll, contact, loc := received[0], received[1], received[2]
	if loc.Type != "location" || loc.Location == nil || loc.Location.Name != "Here" ||
		contact.Type != "contact" || contact.Contact.DisplayName != "Ann" ||
		poll.Type != "poll" || len(poll.Poll.Options) != 2 {
		t.Fatalf("stored %+v / %+v / %+v", loc, contact, poll)
	}
	var data messageReceivedData
	h.waitEvent(EventMessageReceived, &data)
	if data.Type != "location" || data.Location == nil || data.Location.Latitude != 1.5 {
		t.Errorf("message.received = %+v", data)
	}

	in(engine.SandboxInbound{Type: engine.TypeReaction, TargetWAID: sent.WAID, Text: "👍"})
	var reaction messageReactionData
	h.waitEvent(EventMessageReaction, &reaction)
	if reaction.MessageID != sent.ID || reaction.MessageWAID != sent.WAID || reaction.Emoji != "👍" || reaction.Chat != "628111222333@s.whatsapp.net" {
		t.Errorf("message.reaction = %+v", reaction)
	}

	in(engine.SandboxInbound{Type: engine.TypeEdit, TargetWAID: sent.WAID, Text: "typo"})
	var edit changeData
	h.waitEvent(EventMessageEdited, &edit)
	if edit.ID != sent.ID || edit.Text != "typo" {
		t.Errorf("message.edited = %+v", edit)
	}
	in(engine.SandboxInbound{Type: engine.TypeRevoke, TargetWAID: sent.WAID})
	var revoke changeData
	h.waitEvent(EventMessageRevoked, &revoke)
	if revoke.ID != sent.ID {
		t.Errorf("message.revoked = %+v", revoke)
	}
	m, err := h.db.GetMessage(h.ws, sent.ID)
	if err != nil || m.Text != "typo" || m.EditedAt.IsZero() || m.RevokedAt.IsZero() {
		t.Errorf("the target after edit and revoke: %+v, %v", m, err)
	}
	// A change of a message the gateway never stored is still reported.
	in(engine.SandboxInbound{Type: engine.TypeRevoke, TargetWAID: "3EB0UNKNOWN"})
	waitFor(t, 5*time.Second, func() error {
		evs, _ := h.db.ReadEvents(h.ws, 0, 1000)
		for _, e := range evs {
			var c changeData
			if e.Type == EventMessageRevoked && json.Unmarshal(e.Data, &c) == nil && c.WAID == "3EB0UNKNOWN" && c.ID == "" {
				return nil
			}
		}
		return fmt.Errorf("no message.revoked for the unknown message")
	})
}
