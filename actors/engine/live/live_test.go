package live

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/fakewa"
)

func TestPairSendReceiveRestart(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner, alice := h.srv.Phone("15550000001"), h.srv.Phone("15550009999")
	alice.SetPushName("Alice")

	sess, rec := h.open(1)
	if sess.Paired() {
		t.Fatal("fresh device paired")
	}
	h.pair(sess, rec, owner)
	if !sess.Paired() {
		t.Fatal("not paired after pairing")
	}

	// Send: acknowledged, decrypted by the contact's phone, receipts back.
	id := sess.NewMessageID()
	res, err := sess.Send(ctx, engine.OutMessage{WAID: id, To: engine.UserJID(alice.Number()), Type: engine.TypeText, Text: "hello Alice"})
	if err != nil {
		t.Fatal(err)
	}
	if res.WAID != id || res.ServerTime.IsZero() {
		t.Errorf("SendResult = %+v, want id %s and a server time", res, id)
	}
	got, err := alice.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == id })
	if err != nil || got.Text != "hello Alice" || got.From != owner.Number() {
		t.Fatalf("Alice received %+v, %v", got, err)
	}
	d := waitMatch(t, rec, func(r engine.Receipt) bool { return r.Status == engine.ReceiptDelivered })
	if len(d.WAIDs) != 1 || d.WAIDs[0] != id || d.Chat != engine.UserJID(alice.Number()) {
		t.Errorf("delivered receipt = %+v", d)
	}
	if err := alice.Read(id); err != nil {
		t.Fatal(err)
	}
	waitMatch(t, rec, func(r engine.Receipt) bool { return r.Status == engine.ReceiptRead && r.WAIDs[0] == id })

	// Receive.
	in, err := alice.SendText(ctx, owner.Number(), "hi back")
	if err != nil {
		t.Fatal(err)
	}
	m := waitEvent[engine.Message](t, rec)
	want := engine.Message{WAID: in, Chat: engine.UserJID(alice.Number()), Sender: engine.UserJID(alice.Number()),
		SenderPhone: alice.Number(), SenderLID: alice.LID(), PushName: "Alice", Type: engine.TypeText, Text: "hi back"}
	m.Timestamp = want.Timestamp
	if !reflect.DeepEqual(m, want) {
		t.Errorf("message = %+v\nwant      %+v", m, want)
	}

	// Restart: the device logs in again with no new scan.
	sess.Close()
	h.stop()
	h.start()
	sess, rec = h.open(1)
	if !sess.Paired() {
		t.Fatal("not paired after restart")
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	c := waitEvent[engine.Connected](t, rec)
	if c.Phone != owner.Number() {
		t.Errorf("Connected after restart = %+v", c)
	}
	in2, err := alice.SendText(ctx, owner.Number(), "after restart")
	if err != nil {
		t.Fatal(err)
	}
	// "hi back" may come again first: its receipt can be lost in the
	// shutdown, and delivery is at least once.
	m = waitMatch(t, rec, func(m engine.Message) bool { return m.WAID != in })
	if m.WAID != in2 || m.Text != "after restart" {
		t.Errorf("message after restart = %+v", m)
	}
	for _, ev := range rec.all() {
		if _, ok := ev.(engine.QR); ok {
			t.Error("QR code shown after restart")
		}
	}
}

func TestPairByCode(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner := h.srv.Phone("15550000002")
	sess, rec := h.open(1)
	if _, err := sess.PairPhone(ctx, owner.Number()); !errors.Is(err, engine.ErrNoQR) {
		t.Fatalf("PairPhone before connecting = %v, want ErrNoQR", err)
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.QR](t, rec)
	code, err := sess.PairPhone(ctx, "+"+owner.Number())
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != 9 || code[4] != '-' {
		t.Errorf("pairing code %q, want XXXX-XXXX", code)
	}
	if err := owner.EnterCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	c := waitEvent[engine.Connected](t, rec)
	if c.Phone != owner.Number() || !sess.Paired() {
		t.Errorf("Connected = %+v, paired %v", c, sess.Paired())
	}
}

// permanentEnd checks that a permanent end came without a transient
// disconnect that would make the actor reconnect.
func permanentEnd(t *testing.T, rec *recorder) {
	t.Helper()
	for _, ev := range rec.all() {
		if d, ok := ev.(engine.Disconnected); ok && d.Transient {
			t.Errorf("transient %+v reported around a permanent end", d)
		}
	}
}

func TestLogoutFromThePhone(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner := h.srv.Phone("15550000003")
	sess, rec := h.open(1)
	jid := h.pair(sess, rec, owner)

	if err := owner.Unlink(jid); err != nil {
		t.Fatal(err)
	}
	lo := waitEvent[engine.LoggedOut](t, rec)
	if lo.Reason != reasonPhoneLogout {
		t.Errorf("LoggedOut = %+v", lo)
	}
	if sess.Paired() {
		t.Error("still paired")
	}
	if devs, err := h.eng.cfg.Store.Devices(ctx); err != nil || len(devs) != 0 {
		t.Errorf("keys left after logout: %v, %v", devs, err)
	}
	if _, err := sess.Send(ctx, engine.OutMessage{To: engine.UserJID("15550009999"), Text: "x"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send after logout = %v", err)
	}
	// A new Connect starts a new pairing.
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.QR](t, rec)
	permanentEnd(t, rec)
}

