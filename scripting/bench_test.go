package scripting

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// benchEvent is a typical inbound text message.
func benchEvent() Event {
	return Event{
		ID: "evt_01JD8X2T3Q4W5E6R7T8Y9U0I1O", Type: "message.received",
		CreatedAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC), WorkspaceID: 1, DeviceID: 3,
		Data: json.RawMessage(`{"id":"msg_01JD8X2T3Q4W5E6R7T8Y9U0I1P","chat":"628111222333@s.whatsapp.net",` +
			`"from":"628111222333@s.whatsapp.net","fromPhone":"628111222333","pushName":"Budi","isGroup":false,` +
			`"fromMe":false,"timestamp":"2025-03-01T09:30:00Z","type":"text","text":"Halo, saya mau pesan dua kopi susu untuk besok pagi"}`),
	}
}

// BenchmarkChainApply measures one event through a chain of one plugin
// (a transform that reads and writes the data) and of three.
func BenchmarkChainApply(b *testing.B) {
	const transform = `function onEvent(event, ctx) {
		if (event.data.isGroup) return null;
		event.data.text = event.data.text.toUpperCase();
		event.data.tagged = true;
		return event;
	}`
	for _, n := range []int{1, 3} {
		b.Run(map[int]string{1: "one", 3: "three"}[n], func(b *testing.B) {
			var ps []*Plugin
			for range n {
				// A roomy budget: a loaded machine must not fail the run.
				p, err := Compile(Spec{Name: "transform", Source: transform}, Limits{Budget: time.Second})
				if err != nil {
					b.Fatal(err)
				}
				ps = append(ps, p)
			}
			chain := NewChain(ps, ChainOptions{})
			events := []Event{benchEvent()}
			b.ReportAllocs()
			for b.Loop() {
				out, _, rep := chain.Apply(context.Background(), events)
				if len(out) != 1 || len(rep.Failures) > 0 {
					b.Fatalf("out %d, failures %v", len(out), rep.Failures)
				}
			}
		})
	}
}
