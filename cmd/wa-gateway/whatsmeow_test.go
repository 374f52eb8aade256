package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/fakewa"
	"github.com/wa-gateway/wa-gateway/actors/engine/live"
	"github.com/wa-gateway/wa-gateway/storage"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// The TestWhatsmeow* tests run the whole gateway in-process with the
// whatsmeow engine connected to a fake WhatsApp (actors/engine/fakewa).
// The fake replaces whatsmeow's WhatsApp root key for the whole process,
// so they stand aside when the real-WhatsApp check (TestLive*) is asked
// for.
func skipWithRealWhatsApp(t *testing.T) {
	if os.Getenv(liveTestEnv) != "" {
		t.Skip("the fake WhatsApp cannot share a process with the real one; run TestLive alone")
	}
}

// fakeWhatsApp starts a fake WhatsApp for a test.
func fakeWhatsApp(t *testing.T, cfg fakewa.Config) *fakewa.Server {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	srv, err := fakewa.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// startWhatsmeowGateway is startGateway with the whatsmeow engine pointed
// at srv; wrap, when set, wraps that engine.
func startWhatsmeowGateway(t *testing.T, dataDir string, srv *fakewa.Server, wrap func(engine.Engine) engine.Engine) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	g := &gateway{t: t, cancel: cancel, done: make(chan int, 1), logs: &syncBuffer{}}
	addr := make(chan net.Addr, 1)
	go func() {
		g.done <- run(ctx, env{
			args:   []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--allow-private-urls"},
			getenv: func(string) string { return "" },
			stdout: io.Discard, stderr: g.logs,
			ready: func(a net.Addr) { addr <- a },
			engines: func(c config, db *storage.DB, log *slog.Logger) (map[string]engine.Engine, error) {
				engs, err := newEngines(c, db, log, live.Config{HTTPClient: srv.HTTPClient(), MediaHTTPClient: srv.HTTPClient()})
				if err == nil && wrap != nil {
					engs[live.Name] = wrap(engs[live.Name])
				}
				return engs, err
			},
		})
	}()
	select {
	case a := <-addr:
		g.base = "http://" + a.String()
	case code := <-g.done:
		t.Fatalf("gateway exited with %d before listening:\n%s", code, g.logs)
	case <-time.After(20 * time.Second):
		t.Fatalf("gateway did not start:\n%s", g.logs)
	}
	t.Cleanup(func() { g.stop() })
	return g
}

// whatsmeowDevice creates a device on the whatsmeow engine, without
// pacing delays, and returns its id.
func whatsmeowDevice(t *testing.T, g *gateway, key, name string) any {
	t.Helper()
	created := g.must(201, "POST", "/api/devices", key, map[string]any{"name": name, "engine": "whatsmeow"})
	dev := created["device"].(map[string]any)
	if dev["engine"] != "whatsmeow" {
		t.Fatalf("device = %v", dev)
	}
	g.must(200, "PATCH", fmt.Sprintf("/api/devices/%v", dev["id"]), key, map[string]any{"pacing": "off"})
	return dev["id"]
}

func eventData(e sseEvent) map[string]any {
	d, _ := e.data["data"].(map[string]any)
	return d
}

func isStatus(status string) func(sseEvent) bool {
	return func(e sseEvent) bool { return e.event == "status" && eventData(e)["status"] == status }
}

// pairOverSSE connects the device, takes the QR code from its event
// stream, has phone scan it and waits for CONNECTED; it returns the
// device's companion JID on the fake.
func pairOverSSE(t *testing.T, g *gateway, key string, id any, events <-chan sseEvent, phone *fakewa.Phone) string {
	t.Helper()
	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/connect", id), key, nil)
	qr := next(t, events, func(e sseEvent) bool { return e.event == "qr" })
	code, _ := eventData(qr)["code"].(string)
	if err := phone.ScanQR(testCtx(t), code); err != nil {
		t.Fatalf("scan %q: %v", code, err)
	}
	next(t, events, isStatus("CONNECTED"))
	d := g.waitStatus(key, id, "CONNECTED")
	if d["phone"] != phone.Number() {
		t.Errorf("device phone = %v, want %s", d["phone"], phone.Number())
	}
	devs := phone.Devices()
	if len(devs) != 1 {
		t.Fatalf("phone lists %v", devs)
	}
	return devs[0]
}