func TestStreamReplaced(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner := h.srv.Phone("15550000004")
	sess, rec := h.open(1)
	jid := h.pair(sess, rec, owner)

	// A second client with the same keys takes over, as when two gateways
	// run on one database.
	other, otherRec := h.open(1)
	if err := other.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.StreamReplaced](t, rec)
	waitEvent[engine.Connected](t, otherRec)
	permanentEnd(t, rec)
	if _, err := sess.Send(ctx, engine.OutMessage{To: engine.UserJID(owner.Number()), Text: "x"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send after replacement = %v", err)
	}

	// The server replacing the stream itself does the same.
	if err := h.srv.Replace(jid); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.StreamReplaced](t, otherRec)
	permanentEnd(t, otherRec)
	if err := h.srv.WaitOffline(ctx, jid); err != nil {
		t.Errorf("device still connected after StreamReplaced: %v", err)
	}
	if !other.Paired() {
		t.Error("StreamReplaced dropped the pairing")
	}
}

func TestDropAndReconnect(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner, alice := h.srv.Phone("15550000005"), h.srv.Phone("15550009998")
	sess, rec := h.open(1)
	jid := h.pair(sess, rec, owner)

	before := len(rec.all())
	if err := h.srv.Drop(jid); err != nil {
		t.Fatal(err)
	}
	d := waitEvent[engine.Disconnected](t, rec)
	if !d.Transient || d.Reason != reasonLost {
		t.Errorf("Disconnected = %+v, want transient %q", d, reasonLost)
	}
	// Messages that arrive meanwhile wait on the server.
	id, err := alice.SendText(ctx, owner.Number(), "while you were away")
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.Connected](t, rec)
	m := waitEvent[engine.Message](t, rec)
	if m.WAID != id {
		t.Errorf("message after reconnect = %+v", m)
	}
	// The client's receipt takes it off the server's offline queue.
	waitFor(t, func() bool { n, err := h.srv.Pending(jid); return err == nil && n == 0 })
	for _, ev := range rec.all()[before:] {
		if _, ok := ev.(engine.QR); ok {
			t.Errorf("QR after reconnecting a paired device")
		}
	}
}

func TestRequestedDisconnectAndLogout(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner := h.srv.Phone("15550000006")
	sess, rec := h.open(1)
	jid := h.pair(sess, rec, owner)

	sess.Disconnect()
	d := waitEvent[engine.Disconnected](t, rec)
	if d.Transient || d.Reason != reasonRequested {
		t.Errorf("Disconnected = %+v", d)
	}
	if err := h.srv.WaitOffline(ctx, jid); err != nil {
		t.Fatal(err)
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.Connected](t, rec)
	if err := h.srv.WaitOnline(ctx, jid); err != nil {
		t.Fatal(err)
	}

	if err := sess.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	lo := waitEvent[engine.LoggedOut](t, rec)
	if lo.Reason != reasonRequested || sess.Paired() {
		t.Errorf("LoggedOut = %+v, paired %v", lo, sess.Paired())
	}
	if devs := owner.Devices(); len(devs) != 0 {
		t.Errorf("phone still lists %v", devs)
	}
	if devs, _ := h.eng.cfg.Store.Devices(ctx); len(devs) != 0 {
		t.Errorf("keys left: %v", devs)
	}
	// Logging out again (nothing paired) still reports it.
	if err := sess.Logout(ctx); err != nil {
		t.Errorf("second Logout: %v", err)
	}
	permanentEnd(t, rec)
}

func TestTemporaryBan(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner := h.srv.Phone("15550000007")
	sess, rec := h.open(1)
	jid := h.pair(sess, rec, owner)

	if err := h.srv.Ban(jid, 101, time.Hour); err != nil {
		t.Fatal(err)
	}
	b := waitEvent[engine.TemporaryBan](t, rec)
	if !strings.Contains(b.Reason, "too many") || time.Until(b.Expires) < 50*time.Minute || time.Until(b.Expires) > 70*time.Minute {
		t.Errorf("TemporaryBan = %+v", b)
	}
	// Connecting during the ban is refused again, with the same reason.
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.TemporaryBan](t, rec)
	permanentEnd(t, rec)
	if !sess.Paired() {
		t.Error("a ban dropped the pairing")
	}
}

func TestClientOutdatedRetriesWithTheCurrentVersion(t *testing.T) {
	builtIn := store.GetWAVersion()
	current := store.WAVersionContainer{builtIn[0], builtIn[1], builtIn[2] + 7}
	h := newHarness(t, fakewa.Config{MinVersion: current.String(), CurrentVersion: current.String()}, Config{})
	ctx := testContext(t)
	owner := h.srv.Phone("15550000008")
	if h.eng.Version() != builtIn.String() {
		t.Fatalf("start version = %s, want whatsmeow's %s", h.eng.Version(), builtIn)
	}
	// Refused at registration, the engine reads the current version from
	// (the fake) web.whatsapp.com, stores it and retries: the QR follows.
	sess, rec := h.open(1)
	h.pair(sess, rec, owner)
	if h.eng.Version() != current.String() {
		t.Errorf("version after refusal = %s, want %s", h.eng.Version(), current)
	}
	for _, ev := range rec.all() {
		if _, ok := ev.(engine.ClientOutdated); ok {
			t.Error("ClientOutdated reported although the retry worked")
		}
	}
	// The version learned is kept across a restart.
	sess.Close()
	h.stop()
	h.start()
	if h.eng.Version() != current.String() {
		t.Errorf("version after restart = %s, want %s", h.eng.Version(), current)
	}
	sess, rec = h.open(1)
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.Connected](t, rec)
}

