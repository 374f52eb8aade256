package enginetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// WaitLimit bounds every wait of the suite. Waits block on events or poll,
// never sleep a fixed time.
const WaitLimit = 20 * time.Second

// Device is a device under test: its id, its open session, and its phone
// number once paired.
type Device struct {
	ID      int64
	Session engine.Session
	Phone   string
}

// World plays WhatsApp's side of the scenarios. Contacts read what they
// receive by themselves: a sent message is reported delivered, then read.
type World interface {
	// Pair plays the phone scanning the QR code the device shows.
	Pair(ctx context.Context, d *Device, qr engine.QR) error
	// Contact is the phone number (digits) of a contact on WhatsApp.
	Contact() string
	// NotOnWhatsApp is a phone number (digits) that is not on WhatsApp.
	NotOnWhatsApp() string
	// Inbound delivers a text message from the contact to the (connected)
	// device.
	Inbound(ctx context.Context, d *Device, text string) error
	// Received waits until the contact has received the message waid from
	// the device and returns its text.
	Received(ctx context.Context, d *Device, waid string) (string, error)
	// GroupReceived waits until the contact has received the message waid
	// that the device sent to group, and returns its text.
	GroupReceived(ctx context.Context, d *Device, group engine.JID, waid string) (string, error)
	// Fault makes WhatsApp end the device's connection: one of
	// engine.FaultDisconnect (a network drop), engine.FaultLogout (unlinked
	// from the phone), engine.FaultBan (a temporary ban) and
	// engine.FaultStreamReplaced (another client took over).
	Fault(ctx context.Context, d *Device, kind string) error
}

// Setup is one engine under test and its world.
type Setup struct {
	Engine engine.Engine
	World  World
	// Restart plays a gateway restart: it is called once every session is
	// closed, and returns an engine over the same stored state.
	Restart func(t *testing.T) engine.Engine
}

// Factory builds a fresh Setup for one scenario; it registers its own
// cleanup with t.
type Factory func(t *testing.T) *Setup

// Run runs every scenario against the engines factory builds.
func Run(t *testing.T, factory Factory) {
	scenarios := []struct {
		name string
		run  func(*testing.T, *Setup)
	}{
		{"PairAndConnect", pairAndConnect},
		{"SendWithReceipts", sendWithReceipts},
		{"Inbound", inbound},
		{"Recipients", recipients},
		{"CheckPhones", checkPhones},
		{"RequestedDisconnect", requestedDisconnect},
		{"TransientDrop", transientDrop},
		{"RequestedLogout", requestedLogout},
		{"LogoutFromPhone", logoutFromPhone},
		{"StreamReplaced", streamReplaced},
		{"TemporaryBan", temporaryBan},
		{"PersistenceAcrossRestart", persistenceAcrossRestart},
		{"ClosedSessionIsSilent", closedSessionIsSilent},
		{"Groups", groups},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, factory(t)) })
	}
}

// Recorder keeps a session's events in order and lets a test wait for
// them. Safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	events  []engine.Event
	next    int
	changed chan struct{}
}

// NewRecorder returns an empty recorder; pass its Emit to Engine.Open.
func NewRecorder() *Recorder { return &Recorder{changed: make(chan struct{})} }

// Emit records an event.
func (r *Recorder) Emit(ev engine.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

// All returns every event recorded.
func (r *Recorder) All() []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.events...)
}

// Mark returns a position: Since(mark) is what came after.
func (r *Recorder) Mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Since returns the events recorded after mark.
func (r *Recorder) Since(mark int) []engine.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]engine.Event(nil), r.events[mark:]...)
}

