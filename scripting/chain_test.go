package scripting

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func chainOf(t *testing.T, specs ...Spec) *Chain {
	t.Helper()
	var ps []*Plugin
	for _, s := range specs {
		p, err := Compile(s, roomy)
		if err != nil {
			t.Fatalf("compile %s: %v", s.Name, err)
		}
		ps = append(ps, p)
	}
	return NewChain(ps, ChainOptions{Now: func() time.Time { return testNow }})
}

func event(id, typ string, device int64, data string) Event {
	return Event{ID: id, Type: typ, CreatedAt: testNow, WorkspaceID: 7, DeviceID: device, Data: json.RawMessage(data)}
}

// summary lists events as "id type data" lines.
func summary(evs []Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.ID + " " + e.Type + " " + string(e.Data) + "\n")
	}
	return b.String()
}

func TestChainOrderAndFilters(t *testing.T) {
	chain := chainOf(t,
		Spec{ID: "plg_a", Name: "tag", Source: `function onEvent(e) { e.data.seen = (e.data.seen || "") + "a"; return e }`},
		Spec{ID: "plg_b", Name: "only acks", Events: []string{"message.ack"}, Source: `function onEvent(e) { e.data.seen += "b"; return e }`},
		Spec{ID: "plg_c", Name: "device 4", DeviceID: 4, Source: `function onEvent(e) { e.data.seen += "c"; return e }`},
		Spec{ID: "plg_d", Name: "everything", Events: []string{"*"}, Source: `function onEvent(e) { e.data.seen += "d"; return e }`},
	)
	in := []Event{
		event("evt_1", "message.received", 3, `{}`),
		event("evt_2", "message.ack", 3, `{}`),
		event("evt_3", "message.ack", 4, `{}`),
	}
	out, replies, rep := chain.Apply(context.Background(), in)
	want := "evt_1 message.received {\"seen\":\"ad\"}\nevt_2 message.ack {\"seen\":\"abd\"}\nevt_3 message.ack {\"seen\":\"abcd\"}\n"
	if got := summary(out); got != want {
		t.Errorf("got\n%s want\n%s", got, want)
	}
	if len(replies) != 0 || rep.Calls != 9 || rep.Dropped != 0 || len(rep.Failures) != 0 {
		t.Errorf("replies %v, report %+v", replies, rep)
	}
}

func TestChainDropSplitAndReplies(t *testing.T) {
	chain := chainOf(t,
		Spec{ID: "plg_drop", Name: "drop groups", Source: `function onEvent(e) { return e.data.isGroup ? null : e }`},
		Spec{ID: "plg_split", Name: "split", Source: `function onEvent(e, ctx) {
			if (e.data.text === "hello") ctx.reply("hi there")
			return [e, {type: "custom.audit", data: {of: e.id}}]
		}`},
		Spec{ID: "plg_tag", Name: "tag", Source: `function onEvent(e) { e.data.tagged = true; return e }`},
	)
	in := []Event{
		event("evt_1", "message.received", 3, `{"chat":"g@g.us","isGroup":true}`),
		event("evt_2", "message.received", 3, `{"id":"msg_2","chat":"62811@s.whatsapp.net","text":"hello"}`),
	}
	out, replies, rep := chain.Apply(context.Background(), in)
	want := "evt_2 message.received {\"id\":\"msg_2\",\"chat\":\"62811@s.whatsapp.net\",\"text\":\"hello\",\"tagged\":true}\n" +
		" custom.audit {\"of\":\"evt_2\",\"tagged\":true}\n"
	if got := summary(out); got != want {
		t.Errorf("got\n%s want\n%s", got, want)
	}
	if rep.Dropped != 1 || rep.Calls != 5 || len(rep.Failures) != 0 {
		t.Errorf("report %+v", rep)
	}
	if len(replies) != 1 || replies[0].Text != "hi there" || replies[0].PluginID != "plg_split" || replies[0].InReplyTo != "msg_2" {
		t.Errorf("replies %+v", replies)
	}
}