// pairedWhatsmeowGateway starts a gateway on srv with one whatsmeow device
// paired to phone (registered as email), and returns it with the API key,
// the device id and the device's event stream.
func pairedWhatsmeowGateway(t *testing.T, srv *fakewa.Server, phone *fakewa.Phone, email string) (*gateway, string, any, <-chan sseEvent) {
	t.Helper()
	g := startWhatsmeowGateway(t, t.TempDir(), srv, nil)
	key := register(t, g, email)
	id := whatsmeowDevice(t, g, key, "primary")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events := g.sse(ctx, fmt.Sprintf("/api/devices/%v/events", id), key)
	pairOverSSE(t, g, key, id, events, phone)
	return g, key, id, events
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// inbound waits for the device's inbound message with the given WhatsApp
// id and returns it.
func inbound(t *testing.T, g *gateway, key string, id any, waid string) map[string]any {
	t.Helper()
	var found map[string]any
	waitFor(t, 15*time.Second, func() error {
		list := g.must(200, "GET", fmt.Sprintf("/api/messages?deviceId=%v&direction=in", id), key, nil)
		items, _ := list["items"].([]any)
		for _, it := range items {
			if m := it.(map[string]any); m["waId"] == waid {
				found = m
				return nil
			}
		}
		return fmt.Errorf("no inbound message %s among %d", waid, len(items))
	})
	return found
}

// TestWhatsmeowEndToEnd: pairing by QR over SSE, a send that reaches
// sent, delivered and read, inbound text and image stored with their
// events, a restart that reconnects without a new scan, and a logout from
// the phone that ends in LOGGED_OUT with the keys deleted.
func TestWhatsmeowEndToEnd(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{})
	owner, alice := srv.Phone("15550000101"), srv.Phone("15550000202")
	alice.SetPushName("Alice")
	dir := t.TempDir()
	g := startWhatsmeowGateway(t, dir, srv, nil)
	key := register(t, g, "owner@example.com")
	id := whatsmeowDevice(t, g, key, "real")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := g.sse(ctx, fmt.Sprintf("/api/devices/%v/events", id), key)
	next(t, events, isStatus("DISCONNECTED"))
	jid := pairOverSSE(t, g, key, id, events, owner)

	// Send: sent, then the contact's phone receipts.
	r := g.must(202, "POST", "/api/messages/send-text", key, map[string]any{"deviceId": id, "to": "+" + alice.Number(), "text": "Hello Alice"})
	msgID := r["id"].(string)
	sent := g.waitMessage(key, msgID, "delivered")
	waid, _ := sent["waId"].(string)
	got, err := alice.WaitReceived(testCtx(t), func(m fakewa.Received) bool { return m.ID == waid })
	if err != nil || got.Text != "Hello Alice" || got.From != owner.Number() {
		t.Fatalf("Alice received %+v, %v", got, err)
	}
	if err := alice.Read(waid); err != nil {
		t.Fatal(err)
	}
	read := g.waitMessage(key, msgID, "read")
	for _, field := range []string{"sentAt", "deliveredAt", "readAt"} {
		if v, _ := read[field].(string); v == "" || strings.HasPrefix(v, "0001") {
			t.Errorf("message %s = %v", field, read[field])
		}
	}
	for _, status := range []string{"delivered", "read"} {
		next(t, events, func(e sseEvent) bool {
			return e.event == "message.ack" && eventData(e)["id"] == msgID && eventData(e)["status"] == status
		})
	}

	// Inbound text and image, stored and announced, with phone and LID.
	textID, err := alice.SendText(testCtx(t), owner.Number(), "Hi from Alice")
	if err != nil {
		t.Fatal(err)
	}
	m := inbound(t, g, key, id, textID)
	if m["text"] != "Hi from Alice" || m["fromPhone"] != alice.Number() || m["fromLid"] != alice.LID() ||
		m["pushName"] != "Alice" || m["type"] != "text" {
		t.Errorf("inbound text = %v", m)
	}
	next(t, events, func(e sseEvent) bool { return e.event == "message.received" && eventData(e)["text"] == "Hi from Alice" })
	photo := bytes.Repeat([]byte("not really a jpeg "), 200)
	imageID, err := alice.SendImage(testCtx(t), owner.Number(), photo, "image/jpeg", "a photo")
	if err != nil {
		t.Fatal(err)
	}
	img := inbound(t, g, key, id, imageID)
	media, _ := img["media"].(map[string]any)
	if img["type"] != "image" || img["caption"] != "a photo" || media["mimetype"] != "image/jpeg" || media["size"] != float64(len(photo)) {
		t.Errorf("inbound image = %v", img)
	}
	next(t, events, func(e sseEvent) bool { return e.event == "message.received" && eventData(e)["type"] == "image" })
	cancel()

	// Restart: the device logs in again by itself, with no new scan.
	g.stop()
	g = startWhatsmeowGateway(t, dir, srv, nil)
	g.waitStatus(key, id, "CONNECTED")
	if err := srv.WaitOnline(testCtx(t), jid); err != nil {
		t.Fatal(err)
	}
	if devs := owner.Devices(); len(devs) != 1 || devs[0] != jid {
		t.Errorf("after restart the phone lists %v, want only %s", devs, jid)
	}
	afterID, err := alice.SendText(testCtx(t), owner.Number(), "after the restart")
	if err != nil {
		t.Fatal(err)
	}
	inbound(t, g, key, id, afterID)

	// Logout from the phone: LOGGED_OUT, no reconnection, keys gone.
	if err := owner.Unlink(jid); err != nil {
		t.Fatal(err)
	}
	d := g.waitStatus(key, id, "LOGGED_OUT")
	if d["statusReason"] != nil && d["statusReason"] != "logged_out" {
		t.Errorf("LOGGED_OUT reason = %v", d["statusReason"])
	}
	g.stop()
	db, err := storage.Open(filepath.Join(dir, "db"), storage.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := wastore.New(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if devs, err := keys.Devices(context.Background()); err != nil || len(devs) != 0 {
		t.Errorf("WhatsApp keys left after logout: %v, %v", devs, err)
	}
}

// TestWhatsmeowStreamReplaced: another client taking over the device's
// keys ends in DISCONNECTED (stream_replaced), and the gateway does not
// fight back with reconnections.
func TestWhatsmeowStreamReplaced(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{})
	owner := srv.Phone("15550000303")
	g := startWhatsmeowGateway(t, t.TempDir(), srv, nil)
	key := register(t, g, "owner@example.com")
	id := whatsmeowDevice(t, g, key, "real")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := g.sse(ctx, fmt.Sprintf("/api/devices/%v/events", id), key)
	jid := pairOverSSE(t, g, key, id, events, owner)

	if err := srv.Replace(jid); err != nil {
		t.Fatal(err)
	}
	e := next(t, events, isStatus("DISCONNECTED"))
	if eventData(e)["reason"] != "stream_replaced" {
		t.Errorf("status event = %v, want reason stream_replaced", eventData(e))
	}
	if err := srv.WaitOffline(testCtx(t), jid); err != nil {
		t.Fatal(err)
	}
	// The actor's first reconnection would come within its backoff's
	// first step (at most 1.5 s); none comes.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if srv.Online(jid) || srv.Connections() > 0 {
			t.Fatal("the gateway reconnected after its stream was replaced")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := g.must(200, "GET", fmt.Sprintf("/api/devices/%v", id), key, nil); d["status"] != "DISCONNECTED" {
		t.Errorf("device = %v", d)
	}
}

// crashSwitch makes the next NewMessageID of a session panic: the device
// actor calls it on its own goroutine, so supervision restarts the actor.
type crashSwitch struct{ armed atomic.Bool }

func (c *crashSwitch) wrap(e engine.Engine) engine.Engine { return crashingEngine{Engine: e, c: c} }

type crashingEngine struct {
	engine.Engine
	c *crashSwitch
}

func (e crashingEngine) Open(ctx context.Context, id int64, emit func(engine.Event)) (engine.Session, error) {
	s, err := e.Engine.Open(ctx, id, emit)
	if err != nil {
		return nil, err
	}
	return crashingSession{Session: s, c: e.c}, nil
}

type crashingSession struct {
	engine.Session
	c *crashSwitch
}

func (s crashingSession) NewMessageID() string {
	if s.c.armed.CompareAndSwap(true, false) {
		panic("device actor crash injected by the test")
	}
	return s.Session.NewMessageID()
}

// TestWhatsmeowDeviceActorRestart: a device actor that crashes mid-session
// is restarted by its supervisor, logs in again with the same keys (no
// scan, no stream replaced by its own previous session) and sends what
// was queued.
func TestWhatsmeowDeviceActorRestart(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{AutoRead: true})
	owner, alice := srv.Phone("15550000404"), srv.Phone("15550000505")
	crash := &crashSwitch{}
	g := startWhatsmeowGateway(t, t.TempDir(), srv, crash.wrap)
	key := register(t, g, "owner@example.com")
	id := whatsmeowDevice(t, g, key, "real")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := g.sse(ctx, fmt.Sprintf("/api/devices/%v/events", id), key)
	jid := pairOverSSE(t, g, key, id, events, owner)

	crash.armed.Store(true)
	r := g.must(202, "POST", "/api/messages/send-text", key, map[string]any{"deviceId": id, "to": alice.Number(), "text": "survives a crash"})
	g.waitMessage(key, r["id"].(string), "read")
	if crash.armed.Load() {
		t.Fatal("the crash never happened")
	}
	if _, err := alice.WaitReceived(testCtx(t), func(m fakewa.Received) bool { return m.Text == "survives a crash" }); err != nil {
		t.Fatal(err)
	}
	g.waitStatus(key, id, "CONNECTED")
	if devs := owner.Devices(); len(devs) != 1 || devs[0] != jid {
		t.Errorf("after the crash the phone lists %v, want only %s", devs, jid)
	}
	for {
		select {
		case e := <-events:
			if e.event == "qr" {
				t.Error("a QR code after the actor restarted")
			}
			if e.event == "status" && eventData(e)["reason"] == "stream_replaced" {
				t.Error("the restarted actor was replaced by its previous session")
			}
			continue
		default:
		}
		break
	}
}

