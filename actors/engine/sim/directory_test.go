package sim

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

func TestSimGroups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		owner := connectedDevice(t, eng, 1)
		member := connectedDevice(t, eng, 2)
		ownerJID := engine.UserJID(sandboxPairing(1).Phone)
		memberJID := engine.UserJID(sandboxPairing(2).Phone)
		ctx := t.Context()

		g, err := owner.s.CreateGroup(ctx, "Team", []engine.JID{memberJID, engine.UserJID("9991234567")})
		if err != nil {
			t.Fatal(err)
		}
		if g.JID.Server != engine.ServerGroup || !strings.HasPrefix(g.JID.User, "120363") || g.Subject != "Team" || g.Owner != ownerJID {
			t.Fatalf("created %+v", g)
		}
		if len(g.Participants) != 2 || len(g.Failed) != 1 || g.Failed[0].Error != engine.ParticipantErrorNotOnWhatsApp {
			t.Fatalf("participants %+v, failed %+v", g.Participants, g.Failed)
		}
		for _, d := range []*device{owner, member} {
			gs, err := d.s.Groups(ctx)
			if err != nil || len(gs) != 1 || gs[0].JID != g.JID {
				t.Fatalf("device %d groups = %+v, %v", d.id, gs, err)
			}
		}

		// Only admins change the membership or see the link.
		if _, err := member.s.UpdateParticipants(ctx, g.JID, engine.ParticipantAdd, []engine.JID{engine.UserJID("4915112345678")}); !errors.Is(err, engine.ErrNotGroupAdmin) {
			t.Fatalf("member adds: %v, want ErrNotGroupAdmin", err)
		}
		if _, err := member.s.InviteLink(ctx, g.JID, false); !errors.Is(err, engine.ErrNotGroupAdmin) {
			t.Fatalf("member link: %v", err)
		}
		res, err := owner.s.UpdateParticipants(ctx, g.JID, engine.ParticipantPromote, []engine.JID{memberJID, engine.UserJID("4915112345678"), ownerJID})
		if err != nil {
			t.Fatal(err)
		}
		want := []engine.ParticipantResult{{JID: memberJID}, {JID: engine.UserJID("4915112345678"), Error: engine.ParticipantErrorNotInGroup}, {JID: ownerJID}}
		if !reflect.DeepEqual(res, want) {
			t.Fatalf("promote = %+v, want %+v", res, want)
		}
		res, err = member.s.UpdateParticipants(ctx, g.JID, engine.ParticipantRemove, []engine.JID{ownerJID})
		if err != nil || res[0].Error != engine.ParticipantErrorNotAllowed {
			t.Fatalf("removing the owner = %+v, %v", res, err)
		}
		link, err := owner.s.InviteLink(ctx, g.JID, false)
		if err != nil || !strings.HasPrefix(link, "https://chat.whatsapp.com/") || len(link) != len("https://chat.whatsapp.com/")+inviteCodeLen {
			t.Fatalf("link = %q, %v", link, err)
		}
		again, _ := owner.s.InviteLink(ctx, g.JID, false)
		reset, _ := owner.s.InviteLink(ctx, g.JID, true)
		if again != link || reset == link {
			t.Fatalf("links %q, %q, reset %q", link, again, reset)
		}

		// Leaving: the group is gone from the member's list, and it can no
		// longer write there.
		if err := member.s.LeaveGroup(ctx, g.JID); err != nil {
			t.Fatal(err)
		}
		if gs, _ := member.s.Groups(ctx); len(gs) != 0 {
			t.Fatalf("after leaving: %+v", gs)
		}
		if err := member.s.LeaveGroup(ctx, g.JID); !errors.Is(err, engine.ErrGroupNotFound) {
			t.Fatalf("leaving twice: %v", err)
		}
		_, err = member.s.Send(ctx, engine.OutMessage{To: g.JID, Type: engine.TypeText, Text: "hi"})
		if !errors.Is(err, engine.ErrGroupNotFound) {
			t.Fatalf("send after leaving: %v", err)
		}
		if _, err := owner.s.Send(ctx, engine.OutMessage{To: g.JID, Type: engine.TypeText, Text: "hi"}); err != nil {
			t.Fatalf("owner sends: %v", err)
		}
	})
}

func TestSimContactsAvatarsPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := connectedDevice(t, eng, 1)
		ctx := t.Context()
		bob := engine.UserJID("4915112345678")
		if _, err := d.s.Send(ctx, engine.OutMessage{To: engine.UserJID("4930123456"), Type: engine.TypeText, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
		if err := d.s.Inbound(ctx, engine.SandboxInbound{From: bob.User, PushName: "Bob", Text: "hey"}); err != nil {
			t.Fatal(err)
		}
		contacts, err := d.s.Contacts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []engine.Contact{
			{JID: engine.UserJID("4915112345678"), Phone: "4915112345678", PushName: "Bob"},
			{JID: engine.UserJID("4930123456"), Phone: "4930123456"},
		}
		if !reflect.DeepEqual(contacts, want) {
			t.Fatalf("contacts = %+v, want %+v", contacts, want)
		}

		av, err := d.s.Avatar(ctx, bob)
		if err != nil || !strings.HasPrefix(av.URL, "data:image/svg+xml;base64,") || av.ID == "" {
			t.Fatalf("avatar = %+v, %v", av, err)
		}
		if _, err := d.s.Avatar(ctx, engine.UserJID("9991234567")); !errors.Is(err, engine.ErrNoAvatar) {
			t.Fatalf("avatar of a number not on WhatsApp: %v", err)
		}

		if err := d.s.SendChatPresence(ctx, bob, engine.ChatTyping); err != nil {
			t.Fatal(err)
		}
		if err := d.s.MarkRead(ctx, bob, engine.JID{}, []string{"A", "B"}, eng.now()); err != nil {
			t.Fatal(err)
		}
		if p := eng.Presences(1); len(p) != 1 || p[0] != (PresenceSent{Chat: bob, State: engine.ChatTyping, At: eng.now()}) {
			t.Fatalf("presences = %+v", p)
		}
		if r := eng.ReadReceipts(1); len(r) != 1 || r[0].Chat != bob || !reflect.DeepEqual(r[0].WAIDs, []string{"A", "B"}) {
			t.Fatalf("reads = %+v", r)
		}

		// Everything needs a connection; media needs a ref of this engine.
		d.s.Disconnect()
		if _, err := d.s.Contacts(ctx); !errors.Is(err, engine.ErrNotConnected) {
			t.Fatalf("contacts offline: %v", err)
		}
		if _, err := d.s.DownloadMedia(ctx, "elsewhere:1"); !errors.Is(err, engine.ErrInvalidMediaRef) {
			t.Fatalf("foreign ref: %v", err)
		}
		if _, err := d.s.DownloadMedia(ctx, mediaRefPrefix+"gone"); !errors.Is(err, engine.ErrMediaExpired) {
			t.Fatalf("unknown ref: %v", err)
		}
	})
}

func TestSimSendChecksContent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := connectedDevice(t, eng, 1)
		to := engine.UserJID("4915112345678")
		target := &engine.MessageRef{WAID: "3EB0AAAA", FromMe: true}
		good := []engine.OutMessage{
			{Type: engine.TypeImage, Media: &engine.Media{Data: []byte("png"), MimeType: "image/png"}, Text: "caption"},
			{Type: engine.TypeVoice, Media: &engine.Media{Data: []byte("ogg"), Waveform: make([]byte, 64)}},
			{Type: engine.TypeLocation, Location: &engine.Location{Latitude: 1, Longitude: 2}},
			{Type: engine.TypeContact, Contact: &engine.ContactCard{DisplayName: "A", VCard: "BEGIN:VCARD"}},
			{Type: engine.TypePoll, Poll: &engine.Poll{Name: "Q", Options: []string{"a", "b"}, SelectableCount: 1}},
			{Type: engine.TypeReaction, Target: target, Text: "👍"},
			{Type: engine.TypeEdit, Target: target, Text: "fixed"},
			{Type: engine.TypeRevoke, Target: target},
		}
		for _, m := range good {
			m.To = to
			if _, err := d.s.Send(t.Context(), m); err != nil {
				t.Errorf("%s: %v", m.Type, err)
			}
		}
		sent := eng.Sent(1)
		if len(sent) != len(good) || sent[0].Media.MimeType != "image/png" || string(sent[0].Media.Data) != "png" || sent[4].Poll.Options[1] != "b" {
			t.Fatalf("sent = %+v", sent)
		}
		bad := []engine.OutMessage{
			{Type: engine.TypeImage},
			{Type: engine.TypeVoice, Media: &engine.Media{Data: []byte("ogg")}},
			{Type: engine.TypePoll, Poll: &engine.Poll{Name: "Q", Options: []string{"a"}}},
			{Type: engine.TypeEdit, Target: &engine.MessageRef{WAID: "X"}, Text: "not mine"},
			{Type: engine.TypeReaction},
		}
		for _, m := range bad {
			m.To = to
			if _, err := d.s.Send(t.Context(), m); !errors.Is(err, engine.ErrInvalidMessage) {
				t.Errorf("%s %+v: %v, want ErrInvalidMessage", m.Type, m, err)
			}
		}
	})
}