// take waits for the next event (after those taken) that match accepts.
func (r *Recorder) take(ctx context.Context, match func(engine.Event) bool) (engine.Event, error) {
	for {
		r.mu.Lock()
		for i := r.next; i < len(r.events); i++ {
			if match(r.events[i]) {
				r.next = i + 1
				ev := r.events[i]
				r.mu.Unlock()
				return ev, nil
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Wait waits for the next event of type T that match accepts (nil: any),
// skipping others, and fails the test after WaitLimit.
func Wait[T engine.Event](t testing.TB, r *Recorder, match func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	defer cancel()
	ev, err := r.take(ctx, func(ev engine.Event) bool {
		e, ok := ev.(T)
		return ok && (match == nil || match(e))
	})
	if err != nil {
		var zero T
		t.Fatalf("no %T event: %v; events so far:%s", zero, err, Describe(r.All()))
	}
	return ev.(T)
}

// Describe lists events, one a line, for failure messages.
func Describe(evs []engine.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "\n\t%T %+v", ev, ev)
	}
	return b.String()
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), WaitLimit)
	t.Cleanup(cancel)
	return ctx
}

// open opens device id with a recorder; the session closes with the test.
func open(t *testing.T, eng engine.Engine, id int64) (*Device, *Recorder) {
	t.Helper()
	rec := NewRecorder()
	sess, err := eng.Open(testContext(t), id, rec.Emit)
	if err != nil {
		t.Fatalf("Open(%d): %v", id, err)
	}
	t.Cleanup(sess.Close)
	return &Device{ID: id, Session: sess}, rec
}

// connectPaired connects an unpaired device and pairs it.
func connectPaired(t *testing.T, s *Setup, d *Device, rec *Recorder) engine.Connected {
	t.Helper()
	ctx := testContext(t)
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	qr := Wait[engine.QR](t, rec, nil)
	if qr.Code == "" || !qr.ExpiresAt.After(time.Now()) {
		t.Errorf("QR = %+v; want a code that has not expired", qr)
	}
	if err := s.World.Pair(ctx, d, qr); err != nil {
		t.Fatalf("Pair: %v", err)
	}
	c := Wait[engine.Connected](t, rec, nil)
	if c.Phone == "" {
		t.Errorf("Connected = %+v; want the device's phone number", c)
	}
	d.Phone = c.Phone
	return c
}

// noTransientDrop checks that no event since mark would make the actor
// reconnect.
func noTransientDrop(t *testing.T, rec *Recorder, mark int) {
	t.Helper()
	for _, ev := range rec.Since(mark) {
		if d, ok := ev.(engine.Disconnected); ok && d.Transient {
			t.Errorf("transient %+v next to a permanent end: the actor would reconnect", d)
		}
	}
}

func pairAndConnect(t *testing.T, s *Setup) {
	d, rec := open(t, s.Engine, 1)
	if d.Session.Paired() {
		t.Fatal("a new device is paired")
	}
	connectPaired(t, s, d, rec)
	if !d.Session.Paired() {
		t.Error("not paired after pairing")
	}
	// Connecting while connected changes nothing.
	mark := rec.Mark()
	if err := d.Session.Connect(testContext(t)); err != nil {
		t.Errorf("second Connect: %v", err)
	}
	for _, ev := range rec.Since(mark) {
		switch ev.(type) {
		case engine.QR, engine.Connected, engine.Disconnected:
			t.Errorf("second Connect caused %T", ev)
		}
	}
}

func sendWithReceipts(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	to := engine.UserJID(s.World.Contact())
	id := d.Session.NewMessageID()
	if id == "" || id == d.Session.NewMessageID() {
		t.Errorf("NewMessageID gave %q twice or empty", id)
	}
	res, err := d.Session.Send(ctx, engine.OutMessage{WAID: id, To: to, Type: engine.TypeText, Text: "hello from the suite"})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if res.WAID != id || res.ServerTime.IsZero() {
		t.Errorf("SendResult = %+v; want id %s and a server time", res, id)
	}
	text, err := s.World.Received(ctx, d, id)
	if err != nil || text != "hello from the suite" {
		t.Errorf("the contact received %q, %v", text, err)
	}
	for _, status := range []engine.ReceiptStatus{engine.ReceiptDelivered, engine.ReceiptRead} {
		r := Wait(t, rec, func(r engine.Receipt) bool { return r.Status == status })
		if len(r.WAIDs) != 1 || r.WAIDs[0] != id || r.Chat != to || r.At.IsZero() {
			t.Errorf("%s receipt = %+v; want %s in %s", status, r, id, to)
		}
	}
}