func TestClientOutdatedGivesUp(t *testing.T) {
	builtIn := store.GetWAVersion()
	newest := store.WAVersionContainer{builtIn[0], builtIn[1], builtIn[2] + 100}
	fetches := 0
	h := newHarness(t, fakewa.Config{MinVersion: newest.String()}, Config{
		FetchVersion: func(context.Context) (string, error) {
			fetches++
			return builtIn.String(), nil // nothing newer to try
		},
	})
	ctx := testContext(t)
	sess, rec := h.open(1)
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.ClientOutdated](t, rec)
	if fetches != 1 {
		t.Errorf("version fetched %d times, want once", fetches)
	}
	for _, ev := range rec.all() {
		if d, ok := ev.(engine.Disconnected); ok && d.Transient {
			t.Errorf("transient %+v: the actor would retry an outdated client", d)
		}
	}
}

func TestConfiguredVersion(t *testing.T) {
	h := newHarness(t, fakewa.Config{MinVersion: "2.3000.2000000000"}, Config{Version: "2.3000.2000000001"})
	sess, rec := h.open(1)
	h.pair(sess, rec, h.srv.Phone("15550000009"))
	if h.eng.Version() != "2.3000.2000000001" {
		t.Errorf("version = %s", h.eng.Version())
	}
	if _, err := New(context.Background(), Config{Store: h.eng.cfg.Store, Version: "2.x"}); !errors.Is(err, ErrBadVersion) {
		t.Errorf("New with a bad version = %v", err)
	}
	if _, err := New(context.Background(), Config{}); !errors.Is(err, ErrNoStore) {
		t.Errorf("New without a store = %v", err)
	}
}

func TestMediaBothWays(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner, alice := h.srv.Phone("15550000010"), h.srv.Phone("15550009997")
	sess, rec := h.open(1)
	h.pair(sess, rec, owner)
	img := bytes.Repeat([]byte("\x89PNG fake image "), 300)

	res, err := sess.Send(ctx, engine.OutMessage{WAID: sess.NewMessageID(), To: engine.UserJID(alice.Number()), Type: engine.TypeImage,
		Text: "look", Media: &engine.Media{Kind: engine.TypeImage, MimeType: "image/png", Data: img}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := alice.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == res.WAID })
	if err != nil || got.Type != "image" || got.Text != "look" || got.Message.GetImageMessage().GetMimetype() != "image/png" {
		t.Fatalf("Alice received %+v, %v", got, err)
	}
	if data, err := alice.Download(got); err != nil || !bytes.Equal(data, img) {
		t.Errorf("Alice's download = %d bytes, %v", len(data), err)
	}

	photo := bytes.Repeat([]byte("JFIF photo "), 500)
	id, err := alice.SendImage(ctx, owner.Number(), photo, "image/jpeg", "from Alice")
	if err != nil {
		t.Fatal(err)
	}
	m := waitEvent[engine.Message](t, rec)
	if m.WAID != id || m.Type != engine.TypeImage || m.Text != "from Alice" || m.Media == nil ||
		m.Media.MimeType != "image/jpeg" || m.Media.Size != int64(len(photo)) || m.Media.Ref == "" || m.Media.Data != nil {
		t.Fatalf("inbound image = %+v (media %+v)", m, m.Media)
	}
	dl, ok := sess.(engine.MediaDownloader)
	if !ok {
		t.Fatal("live sessions download media")
	}
	data, err := dl.DownloadMedia(ctx, m.Media.Ref)
	if err != nil || !bytes.Equal(data, photo) {
		t.Errorf("DownloadMedia = %d bytes, %v", len(data), err)
	}
	gone := inboundMedia(engine.TypeImage, &waE2E.ImageMessage{DirectPath: proto.String("/v/fake/gone.enc?x=1"),
		MediaKey: bytes.Repeat([]byte{7}, 32), FileLength: proto.Uint64(3)}, "image/png", "")
	if _, err := dl.DownloadMedia(ctx, gone.Ref); !errors.Is(err, engine.ErrMediaExpired) {
		t.Errorf("DownloadMedia of media no longer on the server = %v, want ErrMediaExpired", err)
	}
	for _, bad := range []string{"", "wm1.!!!", "other", "wm1." + base64.RawURLEncoding.EncodeToString([]byte(`{"k":"image"}`))} {
		if _, err := dl.DownloadMedia(ctx, bad); !errors.Is(err, engine.ErrInvalidMediaRef) {
			t.Errorf("DownloadMedia(%q) = %v, want ErrInvalidMediaRef", bad, err)
		}
	}
}

func TestRecipientsAndPhoneChecks(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner, alice := h.srv.Phone("15550000011"), h.srv.Phone("15550009996")
	sess, rec := h.open(1)
	if _, err := sess.Send(ctx, engine.OutMessage{To: engine.UserJID(alice.Number()), Text: "x"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send before connecting = %v, want ErrNotConnected", err)
	}
	if _, err := sess.CheckPhones(ctx, []string{alice.Number()}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("CheckPhones before connecting = %v", err)
	}
	h.pair(sess, rec, owner)

	tests := []struct {
		to   engine.JID
		want error
	}{
		{engine.UserJID("15559990000"), engine.ErrNotOnWhatsApp},
		{engine.JID{User: "x", Server: engine.ServerNewsletter}, engine.ErrInvalidRecipient},
		{engine.JID{User: "", Server: engine.ServerUser}, engine.ErrInvalidRecipient},
	}
	for _, tc := range tests {
		if _, err := sess.Send(ctx, engine.OutMessage{To: tc.to, Text: "x"}); !errors.Is(err, tc.want) {
			t.Errorf("Send to %v = %v, want %v", tc.to, err, tc.want)
		}
	}
	if _, err := sess.Send(ctx, engine.OutMessage{To: engine.UserJID(alice.Number()), Type: engine.TypePoll}); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Send of an empty poll = %v, want ErrIncomplete", err)
	}

	got, err := sess.CheckPhones(ctx, []string{"+" + alice.Number(), "1 555 999 0000", "not a number", alice.Number()})
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.PhoneCheck{
		{Phone: "+" + alice.Number(), OnWhatsApp: true, JID: engine.UserJID(alice.Number())},
		{Phone: "1 555 999 0000"},
		{Phone: "not a number"},
		{Phone: alice.Number(), OnWhatsApp: true, JID: engine.UserJID(alice.Number())},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CheckPhones = %+v\nwant %+v", got, want)
	}
}