// TestWhatsmeowPairByCode: pairing with a code typed on the phone.
func TestWhatsmeowPairByCode(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{})
	owner := srv.Phone("15550000606")
	g := startWhatsmeowGateway(t, t.TempDir(), srv, nil)
	key := register(t, g, "owner@example.com")
	id := whatsmeowDevice(t, g, key, "real")
	g.must(202, "POST", fmt.Sprintf("/api/devices/%v/connect", id), key, nil)
	g.waitStatus(key, id, "SCAN_QR")
	d := g.must(200, "POST", fmt.Sprintf("/api/devices/%v/pair-code", id), key, map[string]any{"phone": "+" + owner.Number()})
	code, _ := d["code"].(string)
	if len(code) != 9 {
		t.Fatalf("pair-code = %v", d)
	}
	if err := owner.EnterCode(testCtx(t), code); err != nil {
		t.Fatal(err)
	}
	g.waitStatus(key, id, "CONNECTED")
	if err := owner.EnterCode(testCtx(t), code); !errors.Is(err, fakewa.ErrNoPairing) {
		t.Errorf("a code used twice = %v", err)
	}
}

// TestWhatsmeowGroups: through the API with the whatsmeow engine, a
// device creates a group, sends to it (the members' phones decrypt the
// message), changes its members, reads its invite link, receives a
// member's message, and leaves it.
func TestWhatsmeowGroups(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{})
	owner, alice, bob := srv.Phone("15550000301"), srv.Phone("15550000302"), srv.Phone("15550000303")
	g, key, id, events := pairedWhatsmeowGateway(t, srv, owner, "groups@example.com")

	created := g.must(201, "POST", "/api/groups", key, map[string]any{
		"deviceId": id, "subject": "Team", "participants": []string{"+" + alice.Number(), "15559990000"},
	})
	jid, _ := created["jid"].(string)
	if !strings.HasSuffix(jid, "@g.us") || created["subject"] != "Team" || created["owner"] != owner.Number()+"@s.whatsapp.net" {
		t.Fatalf("created group = %v", created)
	}
	roles := func(group map[string]any) map[string]string {
		out := make(map[string]string)
		parts, _ := group["participants"].([]any)
		for _, p := range parts {
			m := p.(map[string]any)
			role := "member"
			if m["isSuperAdmin"] == true {
				role = "superadmin"
			} else if m["isAdmin"] == true {
				role = "admin"
			}
			out[fmt.Sprint(m["phone"])] = role
		}
		return out
	}
	if got := roles(created); fmt.Sprint(got) != fmt.Sprint(map[string]string{owner.Number(): "superadmin", alice.Number(): "member"}) {
		t.Errorf("participants = %v", got)
	}
	joined := eventData(next(t, events, func(e sseEvent) bool { return e.event == "group.update" }))
	if joined["group"] != jid || joined["joined"] != true || joined["subject"] != "Team" || joined["actorPhone"] != owner.Number() || joined["actorLid"] != owner.LID() {
		t.Errorf("group.update = %v", joined)
	}
	failed, _ := created["failed"].([]any)
	if len(failed) != 1 || failed[0].(map[string]any)["error"] != "not_on_whatsapp" {
		t.Errorf("failed = %v", created["failed"])
	}
	list := g.must(200, "GET", fmt.Sprintf("/api/groups?deviceId=%v", id), key, nil)
	if items, _ := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["jid"] != jid {
		t.Errorf("groups = %v", list)
	}

	// A send to the group: Alice's phone decrypts it; the device sees it
	// delivered.
	r := g.must(202, "POST", "/api/messages/send-text", key, map[string]any{"deviceId": id, "to": jid, "text": "Hello team"})
	sent := g.waitMessage(key, r["id"].(string), "delivered")
	got, err := alice.WaitReceived(testCtx(t), func(m fakewa.Received) bool { return m.ID == sent["waId"] })
	if err != nil || got.Group != jid || got.Text != "Hello team" || got.From != owner.Number() {
		t.Errorf("Alice received %+v, %v", got, err)
	}
	if sent["chat"] != jid {
		t.Errorf("sent message chat = %v, want %s", sent["chat"], jid)
	}

	// Members: Bob joins and becomes an admin; Alice cannot be added twice.
	path := "/api/groups/" + jid + "/participants"
	res := g.must(200, "POST", path, key, map[string]any{"deviceId": id, "action": "add", "participants": []string{bob.Number(), alice.Number()}})
	items, _ := res["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["ok"] != true || items[1].(map[string]any)["error"] != "already_in_group" {
		t.Errorf("add = %v", res)
	}
	added := eventData(next(t, events, func(e sseEvent) bool {
		return e.event == "group.participants" && eventData(e)["action"] == "add"
	}))
	if parts, _ := added["participants"].([]any); added["group"] != jid || len(parts) != 1 || parts[0].(map[string]any)["phone"] != bob.Number() ||
		parts[0].(map[string]any)["lid"] != bob.LID() {
		t.Errorf("group.participants = %v", added)
	}
	g.must(200, "POST", path, key, map[string]any{"deviceId": id, "action": "promote", "participants": []string{bob.Number()}})
	if fg, err := srv.Group(jid); err != nil || fg.Members[bob.Number()] != fakewa.RoleAdmin {
		t.Errorf("WhatsApp's view of the group: %+v, %v", fg, err)
	}
	link := g.must(200, "GET", fmt.Sprintf("/api/groups/%s/invite-link?deviceId=%v", jid, id), key, nil)
	if l, _ := link["link"].(string); !strings.HasPrefix(l, "https://chat.whatsapp.com/") || link["jid"] != jid {
		t.Errorf("invite link = %v", link)
	}

	// A member's message arrives in the group chat.
	waid, err := bob.SendGroupText(testCtx(t), jid, "Bob here")
	if err != nil {
		t.Fatal(err)
	}
	m := inbound(t, g, key, id, waid)
	if m["chat"] != jid || m["isGroup"] != true || m["fromPhone"] != bob.Number() || m["text"] != "Bob here" {
		t.Errorf("inbound group message = %v", m)
	}

	// Leaving: the group is gone from the list and unknown afterwards.
	g.must(200, "POST", "/api/groups/"+jid+"/leave", key, map[string]any{"deviceId": id})
	if items, _ := g.must(200, "GET", fmt.Sprintf("/api/groups?deviceId=%v", id), key, nil)["items"].([]any); len(items) != 0 {
		t.Errorf("groups after leaving = %v", items)
	}
	if r := g.call("GET", fmt.Sprintf("/api/groups/%s/invite-link?deviceId=%v", jid, id), key, nil); r.status != 404 || r.errCode() != "group_not_found" {
		t.Errorf("invite link after leaving = %d %v", r.status, r.body)
	}
	if fg, err := srv.Group(jid); err != nil || len(fg.Members) != 2 || fg.Members[bob.Number()] != fakewa.RoleAdmin {
		t.Errorf("WhatsApp's view after leaving: %+v, %v", fg, err)
	}
}

