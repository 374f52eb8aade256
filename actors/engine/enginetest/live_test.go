package enginetest_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/enginetest"
	"github.com/wa-gateway/wa-gateway/actors/engine/fakewa"
	"github.com/wa-gateway/wa-gateway/actors/engine/live"
	"github.com/wa-gateway/wa-gateway/storage"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// liveWorld plays WhatsApp for the live engine through the fake server:
// each device is paired by its own account's phone.
type liveWorld struct {
	srv     *fakewa.Server
	contact *fakewa.Phone
}

func (w *liveWorld) phone(d *enginetest.Device) *fakewa.Phone {
	return w.srv.Phone(fmt.Sprintf("1555000%04d", d.ID))
}

// device is the companion JID the device's account lists last.
func (w *liveWorld) device(d *enginetest.Device) (string, error) {
	devs := w.phone(d).Devices()
	if len(devs) == 0 {
		return "", fmt.Errorf("device %d is not paired", d.ID)
	}
	return devs[len(devs)-1], nil
}

func (w *liveWorld) Pair(ctx context.Context, d *enginetest.Device, qr engine.QR) error {
	return w.phone(d).ScanQR(ctx, qr.Code)
}

func (w *liveWorld) Contact() string       { return w.contact.Number() }
func (w *liveWorld) NotOnWhatsApp() string { return "15559990000" }

func (w *liveWorld) Inbound(ctx context.Context, d *enginetest.Device, text string) error {
	_, err := w.contact.SendText(ctx, w.phone(d).Number(), text)
	return err
}

func (w *liveWorld) Received(ctx context.Context, _ *enginetest.Device, waid string) (string, error) {
	r, err := w.contact.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == waid })
	return r.Text, err
}

func (w *liveWorld) GroupReceived(ctx context.Context, _ *enginetest.Device, group engine.JID, waid string) (string, error) {
	r, err := w.contact.WaitReceived(ctx, func(r fakewa.Received) bool { return r.ID == waid && r.Group == group.String() })
	return r.Text, err
}

func (w *liveWorld) Fault(ctx context.Context, d *enginetest.Device, kind string) error {
	jid, err := w.device(d)
	if err != nil {
		return err
	}
	switch kind {
	case engine.FaultDisconnect:
		return w.srv.Drop(jid)
	case engine.FaultLogout:
		return w.phone(d).Unlink(jid)
	case engine.FaultBan:
		return w.srv.Ban(jid, 101, time.Hour)
	case engine.FaultStreamReplaced:
		return w.srv.Replace(jid)
	}
	return fmt.Errorf("unknown fault %q", kind)
}

func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn + 4 // whatsmeow's errors on dropped sockets are expected here
	if os.Getenv("WA_GATEWAY_TEST_DEBUG") != "" {
		level = wastore.LevelTrace
	}
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
}

func TestLive(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) *enginetest.Setup {
		srv, err := fakewa.New(fakewa.Config{Logger: testLogger(t), AutoRead: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		dir := t.TempDir()
		var db *storage.DB
		open := func(t *testing.T) engine.Engine {
			var err error
			if db, err = storage.Open(dir, storage.Options{Logger: testLogger(t), CacheSize: 1 << 20}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			c, err := wastore.New(db, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			eng, err := live.New(context.Background(), live.Config{
				Logger: testLogger(t), Store: c, HTTPClient: srv.HTTPClient(), MediaHTTPClient: srv.HTTPClient(),
			})
			if err != nil {
				t.Fatal(err)
			}
			return eng
		}
		w := &liveWorld{srv: srv, contact: srv.Phone("15551230001")}
		return &enginetest.Setup{
			Engine: open(t),
			World:  w,
			Restart: func(t *testing.T) engine.Engine {
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
				return open(t)
			},
		}
	})
}