func TestRichMessagesBothWays(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner, alice := h.srv.Phone("15550000012"), h.srv.Phone("15550009995")
	sess, rec := h.open(1)
	h.pair(sess, rec, owner)
	to := engine.UserJID(alice.Number())

	first, err := sess.Send(ctx, engine.OutMessage{WAID: sess.NewMessageID(), To: to, Text: "hi @" + alice.Number(), Mentions: []engine.JID{to}})
	if err != nil {
		t.Fatal(err)
	}
	outs := []engine.OutMessage{
		{Type: engine.TypeLocation, Location: &engine.Location{Latitude: 48.8584, Longitude: 2.2945, Name: "Eiffel Tower"}},
		{Type: engine.TypeContact, Contact: &engine.ContactCard{DisplayName: "Bob", VCard: "BEGIN:VCARD\nFN:Bob\nEND:VCARD"}},
		{Type: engine.TypePoll, Poll: &engine.Poll{Name: "Lunch?", Options: []string{"Pizza", "Sushi"}, SelectableCount: 1}},
		{Type: engine.TypeReaction, Text: "👍", Target: &engine.MessageRef{WAID: first.WAID, FromMe: true}},
		{Type: engine.TypeEdit, Text: "hi there", Target: &engine.MessageRef{WAID: first.WAID, FromMe: true}},
		{Type: engine.TypeText, Text: "a reply", QuotedWAID: first.WAID},
		{Type: engine.TypeRevoke, Target: &engine.MessageRef{WAID: first.WAID, FromMe: true}},
	}
	check := map[engine.MessageType]func(*waE2E.Message) bool{
		engine.TypeLocation: func(m *waE2E.Message) bool { return m.GetLocationMessage().GetName() == "Eiffel Tower" },
		engine.TypeContact:  func(m *waE2E.Message) bool { return m.GetContactMessage().GetDisplayName() == "Bob" },
		engine.TypePoll:     func(m *waE2E.Message) bool { return len(m.GetPollCreationMessage().GetOptions()) == 2 },
		engine.TypeReaction: func(m *waE2E.Message) bool { return m.GetReactionMessage().GetKey().GetID() == first.WAID },
		engine.TypeEdit: func(m *waE2E.Message) bool {
			return m.GetEditedMessage().GetMessage().GetProtocolMessage().GetEditedMessage().GetConversation() == "hi there"
		},
		engine.TypeText: func(m *waE2E.Message) bool {
			return m.GetExtendedTextMessage().GetContextInfo().GetStanzaID() == first.WAID
		},
		engine.TypeRevoke: func(m *waE2E.Message) bool {
			return m.GetProtocolMessage().GetType() == waE2E.ProtocolMessage_REVOKE
		},
	}
	for _, out := range outs {
		out.WAID, out.To = sess.NewMessageID(), to
		if _, err := sess.Send(ctx, out); err != nil {
			t.Fatalf("send %s: %v", out.Type, err)
		}
		r, err := alice.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == out.WAID })
		if err != nil || !check[out.Type](r.Message) {
			t.Errorf("Alice received %s as %v, %v", out.Type, r.Message, err)
		}
	}
	mentioned, _ := alice.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == first.WAID })
	if got := mentioned.Message.GetExtendedTextMessage().GetContextInfo().GetMentionedJID(); len(got) != 1 || got[0] != alice.JID() {
		t.Errorf("mentions = %v", got)
	}

	// Inbound: each kind maps to its type and content.
	ins := []struct {
		msg  *waE2E.Message
		want func(engine.Message) bool
	}{
		{&waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(1.5), DegreesLongitude: proto.Float64(2.5), Name: proto.String("Here")}},
			func(m engine.Message) bool {
				return m.Type == engine.TypeLocation && *m.Location == engine.Location{Latitude: 1.5, Longitude: 2.5, Name: "Here"}
			}},
		{&waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Carol"), Vcard: proto.String("BEGIN:VCARD")}},
			func(m engine.Message) bool {
				return m.Type == engine.TypeContact && *m.Contact == engine.ContactCard{DisplayName: "Carol", VCard: "BEGIN:VCARD"}
			}},
		{&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("❤"), Key: &waCommon.MessageKey{ID: proto.String(first.WAID), FromMe: proto.Bool(true)}}},
			func(m engine.Message) bool {
				return m.Type == engine.TypeReaction && m.Text == "❤" && m.Target.WAID == first.WAID
			}},
		{&waE2E.Message{PollCreationMessage: &waE2E.PollCreationMessage{Name: proto.String("Q"), SelectableOptionsCount: proto.Uint32(1),
			Options: []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("A")}, {OptionName: proto.String("B")}}}},
			func(m engine.Message) bool {
				return m.Type == engine.TypePoll && m.Poll.Name == "Q" && len(m.Poll.Options) == 2 && m.Poll.SelectableCount == 1
			}},
		{&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("quoting"),
			ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String(first.WAID), MentionedJID: []string{owner.JID()}}}},
			func(m engine.Message) bool {
				return m.Type == engine.TypeText && m.QuotedWAID == first.WAID && len(m.Mentions) == 1 && m.Mentions[0] == engine.UserJID(owner.Number())
			}},
		{&waE2E.Message{AudioMessage: &waE2E.AudioMessage{PTT: proto.Bool(true), Mimetype: proto.String("audio/ogg"), Seconds: proto.Uint32(3),
			DirectPath: proto.String("/v/fake/x.enc?a=1"), MediaKey: bytes.Repeat([]byte{1}, 32), FileLength: proto.Uint64(10)}},
			func(m engine.Message) bool {
				return m.Type == engine.TypeVoice && m.Media.Seconds == 3 && m.Media.MimeType == "audio/ogg"
			}},
		{&waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: &waCommon.MessageKey{ID: proto.String("OLD")},
			EditedMessage: &waE2E.Message{Conversation: proto.String("fixed")}}}}},
			func(m engine.Message) bool {
				return m.Type == engine.TypeEdit && m.Text == "fixed" && m.Target.WAID == "OLD"
			}},
		{&waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: &waCommon.MessageKey{ID: proto.String("GONE")}}},
			func(m engine.Message) bool { return m.Type == engine.TypeRevoke && m.Target.WAID == "GONE" }},
	}
	for i, in := range ins {
		id, err := alice.Send(ctx, owner.Number(), in.msg)
		if err != nil {
			t.Fatal(err)
		}
		m := waitEvent[engine.Message](t, rec)
		if m.WAID != id || !in.want(m) {
			t.Errorf("inbound %d = %+v", i, m)
		}
	}
}