func TestChainSplitLimit(t *testing.T) {
	chain := chainOf(t,
		Spec{ID: "plg_1", Name: "x4", Source: `function onEvent(e) { return [e, e, e, e] }`},
		Spec{ID: "plg_2", Name: "x4 again", Source: `function onEvent(e) { return [e, e, e, e] }`},
	)
	out, _, rep := chain.Apply(context.Background(), []Event{event("evt_1", "t", 3, `{}`)})
	// 4 × 4 = 16 is the limit, reached exactly.
	if len(out) != 16 || len(rep.Failures) != 0 {
		t.Fatalf("%d events, failures %v", len(out), rep.Failures)
	}
	chain = chainOf(t,
		Spec{ID: "plg_1", Name: "x5", Source: `function onEvent(e) { return [e, e, e, e, e] }`},
		Spec{ID: "plg_2", Name: "x4", Source: `function onEvent(e) { return [e, e, e, e] }`},
	)
	out, _, rep = chain.Apply(context.Background(), []Event{event("evt_1", "t", 3, `{}`)})
	// 5 events, each split in 4 while the rest wait: the fourth and fifth
	// calls would pass 16 and fail, leaving their event as it was.
	if len(out) != 14 || len(rep.Failures) != 2 || !errors.Is(rep.Failures[0].Err, ErrOutput) {
		t.Fatalf("%d events, failures %+v", len(out), rep.Failures)
	}
}

// TestChainDisablesAfterFailuresInARow: a plugin failing 5 times in a row
// is reported for disabling and no longer called; a success in between
// resets its count; events always go on.
func TestChainDisablesAfterFailuresInARow(t *testing.T) {
	chain := chainOf(t,
		Spec{ID: "plg_flaky", Name: "flaky", Source: `function onEvent(e) { if (e.data.fail) throw new Error("nope"); e.data.flaky = true; return e }`},
		Spec{ID: "plg_ok", Name: "ok", Source: `function onEvent(e) { e.data.ok = true; return e }`},
	)
	apply := func(fail bool) ([]Event, Report) {
		t.Helper()
		data := `{"fail":false}`
		if fail {
			data = `{"fail":true}`
		}
		out, _, rep := chain.Apply(context.Background(), []Event{event("evt_x", "t", 3, data)})
		if len(out) != 1 {
			t.Fatalf("%d events", len(out))
		}
		return out, rep
	}
	for range 4 {
		out, rep := apply(true)
		if len(rep.Failures) != 1 || len(rep.Disable) != 0 || string(out[0].Data) != `{"fail":true,"ok":true}` {
			t.Fatalf("failure: %+v, data %s", rep, out[0].Data)
		}
	}
	if _, rep := apply(false); len(rep.Failures) != 0 {
		t.Fatalf("success: %+v", rep)
	}
	for i := range 5 {
		_, rep := apply(true)
		if i < 4 && len(rep.Disable) != 0 {
			t.Fatalf("disabled after %d failures in a row", i+1)
		}
		if i == 4 {
			if len(rep.Disable) != 1 || rep.Disable[0].PluginID != "plg_flaky" || rep.Disable[0].Failures != 5 ||
				!strings.Contains(rep.Disable[0].Err.Message, "nope") {
				t.Fatalf("disable: %+v", rep.Disable)
			}
		}
	}
	if chain.Len() != 1 {
		t.Errorf("chain still calls %d plugins", chain.Len())
	}
	out, rep := apply(false)
	if rep.Calls != 1 || string(out[0].Data) != `{"fail":false,"ok":true}` || len(rep.Disable) != 0 {
		t.Errorf("after disabling: calls %d, data %s, %+v", rep.Calls, out[0].Data, rep)
	}
}

func TestChainSkipsInvalidEventsWithoutCounting(t *testing.T) {
	chain := chainOf(t, Spec{ID: "plg_1", Name: "p", Source: `function onEvent(e) { return null }`})
	for range 10 {
		out, _, rep := chain.Apply(context.Background(), []Event{event("evt_1", "t", 3, `[1,2]`)})
		if len(out) != 1 || rep.Skipped != 1 || len(rep.Failures) != 0 || len(rep.Disable) != 0 {
			t.Fatalf("out %d, report %+v", len(out), rep)
		}
	}
}

func TestChainStopsWhenContextEnds(t *testing.T) {
	chain := chainOf(t, Spec{ID: "plg_1", Name: "drop", Source: `function onEvent(e) { return null }`})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, _, rep := chain.Apply(ctx, []Event{event("evt_1", "t", 3, `{}`)})
	if len(out) != 1 || rep.Calls != 0 {
		t.Errorf("out %d, calls %d", len(out), rep.Calls)
	}
}