// TestWhatsmeowPresenceAndCalls: a contact typing and recording, calling,
// and coming online reach the device's event stream as chat.presence,
// call.offer and presence.update.
func TestWhatsmeowPresenceAndCalls(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{})
	owner, cat := srv.Phone("15550000401"), srv.Phone("15550000402")
	g, key, id, events := pairedWhatsmeowGateway(t, srv, owner, "presence@example.com")
	catJID := cat.Number() + "@s.whatsapp.net"

	for _, state := range []string{fakewa.ChatTyping, fakewa.ChatRecording, fakewa.ChatPaused} {
		if err := cat.Typing(testCtx(t), owner.Number(), state); err != nil {
			t.Fatal(err)
		}
		d := eventData(next(t, events, func(e sseEvent) bool { return e.event == "chat.presence" }))
		// The device has not heard of Cat's LID yet: no fromLid.
		if d["state"] != state || d["chat"] != catJID || d["from"] != catJID || d["fromPhone"] != cat.Number() || d["fromLid"] != nil || d["isGroup"] != false {
			t.Errorf("chat.presence = %v; want %s from Cat", d, state)
		}
	}
	// A message from Cat carries Cat's LID: from then on it is known.
	hello, err := cat.SendText(testCtx(t), owner.Number(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	inbound(t, g, key, id, hello)
	if err := cat.Typing(testCtx(t), owner.Number(), fakewa.ChatTyping); err != nil {
		t.Fatal(err)
	}
	if d := eventData(next(t, events, func(e sseEvent) bool { return e.event == "chat.presence" })); d["fromLid"] != cat.LID() || d["fromPhone"] != cat.Number() {
		t.Errorf("chat.presence = %v; want Cat's phone number and LID", d)
	}

	callID, err := cat.Call(testCtx(t), owner.Number(), false)
	if err != nil {
		t.Fatal(err)
	}
	call := eventData(next(t, events, func(e sseEvent) bool { return e.event == "call.offer" }))
	if call["callId"] != callID || call["from"] != catJID || call["fromPhone"] != cat.Number() || call["fromLid"] != cat.LID() || call["isVideo"] != false {
		t.Errorf("call.offer = %v", call)
	}

	// Showing typing to Cat follows Cat's presence.
	g.must(200, "POST", "/api/presence", key, map[string]any{"deviceId": id, "to": cat.Number(), "state": "typing"})
	first := eventData(next(t, events, func(e sseEvent) bool { return e.event == "presence.update" }))
	if first["from"] != catJID || first["available"] != false {
		t.Errorf("presence.update = %v; want Cat offline", first)
	}
	cat.SetOnline(true)
	if d := eventData(next(t, events, func(e sseEvent) bool { return e.event == "presence.update" })); d["available"] != true {
		t.Errorf("presence.update = %v; want Cat online", d)
	}
	cat.SetOnline(false)
	if d := eventData(next(t, events, func(e sseEvent) bool { return e.event == "presence.update" })); d["available"] != false || d["lastSeen"] == nil {
		t.Errorf("presence.update = %v; want Cat offline, with last seen", d)
	}
}

// TestWhatsmeowVoiceDocumentReaction: a voice note, a document and a
// reaction sent through the API with the whatsmeow engine; the contact's
// phone decrypts each and finds what was sent (the audio and the file byte
// for byte, the voice note's duration and waveform, the reacted message).
func TestWhatsmeowVoiceDocumentReaction(t *testing.T) {
	skipWithRealWhatsApp(t)
	srv := fakeWhatsApp(t, fakewa.Config{})
	owner, alice := srv.Phone("15550000501"), srv.Phone("15550000502")
	g, key, id, _ := pairedWhatsmeowGateway(t, srv, owner, "media@example.com")
	received := func(msgID string) fakewa.Received {
		t.Helper()
		waid, _ := g.waitMessage(key, msgID, "delivered")["waId"].(string)
		got, err := alice.WaitReceived(testCtx(t), func(m fakewa.Received) bool { return m.ID == waid })
		if err != nil {
			t.Fatalf("Alice never received %s: %v", msgID, err)
		}
		return got
	}

	voice := fakewa.VoiceNote(3)
	r := g.must(202, "POST", "/api/messages/send-media", key, map[string]any{
		"deviceId": id, "to": alice.Number(), "kind": "voice", "base64": base64.StdEncoding.EncodeToString(voice)})
	got := received(r["id"].(string))
	au := got.Message.GetAudioMessage()
	if got.Type != "audio" || !au.GetPTT() || !strings.HasPrefix(au.GetMimetype(), "audio/ogg") || au.GetSeconds() != 3 || len(au.GetWaveform()) != 64 {
		t.Errorf("voice note = ptt %v, %q, %d s, waveform of %d", au.GetPTT(), au.GetMimetype(), au.GetSeconds(), len(au.GetWaveform()))
	}
	if data, err := alice.Download(got); err != nil || !bytes.Equal(data, voice) {
		t.Errorf("voice note download = %d bytes, %v", len(data), err)
	}

	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	r = g.must(202, "POST", "/api/messages/send-media", key, map[string]any{
		"deviceId": id, "to": alice.Number(), "kind": "document", "base64": base64.StdEncoding.EncodeToString(pdf),
		"filename": "report.pdf", "caption": "Q3 report"})
	got = received(r["id"].(string))
	doc := got.Message.GetDocumentMessage()
	if got.Type != "document" || doc.GetFileName() != "report.pdf" || doc.GetMimetype() != "application/pdf" || doc.GetCaption() != "Q3 report" {
		t.Errorf("document = %q %q %q", doc.GetFileName(), doc.GetMimetype(), doc.GetCaption())
	}
	if data, err := alice.Download(got); err != nil || !bytes.Equal(data, pdf) {
		t.Errorf("document download = %d bytes, %v", len(data), err)
	}

	text := g.must(202, "POST", "/api/messages/send-text", key, map[string]any{"deviceId": id, "to": alice.Number(), "text": "react to me"})
	textWAID := received(text["id"].(string)).ID
	r = g.must(202, "POST", "/api/messages/send-reaction", key, map[string]any{"deviceId": id, "messageId": text["id"], "emoji": "👍"})
	got = received(r["id"].(string))
	if re := got.Message.GetReactionMessage(); got.Type != "reaction" || re.GetText() != "👍" || re.GetKey().GetID() != textWAID || !re.GetKey().GetFromMe() {
		t.Errorf("reaction = %v", got.Message)
	}
}