func TestPresenceMarkReadAndContacts(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	owner, alice := h.srv.Phone("15550000013"), h.srv.Phone("15550009994")
	alice.SetPushName("Alice A")
	sess, rec := h.open(1)
	if cs, err := sess.(engine.Contacts).Contacts(ctx); err != nil || len(cs) != 0 {
		t.Errorf("contacts before pairing = %v, %v", cs, err)
	}
	h.pair(sess, rec, owner)

	id, err := alice.SendText(ctx, owner.Number(), "read me")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.Message](t, rec)
	p := sess.(engine.Presence)
	if err := p.SendChatPresence(ctx, engine.UserJID(alice.Number()), engine.ChatTyping); err != nil {
		t.Errorf("typing: %v", err)
	}
	if err := p.SendChatPresence(ctx, engine.UserJID(alice.Number()), "dancing"); !errors.Is(err, engine.ErrUnsupported) {
		t.Errorf("unknown presence = %v", err)
	}
	if err := p.MarkRead(ctx, engine.UserJID(alice.Number()), engine.JID{}, []string{id}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitStatus(ctx, id, fakewa.StatusRead); err != nil {
		t.Errorf("Alice never saw her message read: %v", err)
	}

	// The push name seen is in the contacts, with the phone number and LID.
	deadline := time.Now().Add(waitLimit)
	for {
		cs, err := sess.(engine.Contacts).Contacts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(cs, func(c engine.Contact) bool { return c.PushName == "Alice A" })
		if i >= 0 {
			if cs[i].Phone != alice.Number() || cs[i].LID != alice.LID() {
				t.Errorf("contact = %+v", cs[i])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("contacts = %+v, no Alice", cs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := sess.(engine.Contacts).Avatar(ctx, engine.UserJID(alice.Number())); !errors.Is(err, engine.ErrNoAvatar) {
		t.Errorf("Avatar = %v, want ErrNoAvatar", err)
	}
}

func TestTwoDevicesTalk(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	ann, ben := h.srv.Phone("15550000014"), h.srv.Phone("15550000015")
	s1, r1 := h.open(1)
	s2, r2 := h.open(2)
	h.pair(s1, r1, ann)
	h.pair(s2, r2, ben)

	res, err := s1.Send(ctx, engine.OutMessage{WAID: s1.NewMessageID(), To: engine.UserJID(ben.Number()), Text: "from one gateway device to another"})
	if err != nil {
		t.Fatal(err)
	}
	m := waitEvent[engine.Message](t, r2)
	if m.WAID != res.WAID || m.SenderPhone != ann.Number() || m.Text != "from one gateway device to another" {
		t.Errorf("device 2 got %+v", m)
	}
	if _, err := ben.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == res.WAID }); err != nil {
		t.Errorf("Ben's phone: %v", err)
	}
	waitMatch(t, r1, func(r engine.Receipt) bool { return r.Status == engine.ReceiptDelivered && r.WAIDs[0] == res.WAID })
	// Ben's phone saw the message too and sent it from there: device 2
	// gets the copy as its own.
	id, err := ben.SendText(ctx, ann.Number(), "sent from Ben's phone")
	if err != nil {
		t.Fatal(err)
	}
	mine := waitMatch(t, r2, func(m engine.Message) bool { return m.WAID == id })
	if !mine.FromMe || mine.Chat != engine.UserJID(ann.Number()) {
		t.Errorf("copy of own message = %+v", mine)
	}
	theirs := waitMatch(t, r1, func(m engine.Message) bool { return m.WAID == id })
	if theirs.FromMe || theirs.Text != "sent from Ben's phone" {
		t.Errorf("device 1 got %+v", theirs)
	}
}

func TestClosedSession(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	sess, rec := h.open(1)
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.QR](t, rec)
	sess.Close()
	n := len(rec.all())
	sess.Close() // twice is fine
	sess.Disconnect()
	if err := sess.Connect(ctx); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Connect after Close = %v", err)
	}
	if err := sess.Logout(ctx); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Logout after Close = %v", err)
	}
	if _, err := sess.Send(ctx, engine.OutMessage{To: engine.UserJID("15550009999")}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Send after Close = %v", err)
	}
	if got := rec.all(); len(got) != n {
		t.Errorf("events after Close: %s", describeEvents(got[n:]))
	}
	waitFor(t, func() bool { return h.srv.Connections() == 0 })
}

