package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/live"
	"github.com/wa-gateway/wa-gateway/storage"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// The release check against the real WhatsApp (README, "Release check").
const (
	liveTestEnv   = "WA_GATEWAY_LIVE_TEST"    // "1" runs TestLive*
	liveTestTo    = "WA_GATEWAY_LIVE_TO"      // phone number to send the test message to
	liveTestData  = "WA_GATEWAY_LIVE_DATA"    // optional: keep the pairing in this directory between runs
	liveTestLevel = "WA_GATEWAY_LIVE_VERBOSE" // "1" shows whatsmeow's logs
)

// TestLiveSendToRealWhatsApp pairs with a real phone (QR code printed in
// the terminal), sends one message to WA_GATEWAY_LIVE_TO and checks that
// WhatsApp acknowledged it. Run it alone (-run TestLive): the fake
// WhatsApp of the other tests replaces whatsmeow's root key.
func TestLiveSendToRealWhatsApp(t *testing.T) {
	if os.Getenv(liveTestEnv) != "1" {
		t.Skipf("talks to the real WhatsApp; set %s=1 and %s to run it", liveTestEnv, liveTestTo)
	}
	to, err := engine.NormalizePhone(os.Getenv(liveTestTo))
	if err != nil {
		t.Fatalf("%s: %v", liveTestTo, err)
	}
	dir := os.Getenv(liveTestData)
	if dir == "" {
		dir = t.TempDir()
	}
	level := slog.LevelWarn
	if os.Getenv(liveTestLevel) == "1" {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	db, err := storage.Open(dir, storage.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys, err := wastore.New(db, log)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := live.New(context.Background(), live.Config{Logger: log, Store: keys})
	if err != nil {
		t.Fatal(err)
	}

	events := make(chan engine.Event, 64)
	sess, err := eng.Open(context.Background(), 1, func(ev engine.Event) { events <- ev })
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := sess.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(os.Stderr, "Link a device in WhatsApp on your phone (Settings → Linked devices) and scan:")
	var c engine.Connected
wait:
	for {
		select {
		case ev := <-events:
			switch e := ev.(type) {
			case engine.QR:
				q, err := qrcode.New(e.Code, qrcode.Low)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintln(os.Stderr, q.ToSmallString(false))
			case engine.Connected:
				c = e
				break wait
			case engine.QRTimeout, engine.LoggedOut, engine.TemporaryBan, engine.ClientOutdated, engine.StreamReplaced, engine.Disconnected:
				t.Fatalf("no login: %T %+v", ev, ev)
			}
		case <-ctx.Done():
			t.Fatal("no login within 4 minutes")
		}
	}
	t.Logf("logged in as %s (LID %s)", c.Phone, c.LID)

	res, err := sess.Send(ctx, engine.OutMessage{WAID: sess.NewMessageID(), To: engine.UserJID(to), Type: engine.TypeText,
		Text: "WA Gateway release check " + time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if res.WAID == "" || res.ServerTime.IsZero() {
		t.Fatalf("WhatsApp's answer = %+v", res)
	}
	t.Logf("sent %s, acknowledged at %s", res.WAID, res.ServerTime)
	// A delivery receipt follows when the recipient's phone is online.
	select {
	case ev := <-events:
		t.Logf("then: %T %+v", ev, ev)
	case <-time.After(10 * time.Second):
	}
}