func TestSimActivity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := openDevice(t, eng, 1)
		ctx := t.Context()
		if err := d.s.Activity(ctx, engine.SandboxActivity{From: "15551230001", Kind: engine.ActivityTyping}); !errors.Is(err, engine.ErrNotConnected) {
			t.Errorf("Activity before connecting = %v; want ErrNotConnected", err)
		}
		d.connectPaired()
		d.rec.take()
		contact := engine.UserJID("15551230001")
		group := engine.JID{User: "120363000000000009", Server: engine.ServerGroup}
		start := time.Now()
		for _, a := range []engine.SandboxActivity{
			{From: "+15551230001", Kind: engine.ActivityTyping},
			{From: "15551230001", Kind: engine.ActivityRecording, Group: group},
			{From: "15551230001", Kind: engine.ActivityPaused},
			{From: "15551230001", Kind: engine.ActivityOnline},
			{From: "15551230001", Kind: engine.ActivityOffline},
			{From: "8123456@lid", Kind: engine.ActivityOnline},
		} {
			if err := d.s.Activity(ctx, a); err != nil {
				t.Fatalf("Activity(%+v): %v", a, err)
			}
		}
		d.expect(
			engine.ChatPresenceUpdate{Chat: contact, Sender: contact, SenderPhone: "15551230001", State: engine.ChatTyping},
			engine.ChatPresenceUpdate{Chat: group, Sender: contact, SenderPhone: "15551230001", State: engine.ChatRecording},
			engine.ChatPresenceUpdate{Chat: contact, Sender: contact, SenderPhone: "15551230001", State: engine.ChatPaused},
			engine.PresenceUpdate{From: contact, FromPhone: "15551230001", Available: true},
			engine.PresenceUpdate{From: contact, FromPhone: "15551230001", LastSeen: start},
			engine.PresenceUpdate{From: engine.JID{User: "8123456", Server: engine.ServerLID}, FromLID: "8123456", Available: true},
		)
		if err := d.s.Activity(ctx, engine.SandboxActivity{From: "15551230001", Kind: engine.ActivityVideoCall}); err != nil {
			t.Fatal(err)
		}
		evs := d.expectTypes(engine.CallOffer{})
		if c := evs[0].(engine.CallOffer); c.CallID == "" || c.From != contact || !c.IsVideo || c.IsGroup || !c.At.Equal(start) {
			t.Errorf("call = %+v", c)
		}
		for _, bad := range []struct {
			a    engine.SandboxActivity
			want error
		}{
			{engine.SandboxActivity{From: "15551230001", Kind: "dancing"}, ErrUnknownActivity},
			{engine.SandboxActivity{From: "15551230001", Kind: engine.ActivityTyping, Group: contact}, ErrUnknownActivity},
			{engine.SandboxActivity{From: group.String(), Kind: engine.ActivityTyping}, engine.ErrInvalidRecipient},
			{engine.SandboxActivity{From: "not a phone", Kind: engine.ActivityTyping}, engine.ErrInvalidRecipient},
		} {
			if err := d.s.Activity(ctx, bad.a); !errors.Is(err, bad.want) {
				t.Errorf("Activity(%+v) = %v; want %v", bad.a, err, bad.want)
			}
		}
		d.expect()
	})
}