// waitFor polls cond until it holds or the test's time is up.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never met")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestQRCodesRotateThenTimeOut(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	h.eng.qrFirst, h.eng.qrNext = 80*time.Millisecond, 20*time.Millisecond
	ctx := testContext(t)
	sess, rec := h.open(1)
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.QRTimeout](t, rec)
	var codes []string
	for _, ev := range rec.all() {
		if qr, ok := ev.(engine.QR); ok {
			codes = append(codes, qr.Code)
		}
	}
	if len(codes) != 6 || codes[0] == codes[1] {
		t.Errorf("QR codes shown: %q, want the 6 WhatsApp sent, each once", codes)
	}
	waitFor(t, func() bool { return h.srv.Connections() == 0 })
	// A new attempt gets new codes.
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if qr := waitEvent[engine.QR](t, rec); slices.Contains(codes, qr.Code) {
		t.Error("a new attempt shows an old code")
	}
}

// TestMessagesNotHandedOverStayUnacknowledged: a message whatsmeow decrypts for
// a session that is closed, or for an attempt that is over, is refused
// (so whatsmeow does not acknowledge it and WhatsApp redelivers it); one
// for the current attempt is emitted and accepted.
func TestMessagesNotHandedOverStayUnacknowledged(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	owner, alice := h.srv.Phone("15550000016"), h.srv.Phone("15550009993")
	sess, rec := h.open(1)
	h.pair(sess, rec, owner)
	s := sess.(*session)
	s.mu.Lock()
	a := s.cur
	s.mu.Unlock()
	msg := func(id string) *events.Message {
		from := types.NewJID(alice.Number(), types.DefaultUserServer)
		return &events.Message{
			Info:    types.MessageInfo{MessageSource: types.MessageSource{Chat: from, Sender: from}, ID: id, Timestamp: time.Now()},
			Message: &waE2E.Message{Conversation: proto.String("hi")},
		}
	}
	if !s.onEvent(a, msg("CURRENT")) {
		t.Error("a message for the current attempt was refused")
	}
	waitMatch(t, rec, func(m engine.Message) bool { return m.WAID == "CURRENT" })

	sess.Disconnect()
	if s.onEvent(a, msg("STALE")) {
		t.Error("a message for an attempt that is over was accepted")
	}
	sess.Close()
	if s.onEvent(a, msg("CLOSED")) {
		t.Error("a message for a closed session was accepted")
	}
	for _, ev := range rec.all() {
		if m, ok := ev.(engine.Message); ok && m.WAID != "CURRENT" {
			t.Errorf("emitted %+v", m)
		}
	}
}

// TestKeepAliveFailureReported: whatsmeow, with its reconnect loop off,
// only reports failing keepalives; past its limit the session ends the
// connection as a transient drop so that the actor reconnects.
func TestKeepAliveFailureReported(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	sess, rec := h.open(1)
	h.pair(sess, rec, h.srv.Phone("15550000017"))
	s := sess.(*session)
	s.mu.Lock()
	a := s.cur
	s.mu.Unlock()

	mark := len(rec.all())
	s.onEvent(a, &events.KeepAliveTimeout{ErrorCount: 1, LastSuccess: time.Now().Add(-time.Minute)})
	if evs := rec.all()[mark:]; len(evs) != 0 {
		t.Errorf("one missed keepalive caused %s", describeEvents(evs))
	}
	s.onEvent(a, &events.KeepAliveTimeout{ErrorCount: 8, LastSuccess: time.Now().Add(-4 * time.Minute)})
	d := waitEvent[engine.Disconnected](t, rec)
	if !d.Transient || d.Reason != "keepalive timed out" {
		t.Errorf("Disconnected = %+v", d)
	}
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.Connected](t, rec)
}

// TestServerErrorCodes: WhatsApp's error acks to a sent message become the
// engine's sentinels, so the pacer pauses on 429 and on the reach-out
// timelock (463); other codes stay plain errors. The errors are made the
// way whatsmeow makes them.
func TestServerErrorCodes(t *testing.T) {
	ack := func(code int) error { return fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, code) }
	for _, tc := range []struct {
		err  error
		want error
	}{
		{ack(429), engine.ErrRateLimited},
		{ack(463), engine.ErrReachOut},
		{fmt.Errorf("send: %w", ack(463)), engine.ErrReachOut},
		{ack(479), nil},
		{whatsmeow.ErrNotConnected, engine.ErrNotConnected},
		{errors.New("server returned error 429"), nil}, // not whatsmeow's sentinel
	} {
		got := transportError(tc.err)
		for _, s := range []error{engine.ErrRateLimited, engine.ErrReachOut, engine.ErrNotConnected} {
			if errors.Is(got, s) != (s == tc.want) {
				t.Errorf("transportError(%v) = %v; is %v: %v, want %v", tc.err, got, s, errors.Is(got, s), s == tc.want)
			}
		}
	}
}

