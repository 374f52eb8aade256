package enginetest_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/enginetest"
	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
)

// simWorld plays WhatsApp for the simulator through its sandbox.
type simWorld struct{ eng *sim.Engine }

func sandbox(d *enginetest.Device) engine.Sandbox { return d.Session.(engine.Sandbox) }

func (w *simWorld) Pair(ctx context.Context, d *enginetest.Device, _ engine.QR) error {
	return sandbox(d).Scan(ctx)
}

func (w *simWorld) Contact() string       { return "15551230001" }
func (w *simWorld) NotOnWhatsApp() string { return "99912345678" }

func (w *simWorld) Inbound(ctx context.Context, d *enginetest.Device, text string) error {
	return sandbox(d).Inbound(ctx, engine.SandboxInbound{From: w.Contact(), PushName: "Contact", Text: text})
}

func (w *simWorld) Received(ctx context.Context, d *enginetest.Device, waid string) (string, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, m := range w.eng.Sent(d.ID) {
			if m.WAID == waid {
				return m.Text, nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (w *simWorld) GroupReceived(ctx context.Context, d *enginetest.Device, group engine.JID, waid string) (string, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, m := range w.eng.Sent(d.ID) {
			if m.WAID == waid && m.To == group {
				return m.Text, nil
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (w *simWorld) Fault(ctx context.Context, d *enginetest.Device, kind string) error {
	return sandbox(d).Fault(ctx, kind)
}

func TestSimulator(t *testing.T) {
	enginetest.Run(t, func(t *testing.T) *enginetest.Setup {
		store := sim.NewMemoryStore()
		newEngine := func() *sim.Engine {
			return sim.New(sim.Config{
				Store: store, Logger: slog.New(slog.DiscardHandler),
				ConnectDelay: 5 * time.Millisecond, AckDelay: 10 * time.Millisecond, ReadDelay: 10 * time.Millisecond,
			})
		}
		w := &simWorld{eng: newEngine()}
		return &enginetest.Setup{
			Engine: w.eng,
			World:  w,
			Restart: func(*testing.T) engine.Engine {
				w.eng = newEngine()
				return w.eng
			},
		}
	})
}