func inbound(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	if err := s.World.Inbound(ctx, d, "hello device"); err != nil {
		t.Fatalf("Inbound: %v", err)
	}
	m := Wait[engine.Message](t, rec, nil)
	contact := engine.UserJID(s.World.Contact())
	if m.WAID == "" || m.Type != engine.TypeText || m.Text != "hello device" || m.FromMe || m.IsGroup ||
		m.Chat != contact || m.Sender != contact || m.SenderPhone != s.World.Contact() || m.Timestamp.IsZero() {
		t.Errorf("message = %+v; want a text from %s", m, contact)
	}
}

func recipients(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	if _, err := d.Session.Send(ctx, engine.OutMessage{To: engine.UserJID(s.World.Contact()), Text: "x"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send before connecting = %v; want ErrNotConnected", err)
	}
	connectPaired(t, s, d, rec)
	if _, err := d.Session.Send(ctx, engine.OutMessage{WAID: d.Session.NewMessageID(), To: engine.UserJID(s.World.NotOnWhatsApp()), Text: "x"}); !errors.Is(err, engine.ErrNotOnWhatsApp) {
		t.Errorf("Send to a number not on WhatsApp = %v; want ErrNotOnWhatsApp", err)
	}
	if _, err := d.Session.Send(ctx, engine.OutMessage{WAID: d.Session.NewMessageID(), To: engine.JID{User: "x", Server: "example.com"}, Text: "x"}); !errors.Is(err, engine.ErrInvalidRecipient) {
		t.Errorf("Send to a foreign server = %v; want ErrInvalidRecipient", err)
	}
}

func checkPhones(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	if _, err := d.Session.CheckPhones(ctx, []string{s.World.Contact()}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("CheckPhones before connecting = %v; want ErrNotConnected", err)
	}
	connectPaired(t, s, d, rec)
	in, out := s.World.Contact(), s.World.NotOnWhatsApp()
	got, err := d.Session.CheckPhones(ctx, []string{"+" + in, out, "not a phone"})
	if err != nil {
		t.Fatalf("CheckPhones: %v", err)
	}
	want := []engine.PhoneCheck{
		{Phone: "+" + in, OnWhatsApp: true, JID: engine.UserJID(in)},
		{Phone: out},
		{Phone: "not a phone"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CheckPhones = %+v; want %+v", got, want)
	}
}

func requestedDisconnect(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	d.Session.Disconnect()
	dis := Wait[engine.Disconnected](t, rec, nil)
	if dis.Transient || dis.Reason != "requested" {
		t.Errorf("Disconnected = %+v; want a requested, non-transient one", dis)
	}
	if _, err := d.Session.Send(ctx, engine.OutMessage{WAID: d.Session.NewMessageID(), To: engine.UserJID(s.World.Contact()), Text: "x"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send after Disconnect = %v; want ErrNotConnected", err)
	}
	mark := rec.Mark()
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	c := Wait[engine.Connected](t, rec, nil)
	if c.Phone != d.Phone {
		t.Errorf("reconnected as %s, was %s", c.Phone, d.Phone)
	}
	for _, ev := range rec.Since(mark) {
		if _, ok := ev.(engine.QR); ok {
			t.Error("a paired device showed a QR code on reconnecting")
		}
	}
}

func transientDrop(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	if err := s.World.Fault(ctx, d, engine.FaultDisconnect); err != nil {
		t.Fatal(err)
	}
	dis := Wait[engine.Disconnected](t, rec, nil)
	if !dis.Transient || dis.Reason == "" {
		t.Errorf("Disconnected = %+v; want a transient one with a reason", dis)
	}
	if !d.Session.Paired() {
		t.Error("a network drop dropped the pairing")
	}
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	Wait[engine.Connected](t, rec, nil)
}

func requestedLogout(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	mark := rec.Mark()
	if err := d.Session.Logout(ctx); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	lo := Wait[engine.LoggedOut](t, rec, nil)
	if lo.Reason != "requested" || d.Session.Paired() {
		t.Errorf("LoggedOut = %+v, paired %v; want requested and unpaired", lo, d.Session.Paired())
	}
	noTransientDrop(t, rec, mark)
	// The next Connect pairs anew.
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	Wait[engine.QR](t, rec, nil)
}

func logoutFromPhone(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	mark := rec.Mark()
	if err := s.World.Fault(ctx, d, engine.FaultLogout); err != nil {
		t.Fatal(err)
	}
	lo := Wait[engine.LoggedOut](t, rec, nil)
	if lo.Reason == "" || lo.Reason == "requested" {
		t.Errorf("LoggedOut = %+v; want the phone's reason", lo)
	}
	if d.Session.Paired() {
		t.Error("still paired after a logout from the phone")
	}
	noTransientDrop(t, rec, mark)
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	Wait[engine.QR](t, rec, nil)
}

func streamReplaced(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	mark := rec.Mark()
	if err := s.World.Fault(ctx, d, engine.FaultStreamReplaced); err != nil {
		t.Fatal(err)
	}
	Wait[engine.StreamReplaced](t, rec, nil)
	noTransientDrop(t, rec, mark)
	if !d.Session.Paired() {
		t.Error("a replaced stream dropped the pairing")
	}
	if _, err := d.Session.Send(ctx, engine.OutMessage{WAID: d.Session.NewMessageID(), To: engine.UserJID(s.World.Contact()), Text: "x"}); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Send after StreamReplaced = %v; want ErrNotConnected", err)
	}
}

func temporaryBan(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	mark := rec.Mark()
	if err := s.World.Fault(ctx, d, engine.FaultBan); err != nil {
		t.Fatal(err)
	}
	b := Wait[engine.TemporaryBan](t, rec, nil)
	if b.Reason == "" || !b.Expires.After(time.Now()) {
		t.Errorf("TemporaryBan = %+v; want a reason and an expiry ahead", b)
	}
	// While banned, connecting is refused again.
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	again := Wait[engine.TemporaryBan](t, rec, nil)
	if again.Reason != b.Reason {
		t.Errorf("ban on reconnect = %+v; first was %+v", again, b)
	}
	noTransientDrop(t, rec, mark)
	if !d.Session.Paired() {
		t.Error("a ban dropped the pairing")
	}
}

func persistenceAcrossRestart(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	c := connectPaired(t, s, d, rec)
	other, _ := open(t, s.Engine, 2)
	d.Session.Close()
	other.Session.Close()

	eng := s.Restart(t)
	d, rec = open(t, eng, 1)
	if !d.Session.Paired() {
		t.Fatal("the pairing did not survive a restart")
	}
	if other, _ := open(t, eng, 2); other.Session.Paired() {
		t.Error("a device never paired is paired after a restart")
	}
	if err := d.Session.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	again := Wait[engine.Connected](t, rec, nil)
	if again.Phone != c.Phone {
		t.Errorf("after restart connected as %s, was %s", again.Phone, c.Phone)
	}
	for _, ev := range rec.All() {
		if _, ok := ev.(engine.QR); ok {
			t.Error("QR code after a restart")
		}
	}
	// Forget deletes the pairing for good.
	d.Session.Close()
	if err := eng.Forget(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := eng.Forget(ctx, 1); err != nil {
		t.Errorf("second Forget: %v", err)
	}
	if d, _ := open(t, eng, 1); d.Session.Paired() {
		t.Error("paired after Forget")
	}
}

func closedSessionIsSilent(t *testing.T, s *Setup) {
	ctx := testContext(t)
	d, rec := open(t, s.Engine, 1)
	connectPaired(t, s, d, rec)
	d.Session.Close()
	mark := rec.Mark()
	d.Session.Close() // twice is fine
	if err := d.Session.Connect(ctx); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Connect after Close = %v; want ErrClosed", err)
	}
	if _, err := d.Session.Send(ctx, engine.OutMessage{To: engine.UserJID(s.World.Contact()), Text: "x"}); err == nil {
		t.Error("Send after Close succeeded")
	}
	// Faults and messages that reach a closed device produce nothing.
	_ = s.World.Inbound(ctx, d, "nobody listens")
	if evs := rec.Since(mark); len(evs) != 0 {
		t.Errorf("events after Close:%s", Describe(evs))
	}
}

// groups runs a group's life: created by one device with the contact, a
// number not on WhatsApp and a second device in it; a message to it; its
// membership changed; its invite link; a member who is not an admin; and
// leaving it.
func groups(t *testing.T, s *Setup) {
	ctx := testContext(t)
	owner, rec := open(t, s.Engine, 1)
	if _, err := owner.Session.(engine.Groups).Groups(ctx); !errors.Is(err, engine.ErrNotConnected) {
		t.Errorf("Groups before connecting = %v; want ErrNotConnected", err)
	}
	connectPaired(t, s, owner, rec)
	member, memberRec := open(t, s.Engine, 2)
	connectPaired(t, s, member, memberRec)
	og, mg := owner.Session.(engine.Groups), member.Session.(engine.Groups)

	contact, absent := engine.UserJID(s.World.Contact()), engine.UserJID(s.World.NotOnWhatsApp())
	self, other := engine.UserJID(owner.Phone), engine.UserJID(member.Phone)
	g, err := og.CreateGroup(ctx, "Suite group", []engine.JID{contact, absent, other})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if !g.JID.IsGroup() || g.Subject != "Suite group" || g.Owner != self || g.CreatedAt.IsZero() {
		t.Errorf("CreateGroup = %+v; want a group named Suite group owned by %s", g, self)
	}
	wantMembers := map[engine.JID]string{self: "superadmin", contact: "member", other: "member"}
	checkMembers(t, "created group", g, wantMembers)
	if want := []engine.ParticipantResult{{JID: absent, Error: engine.ParticipantErrorNotOnWhatsApp}}; fmt.Sprint(g.Failed) != fmt.Sprint(want) {
		t.Errorf("CreateGroup Failed = %+v; want %+v", g.Failed, want)
	}
	// WhatsApp tells the creator's devices of the new group too.
	joined := Wait(t, rec, func(u engine.GroupUpdate) bool { return u.Group == g.JID })
	if !joined.Joined || joined.Subject != "Suite group" || joined.Actor != self || joined.At.IsZero() {
		t.Errorf("GroupUpdate = %+v; want joined, by %s", joined, self)
	}
	for name, sess := range map[string]engine.Groups{"owner": og, "member": mg} {
		list, err := sess.Groups(ctx)
		if err != nil || len(list) != 1 || list[0].JID != g.JID || list[0].Subject != g.Subject {
			t.Errorf("Groups of the %s = %+v, %v; want the new group", name, list, err)
		}
	}

	// A message to the group reaches its members and is receipted.
	id := owner.Session.NewMessageID()
	if _, err := owner.Session.Send(ctx, engine.OutMessage{WAID: id, To: g.JID, Type: engine.TypeText, Text: "hello group"}); err != nil {
		t.Fatalf("Send to the group: %v", err)
	}
	if text, err := s.World.GroupReceived(ctx, owner, g.JID, id); err != nil || text != "hello group" {
		t.Errorf("the contact received %q, %v in the group", text, err)
	}
	r := Wait(t, rec, func(r engine.Receipt) bool { return r.Status == engine.ReceiptDelivered })
	if r.Chat != g.JID || len(r.WAIDs) != 1 || r.WAIDs[0] != id {
		t.Errorf("delivered receipt = %+v; want %s in %s", r, id, g.JID)
	}

	// Membership: one answer per JID asked for, in order.
	changes := []struct {
		action engine.ParticipantAction
		jids   []engine.JID
		want   []string
	}{
		{engine.ParticipantAdd, []engine.JID{contact, absent}, []string{engine.ParticipantErrorAlreadyInGroup, engine.ParticipantErrorNotOnWhatsApp}},
		{engine.ParticipantPromote, []engine.JID{contact}, []string{""}},
		{engine.ParticipantDemote, []engine.JID{self, contact}, []string{engine.ParticipantErrorNotAllowed, ""}},
		{engine.ParticipantRemove, []engine.JID{absent, contact}, []string{engine.ParticipantErrorNotInGroup, ""}},
	}
	for _, c := range changes {
		got, err := og.UpdateParticipants(ctx, g.JID, c.action, c.jids)
		if err != nil || len(got) != len(c.jids) {
			t.Fatalf("%s %v = %+v, %v", c.action, c.jids, got, err)
		}
		for i := range got {
			if got[i].JID != c.jids[i] || got[i].Error != c.want[i] {
				t.Errorf("%s %s = %+v; want error %q", c.action, c.jids[i], got[i], c.want[i])
			}
		}
	}
	promoted := Wait(t, rec, func(p engine.GroupParticipants) bool { return p.Action == engine.ParticipantPromote })
	if promoted.Group != g.JID || promoted.Actor != self || len(promoted.Participants) != 1 || promoted.Participants[0].JID != contact {
		t.Errorf("GroupParticipants = %+v; want %s promoted by %s", promoted, contact, self)
	}
	list, err := og.Groups(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Groups after the changes = %+v, %v", list, err)
	}
	checkMembers(t, "changed group", list[0], map[engine.JID]string{self: "superadmin", other: "member"})

	// Invite links: stable until reset; admins only.
	link, err := og.InviteLink(ctx, g.JID, false)
	if err != nil || !strings.HasPrefix(link, "https://chat.whatsapp.com/") || len(link) <= len("https://chat.whatsapp.com/") {
		t.Errorf("InviteLink = %q, %v", link, err)
	}
	if again, err := og.InviteLink(ctx, g.JID, false); err != nil || again != link {
		t.Errorf("InviteLink again = %q, %v; want %q", again, err, link)
	}
	if reset, err := og.InviteLink(ctx, g.JID, true); err != nil || reset == link || !strings.HasPrefix(reset, "https://chat.whatsapp.com/") {
		t.Errorf("InviteLink reset = %q, %v; want a new link", reset, err)
	}
	if _, err := mg.InviteLink(ctx, g.JID, false); !errors.Is(err, engine.ErrNotGroupAdmin) {
		t.Errorf("InviteLink by a member = %v; want ErrNotGroupAdmin", err)
	}
	if _, err := mg.UpdateParticipants(ctx, g.JID, engine.ParticipantAdd, []engine.JID{contact}); !errors.Is(err, engine.ErrNotGroupAdmin) {
		t.Errorf("add by a member = %v; want ErrNotGroupAdmin", err)
	}
	unknown := engine.JID{User: "120363000000000001", Server: engine.ServerGroup}
	if _, err := og.InviteLink(ctx, unknown, false); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Errorf("InviteLink of an unknown group = %v; want ErrGroupNotFound", err)
	}

	// Leaving: the group is no longer listed, and cannot be left twice.
	if err := mg.LeaveGroup(ctx, g.JID); err != nil {
		t.Fatalf("LeaveGroup: %v", err)
	}
	left := Wait(t, memberRec, func(p engine.GroupParticipants) bool {
		return p.Action == engine.ParticipantRemove && p.Actor == other
	})
	if left.Group != g.JID || left.Actor != other || len(left.Participants) != 1 || left.Participants[0].JID != other {
		t.Errorf("GroupParticipants = %+v; want %s leaving", left, other)
	}
	if list, err := mg.Groups(ctx); err != nil || len(list) != 0 {
		t.Errorf("Groups after leaving = %+v, %v; want none", list, err)
	}
	if err := mg.LeaveGroup(ctx, g.JID); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Errorf("LeaveGroup twice = %v; want ErrGroupNotFound", err)
	}
	if _, err := mg.UpdateParticipants(ctx, g.JID, engine.ParticipantAdd, []engine.JID{contact}); !errors.Is(err, engine.ErrGroupNotFound) {
		t.Errorf("add after leaving = %v; want ErrGroupNotFound", err)
	}
}

// checkMembers compares a group's participants with want: JID → role
// ("superadmin", "admin" or "member").
func checkMembers(t *testing.T, what string, g engine.Group, want map[engine.JID]string) {
	t.Helper()
	got := make(map[engine.JID]string)
	for _, p := range g.Participants {
		role := "member"
		switch {
		case p.IsSuperAdmin:
			role = "superadmin"
		case p.IsAdmin:
			role = "admin"
		}
		got[p.JID] = role
		if p.JID.Server == engine.ServerUser && p.Phone != p.JID.User {
			t.Errorf("%s: participant %+v; want its phone number", what, p)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: participants %v; want %v", what, got, want)
	}
}
