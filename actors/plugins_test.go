package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/storage"
)

// addPlugin stores an enabled plugin of the harness's workspace, last in
// the order, seeing message.received only.
func (h *harness) addPlugin(name, source string) storage.Plugin {
	h.t.Helper()
	now := time.Now().UTC()
	p, err := h.db.CreatePlugin(storage.Plugin{WorkspaceID: h.ws, Name: name, Source: source,
		Events: []string{EventMessageReceived}, Enabled: true, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// say has a contact write text to the device.
func (h *harness) say(id int64, text string) {
	h.t.Helper()
	if err := h.gw.SandboxInbound(context.Background(), h.ws, id, engine.SandboxInbound{From: "628111222333", Text: text}); err != nil {
		h.t.Fatal(err)
	}
}

// receivedTexts waits until the log holds n message.received events after
// seq and returns their texts and the whole log after seq.
func (h *harness) receivedTexts(after uint64, n int) ([]string, []storage.Event) {
	h.t.Helper()
	var (
		texts []string
		evs   []storage.Event
	)
	waitFor(h.t, 10*time.Second, func() error {
		var err error
		if evs, err = h.db.ReadEvents(h.ws, after, 10_000); err != nil {
			return err
		}
		texts = texts[:0]
		for _, e := range evs {
			if e.Type == EventMessageReceived {
				var d messageReceivedData
				if err := json.Unmarshal(e.Data, &d); err != nil {
					return err
				}
				texts = append(texts, d.Text)
			}
		}
		if len(texts) < n {
			return fmt.Errorf("%d messages logged, want %d", len(texts), n)
		}
		return nil
	})
	return texts, evs
}

func (h *harness) lastSeq() uint64 {
	h.t.Helper()
	seq, err := h.db.LastEventSeq(h.ws)
	if err != nil {
		h.t.Fatal(err)
	}
	return seq
}

// TestPluginsFilterAndTransformBeforeTheLog: the chain runs in order on
// every event before it is logged: what the first plugin drops is never
// logged nor published, the second one's change is what the log and the
// live subscribers carry, and a plugin added later takes effect on the
// next event without a restart.
func TestPluginsFilterAndTransformBeforeTheLog(t *testing.T) {
	h := newHarness(t)
	d := h.device("phone")
	h.pair(d.ID)
	h.addPlugin("drop-secrets", `function onEvent(event, ctx) {
  return event.data.text.indexOf("secret") >= 0 ? null : event
}`)
	h.addPlugin("shout", `function onEvent(event, ctx) {
  event.data.text = event.data.text.toUpperCase()
  return event
}`)
	sub := h.gw.Subscribe(h.ws, SubscribeFilter{Types: []string{EventMessageReceived}})
	defer sub.Close()
	start := h.lastSeq()

	for _, text := range []string{"hello", "my secret", "bye"} {
		h.say(d.ID, text)
	}
	// Wait for the inbound messages themselves, so that a late dropped
	// event would have been logged by now.
	waitFor(t, 5*time.Second, func() error {
		msgs, _, err := h.db.ListMessages(h.ws, storage.MessageFilter{DeviceID: d.ID, Direction: "in"})
		if err != nil || len(msgs) != 3 {
			return fmt.Errorf("%d inbound messages (%v)", len(msgs), err)
		}
		return nil
	})
	texts, _ := h.receivedTexts(start, 2)
	if !slices.Equal(texts, []string{"HELLO", "BYE"}) {
		t.Fatalf("logged texts %q, want HELLO, BYE", texts)
	}
	for _, want := range texts {
		select {
		case e := <-sub.C:
			var data messageReceivedData
			if err := json.Unmarshal(e.Data, &data); err != nil || data.Text != want {
				t.Fatalf("live event %s, want text %q", e.Data, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no live event for %q", want)
		}
	}
	if s := h.gw.PluginStats(); s.Dropped != 1 || s.Failures != 0 || s.Calls != 5 {
		t.Errorf("stats %+v, want 5 calls, 1 dropped, no failures", s)
	}

	// A plugin added now runs on the next event.
	h.addPlugin("tag", `function onEvent(event, ctx) { event.data.text += "!"; return event }`)
	h.say(d.ID, "again")
	if texts, _ := h.receivedTexts(start, 3); texts[2] != "AGAIN!" {
		t.Errorf("after adding a plugin: %q, want AGAIN!", texts[2])
	}
}

// TestFailingPluginsAreStoppedAndDisabled: a plugin that loops forever,
// recurses without end, builds a huge string or throws fails each call
// within its budget, and every event goes on unchanged (the change the
// plugin made before failing is not kept). After DisableAfter failures in
// a row the plugin is disabled in storage with the reason, a
// plugin.disabled event is logged, it is no longer called, and the
// gateway keeps working.
func TestFailingPluginsAreStoppedAndDisabled(t *testing.T) {
	for _, tt := range []struct {
		name, body, kind string
	}{
		{"infinite-loop", `while (true) {}`, "time budget exceeded"},
		{"deep-recursion", `function down(n) { return down(n + 1) + 1 }
  down(0)`, "call stack too deep"},
		{"huge-repeat", `event.data.big = "x".repeat(1e9)`, "RangeError"},
		{"throws", `throw new Error("boom")`, "boom"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			d := h.device("phone")
			h.pair(d.ID)
			p := h.addPlugin(tt.name, "function onEvent(event, ctx) {\n  event.data.text = \"changed\"\n  "+tt.body+"\n  return event\n}")
			start := h.lastSeq()

			const failures = 5 // scripting.DefaultDisableAfter
			for i := range failures {
				h.say(d.ID, fmt.Sprintf("m%d", i))
				h.receivedTexts(start, i+1) // one at a time: every call fails alone
			}
			var off storage.Plugin
			waitFor(t, 5*time.Second, func() error {
				var err error
				if off, err = h.db.GetPlugin(h.ws, p.ID); err != nil || off.Enabled {
					return fmt.Errorf("plugin enabled=%v (%v)", off.Enabled, err)
				}
				return nil
			})
			if !strings.Contains(off.DisabledReason, tt.kind) || !strings.Contains(off.DisabledReason, "5 times") {
				t.Errorf("disabled reason %q, want it to name %q and 5 failures", off.DisabledReason, tt.kind)
			}

			h.say(d.ID, "after")
			texts, evs := h.receivedTexts(start, failures+1)
			if want := []string{"m0", "m1", "m2", "m3", "m4", "after"}; !slices.Equal(texts, want) {
				t.Errorf("logged texts %q, want %q unchanged", texts, want)
			}
			for _, e := range evs {
				if strings.Contains(string(e.Data), `"big"`) {
					t.Errorf("a failed call's change was kept: %s", e.Data)
				}
			}
			var disabled []pluginDisabledData
			for _, e := range evs {
				if e.Type == EventPluginDisabled {
					var dd pluginDisabledData
					if err := json.Unmarshal(e.Data, &dd); err != nil {
						t.Fatal(err)
					}
					disabled = append(disabled, dd)
				}
			}
			if len(disabled) != 1 || disabled[0].ID != p.ID || disabled[0].Name != tt.name ||
				disabled[0].Failures != failures || disabled[0].Reason != off.DisabledReason {
				t.Errorf("plugin.disabled events %+v, want one for %s with 5 failures", disabled, p.ID)
			}
			if s := h.gw.PluginStats(); s.Calls != failures || s.Failures != failures || s.Disabled != 1 {
				t.Errorf("stats %+v, want 5 calls, 5 failures, 1 disabled", s)
			}
			// The gateway still serves: the device is connected and sends.
			h.waitStatus(d.ID, StatusConnected)
			h.waitMessage(h.sendText(d.ID, "628111222333", "still here"), MessageSent)
		})
	}
}

// TestDisableSparesAChangedPlugin: failures of a version that was edited
// meanwhile do not disable the new version.
func TestDisableSparesAChangedPlugin(t *testing.T) {
	h := newHarness(t)
	p := h.addPlugin("throws", `function onEvent(event, ctx) { throw new Error("boom") }`)
	proc := newPluginProcessor(h.gw)
	st := proc.state(h.ws)
	proc.reload(h.ws, st)
	if _, err := h.db.UpdatePlugin(h.ws, p.ID, func(sp *storage.Plugin) error {
		sp.Source = `function onEvent(event, ctx) { return event }`
		sp.UpdatedAt = sp.UpdatedAt.Add(time.Second)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, ok := proc.disable(h.ws, st, p.ID, p.Name, "failed", 5); ok {
		t.Error("a changed plugin was disabled")
	}
	if got, err := h.db.GetPlugin(h.ws, p.ID); err != nil || !got.Enabled || got.DisabledReason != "" {
		t.Errorf("plugin %+v (%v), want it enabled", got, err)
	}
	if _, ok := proc.disable(h.ws, st, "plg_01J0000000000000000000000", "gone", "failed", 5); ok {
		t.Error("an unknown plugin was disabled")
	}
}

// TestPluginRepliesObeyTheRateLimit: ctx.reply is an ordinary send of the
// device: admitted against its rate limit (the replies past it are
// refused and counted, not retried), quoting the message answered, in
// its chat.
func TestPluginRepliesObeyTheRateLimit(t *testing.T) {
	h := newHarness(t)
	keySeq++
	d, _, err := h.gw.CreateDevice(context.Background(), h.ws,
		DeviceSpec{Name: "phone", Engine: "sim", RateLimit: &storage.RateLimit{Limit: 2, WindowSeconds: 3600}},
		storage.APIKey{Name: "phone", Hash: [32]byte{keySeq}, Prefix: "dev_"})
	if err != nil {
		t.Fatal(err)
	}
	h.pair(d.ID)
	h.addPlugin("echo", `function onEvent(event, ctx) {
  ctx.reply("got " + event.data.text)
  return event
}`)

	const sent = 4
	for i := range sent {
		h.say(d.ID, fmt.Sprintf("q%d", i))
	}
	waitFor(t, 10*time.Second, func() error {
		if s := h.gw.PluginStats(); s.RepliesSent+s.RepliesRefused+s.RepliesFailed < sent {
			return fmt.Errorf("replies so far %+v", s)
		}
		return nil
	})
	if s := h.gw.PluginStats(); s.RepliesSent != 2 || s.RepliesRefused != 2 || s.RepliesFailed != 0 {
		t.Errorf("stats %+v, want 2 replies sent and 2 refused by the 2/h limit", s)
	}
	in, _, err := h.db.ListMessages(h.ws, storage.MessageFilter{DeviceID: d.ID, Direction: "in"})
	if err != nil {
		t.Fatal(err)
	}
	inByID := map[string]storage.Message{}
	for _, m := range in {
		inByID[m.ID] = m
	}
	out, _, err := h.db.ListMessages(h.ws, storage.MessageFilter{DeviceID: d.ID, Direction: "out"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 {
		t.Fatalf("%d replies stored, want 2", len(out))
	}
	for _, m := range out {
		q, ok := inByID[m.QuotedID]
		if !ok || m.Text != "got "+q.Text || m.Chat != q.Chat {
			t.Errorf("reply %q to %s quoting %q; want it to answer a received message in its chat", m.Text, m.Chat, m.QuotedID)
		}
	}
	// The limit is the device's: an API send is refused as well.
	if _, err := h.gw.Send(context.Background(), h.ws, SendRequest{DeviceID: d.ID, To: engine.UserJID("628111222333"),
		Type: engine.TypeText, Text: "x"}); err == nil {
		t.Error("a send past the limit was admitted")
	}
}