// TestGroupsBothWays: a group a phone created, with two gateway devices in
// it. The phone's message reaches both devices; a device's messages reach
// the phone (which decrypts them with the sender key they carry) and the
// other device; the devices are members, not admins.
func TestGroupsBothWays(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	ann, ben, cat := h.srv.Phone("15550000021"), h.srv.Phone("15550000022"), h.srv.Phone("15550000023")
	s1, r1 := h.open(1)
	s2, r2 := h.open(2)
	h.pair(s1, r1, ann)
	h.pair(s2, r2, ben)

	gid, err := cat.CreateGroup(ctx, "Cat's group", ann.Number(), ben.Number())
	if err != nil {
		t.Fatal(err)
	}
	group, err := engine.ParseRecipient(gid)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s1.(engine.Groups).Groups(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Groups = %+v, %v; want Cat's group", list, err)
	}
	if g := list[0]; g.JID != group || g.Subject != "Cat's group" || g.Owner != engine.UserJID(cat.Number()) || len(g.Participants) != 3 {
		t.Errorf("group = %+v; want Cat's group of three, owned by %s", g, cat.Number())
	}
	for _, p := range list[0].Participants {
		if p.LID == "" || p.LID != h.srv.Phone(p.Phone).LID() {
			t.Errorf("participant %+v; want its LID", p)
		}
	}

	id, err := cat.SendGroupText(ctx, gid, "hello from Cat's phone")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range []*recorder{r1, r2} {
		m := waitMatch(t, r, func(m engine.Message) bool { return m.WAID == id })
		if !m.IsGroup || m.Chat != group || m.Sender != engine.UserJID(cat.Number()) || m.SenderPhone != cat.Number() ||
			m.SenderLID != cat.LID() || m.Text != "hello from Cat's phone" || m.FromMe {
			t.Errorf("device %d got %+v", i+1, m)
		}
	}

	for _, text := range []string{"hello from Ann's device", "and once more"} {
		res, err := s1.Send(ctx, engine.OutMessage{WAID: s1.NewMessageID(), To: group, Text: text})
		if err != nil {
			t.Fatalf("send to the group: %v", err)
		}
		got, err := cat.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == res.WAID })
		if err != nil || got.Group != gid || got.From != ann.Number() || got.Text != text {
			t.Errorf("Cat's phone received %+v, %v", got, err)
		}
		m := waitMatch(t, r2, func(m engine.Message) bool { return m.WAID == res.WAID })
		if !m.IsGroup || m.Chat != group || m.SenderPhone != ann.Number() || m.Text != text {
			t.Errorf("device 2 got %+v", m)
		}
		rc := waitMatch(t, r1, func(r engine.Receipt) bool { return r.Status == engine.ReceiptDelivered && r.WAIDs[0] == res.WAID })
		if rc.Chat != group {
			t.Errorf("receipt = %+v; want it in the group", rc)
		}
	}

	if _, err := s1.(engine.Groups).InviteLink(ctx, group, false); !errors.Is(err, engine.ErrNotGroupAdmin) {
		t.Errorf("InviteLink by a member = %v; want ErrNotGroupAdmin", err)
	}
	if err := s2.(engine.Groups).LeaveGroup(ctx, group); err != nil {
		t.Fatal(err)
	}
	// whatsmeow updates its cached member list in place when the
	// notification comes, unguarded against a send reading it (a data race
	// in whatsmeow itself): the send below waits for the notification.
	waitMatch(t, r2, func(p engine.GroupParticipants) bool { return p.Action == engine.ParticipantRemove })
	g, err := h.srv.Group(gid)
	if err != nil || len(g.Members) != 2 || g.Members[cat.Number()] != fakewa.RoleSuperAdmin {
		t.Errorf("after Ben's device left: %+v, %v", g, err)
	}
	if _, ok := g.Members[ben.Number()]; ok {
		t.Errorf("Ben is still in %+v", g)
	}
	if _, err := s2.Send(ctx, engine.OutMessage{WAID: s2.NewMessageID(), To: group, Text: "not a member"}); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Errorf("send after leaving = %v; want ErrGroupNotFound", err)
	}
}

// TestGroupPresenceAndCallEvents: group notifications (created, a member
// promoted, a member leaving), a contact typing and recording, a call, and
// the presence of a contact the device is writing to.
func TestGroupPresenceAndCallEvents(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ctx := testContext(t)
	ann, ben, cat := h.srv.Phone("15550000031"), h.srv.Phone("15550000032"), h.srv.Phone("15550000033")
	s1, r1 := h.open(1)
	s2, r2 := h.open(2)
	h.pair(s1, r1, ann)
	h.pair(s2, r2, ben)
	annJID, benJID, catJID := engine.UserJID(ann.Number()), engine.UserJID(ben.Number()), engine.UserJID(cat.Number())

	g, err := s1.(engine.Groups).CreateGroup(ctx, "Events", []engine.JID{catJID, benJID})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range []*recorder{r1, r2} {
		u := waitMatch(t, r, func(u engine.GroupUpdate) bool { return u.Group == g.JID })
		if !u.Joined || u.Subject != "Events" || u.Actor != annJID || u.ActorPhone != ann.Number() || u.ActorLID != ann.LID() || u.At.IsZero() {
			t.Errorf("device %d: %+v; want joined Events, created by Ann", i+1, u)
		}
	}
	if _, err := s1.(engine.Groups).UpdateParticipants(ctx, g.JID, engine.ParticipantPromote, []engine.JID{benJID}); err != nil {
		t.Fatal(err)
	}
	p := waitMatch(t, r2, func(p engine.GroupParticipants) bool { return p.Action == engine.ParticipantPromote })
	if p.Group != g.JID || p.Actor != annJID || len(p.Participants) != 1 || p.Participants[0].JID != benJID ||
		p.Participants[0].Phone != ben.Number() || p.Participants[0].LID != ben.LID() {
		t.Errorf("promotion = %+v", p)
	}
	if err := s2.(engine.Groups).LeaveGroup(ctx, g.JID); err != nil {
		t.Fatal(err)
	}
	left := waitMatch(t, r1, func(p engine.GroupParticipants) bool { return p.Action == engine.ParticipantRemove })
	if left.Group != g.JID || left.Actor != benJID || len(left.Participants) != 1 || left.Participants[0].JID != benJID {
		t.Errorf("leaving = %+v", left)
	}

	for _, c := range []struct {
		fake string
		want engine.ChatPresence
	}{{fakewa.ChatTyping, engine.ChatTyping}, {fakewa.ChatRecording, engine.ChatRecording}, {fakewa.ChatPaused, engine.ChatPaused}} {
		if err := cat.Typing(ctx, ann.Number(), c.fake); err != nil {
			t.Fatal(err)
		}
		cp := waitMatch(t, r1, func(cp engine.ChatPresenceUpdate) bool { return cp.State == c.want })
		if cp.Chat != catJID || cp.Sender != catJID || cp.SenderPhone != cat.Number() || cp.SenderLID != cat.LID() {
			t.Errorf("chat presence = %+v; want %s from Cat", cp, c.want)
		}
	}

	callID, err := cat.Call(ctx, ann.Number(), true)
	if err != nil {
		t.Fatal(err)
	}
	call := waitEvent[engine.CallOffer](t, r1)
	if call.CallID != callID || call.From != catJID || call.FromPhone != cat.Number() || call.FromLID != cat.LID() ||
		!call.IsVideo || call.IsGroup || call.At.IsZero() {
		t.Errorf("call = %+v; want a video call %s from Cat", call, callID)
	}

	// Typing to Cat follows Cat's presence: first as it is, then changes.
	if err := s1.(engine.Presence).SendChatPresence(ctx, catJID, engine.ChatTyping); err != nil {
		t.Fatal(err)
	}
	first := waitEvent[engine.PresenceUpdate](t, r1)
	if first.From != catJID || first.FromPhone != cat.Number() || first.FromLID != cat.LID() || first.Available {
		t.Errorf("presence = %+v; want Cat offline", first)
	}
	cat.SetOnline(true)
	waitMatch(t, r1, func(p engine.PresenceUpdate) bool { return p.From == catJID && p.Available })
	cat.SetOnline(false)
	gone := waitMatch(t, r1, func(p engine.PresenceUpdate) bool { return p.From == catJID && !p.Available && !p.LastSeen.IsZero() })
	if time.Since(gone.LastSeen) > time.Minute {
		t.Errorf("last seen %v; want just now", gone.LastSeen)
	}
}

// TestGroupSettingsMapping: a group notification that changes the
// settings and the membership at once becomes one GroupUpdate and one
// GroupParticipants per action, with phone numbers and LIDs the device
// knows (fakewa does not play settings changes, so the notification is
// built here).
func TestGroupSettingsMapping(t *testing.T) {
	h := newHarness(t, fakewa.Config{}, Config{})
	ann, ben := h.srv.Phone("15550000041"), h.srv.Phone("15550000042")
	sess, rec := h.open(1)
	h.pair(sess, rec, ann)
	// A message from Ben teaches the device Ben's LID.
	if _, err := ben.SendText(testContext(t), ann.Number(), "hi"); err != nil {
		t.Fatal(err)
	}
	waitEvent[engine.Message](t, rec)

	s := sess.(*session)
	group := types.NewJID("120363000000000077", types.GroupServer)
	benPN := types.NewJID(ben.Number(), types.DefaultUserServer)
	at := time.Unix(1_800_000_000, 0)
	s.mu.Lock()
	evs := s.groupChanges(s.cur, &events.GroupInfo{
		JID: group, Sender: &benPN, Timestamp: at,
		Name:     &types.GroupName{Name: "Renamed"},
		Topic:    &types.GroupTopic{Topic: ""},
		Announce: &types.GroupAnnounce{IsAnnounce: true},
		Join:     []types.JID{types.NewJID(ann.Number(), types.DefaultUserServer)},
		Promote:  []types.JID{benPN},
	})
	s.mu.Unlock()

	benJID, annJID := engine.UserJID(ben.Number()), engine.UserJID(ann.Number())
	yes := true
	want := []engine.Event{
		engine.GroupUpdate{Group: engineJID(group), Actor: benJID, ActorPhone: ben.Number(), ActorLID: ben.LID(),
			Subject: "Renamed", DescriptionSet: true, Announce: &yes, At: at},
		engine.GroupParticipants{Group: engineJID(group), Actor: benJID, ActorPhone: ben.Number(), ActorLID: ben.LID(),
			Action: engine.ParticipantAdd, Participants: []engine.Participant{{JID: annJID, Phone: ann.Number(), LID: ann.LID()}}, At: at},
		engine.GroupParticipants{Group: engineJID(group), Actor: benJID, ActorPhone: ben.Number(), ActorLID: ben.LID(),
			Action: engine.ParticipantPromote, Participants: []engine.Participant{{JID: benJID, Phone: ben.Number(), LID: ben.LID()}}, At: at},
	}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("events:\n got  %s\n want %s", describeEvents(evs), describeEvents(want))
	}
}
