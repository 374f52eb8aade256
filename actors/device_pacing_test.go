package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// The device actor driving its pacer, end to end through the facade and
// the simulator, inside a testing/synctest bubble: the pacer's timer, the
// simulator's delays and every timestamp run on the bubble's clock, so
// hours of pacing pass at once and the times they leave are exact.

// inBubble runs f with a harness inside a synctest bubble.
func inBubble(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Helper()
	bubble(t, func(t *testing.T) { f(t, newHarness(t)) })
}

// bubble is synctest.Test with pebble's pools emptied before and after.
// Pebble keeps sstable write tasks, each with a channel, in a sync.Pool;
// a channel made inside one bubble must not be used outside it or in
// another (the runtime aborts), so a task a flush pooled inside a bubble
// must be gone before the next flush elsewhere. Two collections empty a
// sync.Pool.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	runtime.GC()
	runtime.GC()
	synctest.Test(t, f)
	runtime.GC()
	runtime.GC()
}

// settle lets the bubble's clock run for d and waits until everything due
// by then is done.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// setPacing patches the device's pacing settings.
func (h *harness) setPacing(id int64, patch string) storage.Device {
	h.t.Helper()
	d, err := h.gw.UpdateDevice(context.Background(), h.ws, id, DevicePatch{Pacing: json.RawMessage(patch)})
	if err != nil {
		h.t.Fatalf("pacing %s: %v", patch, err)
	}
	return d
}

// sendText admits a text and returns its id.
func (h *harness) sendText(id int64, to, text string) string {
	h.t.Helper()
	res, err := h.gw.Send(context.Background(), h.ws, SendRequest{DeviceID: id, To: engine.UserJID(to), Type: engine.TypeText, Text: text})
	if err != nil {
		h.t.Fatalf("send to %s: %v", to, err)
	}
	return res.Message.ID
}

// inbound plays a contact writing to the device, and waits until it is stored.
func (h *harness) inbound(id int64, from string) {
	h.t.Helper()
	if err := h.gw.SandboxInbound(context.Background(), h.ws, id, engine.SandboxInbound{From: from, Text: "hello"}); err != nil {
		h.t.Fatal(err)
	}
	synctest.Wait()
}

// messages returns the stored messages by id.
func (h *harness) messages(ids ...string) []storage.Message {
	h.t.Helper()
	out := make([]storage.Message, len(ids))
	for i, id := range ids {
		m, err := h.gw.Message(context.Background(), h.ws, id)
		if err != nil {
			h.t.Fatal(err)
		}
		out[i] = m
	}
	return out
}

func (h *harness) queue(id int64) QueueView {
	h.t.Helper()
	v, err := h.gw.Queue(context.Background(), h.ws, id, MaxQueueView)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

func statuses(ms []storage.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Status
	}
	return out
}

func sentTo(s *sim.Engine, id int64) []string {
	var out []string
	for _, m := range s.Sent(id) {
		out = append(out, m.To.User)
	}
	return out
}

// TestPacedSendsKeepGapsAndType: on the balanced profile every send
// shows "typing…" for a time that fits its text, and consecutive sends
// are a random gap apart, within the profile's bounds and never all alike.
// (A longer text starts typing earlier, so it may overtake a shorter one
// to another chat.)
func TestPacedSendsKeepGapsAndType(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		d := h.device("paced")
		h.pair(d.ID)
		// Balanced, minus the limits other tests cover.
		h.setPacing(d.ID, `{"profile":"balanced","warmupDays":0,"checkNumbers":false,"firstContactsPerDay":0}`)
		s := pacing.Preset(pacing.ProfileBalanced)

		const n = 12
		var ids []string
		texts := map[string]string{} // by phone
		for i := range n {
			phone := fmt.Sprintf("4915100000%02d", i)
			text := fmt.Sprintf("Order %d is ready.", i) + strings.Repeat("!", i)
			texts[phone] = text
			ids = append(ids, h.sendText(d.ID, phone, text))
		}
		settle(time.Duration(n) * (time.Duration(s.GapMax) + time.Duration(s.TypingMax)))

		ms := h.messages(ids...)
		for _, m := range ms {
			if m.Status == MessageQueued || m.Status == MessageFailed {
				t.Fatalf("after the pacing of %d sends: statuses %v", n, statuses(ms))
			}
		}
		if got := sentTo(h.sim, d.ID); len(got) != n {
			t.Fatalf("the contacts got %v", got)
		}
		slices.SortFunc(ms, func(a, b storage.Message) int { return a.SentAt.Compare(b.SentAt) })
		gaps := map[time.Duration]bool{}
		for i := 1; i < n; i++ {
			gap := ms[i].SentAt.Sub(ms[i-1].SentAt)
			gaps[gap] = true
			if gap < time.Duration(s.GapMin) || gap > time.Duration(s.GapMax) {
				t.Errorf("gap %d = %v, want within [%v, %v]", i, gap, s.GapMin, s.GapMax)
			}
		}
		if len(gaps) < 2 {
			t.Errorf("every gap was the same: %v", gaps)
		}

		typing := map[string]sim.PresenceSent{}
		for _, p := range h.sim.Presences(d.ID) {
			if p.State != engine.ChatTyping {
				t.Errorf("presence %+v, want typing only", p)
			}
			if _, dup := typing[p.Chat.User]; dup {
				t.Errorf("typing shown twice in %s", p.Chat)
			}
			typing[p.Chat.User] = p
		}
		for _, m := range ms {
			phone := strings.TrimSuffix(m.To, "@s.whatsapp.net")
			p, ok := typing[phone]
			if !ok {
				t.Errorf("no typing before the message to %s", phone)
				continue
			}
			// 40 words a minute, a word being five characters, ±30 %, within
			// the profile's bounds.
			base := time.Duration(utf8.RuneCountInString(texts[phone])) * 12 * time.Second / time.Duration(s.TypingWPM)
			tmin, tmax := time.Duration(s.TypingMin), time.Duration(s.TypingMax)
			lo := max(time.Duration(float64(min(base, tmax))*(1-s.TypingJitter)), tmin)
			hi := min(time.Duration(float64(max(base, tmin))*(1+s.TypingJitter)), tmax)
			if shown := m.SentAt.Sub(p.At); shown < lo || shown > hi {
				t.Errorf("typing for %s shown %v before the send, want within [%v, %v]", phone, shown, lo, hi)
			}
		}
	})
}

// TestChatSpacingRelaxesOnReply: two messages to a chat are at least its
// spacing apart, a message to another chat overtakes one that waits for
// its chat, and once the contact replied the spacing is the shorter one.
func TestChatSpacingRelaxesOnReply(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		d := h.device("spaced")
		h.pair(d.ID)
		h.setPacing(d.ID, `{"profile":"balanced","gapMin":"1s","gapMax":"1s","typingWpm":0,"warmupDays":0,"checkNumbers":false,"firstContactsPerDay":0}`)
		s := pacing.Preset(pacing.ProfileBalanced)

		a1 := h.sendText(d.ID, "4915111111111", "one")
		a2 := h.sendText(d.ID, "4915111111111", "two")
		b1 := h.sendText(d.ID, "4915122222222", "other chat")
		a3 := h.sendText(d.ID, "4915111111111", "three")
		settle(5 * time.Minute)
		ms := h.messages(a1, a2, b1, a3)
		if got := statuses(ms); slices.Contains(got, MessageQueued) {
			t.Fatalf("statuses %v", got)
		}
		spacing := time.Duration(s.ChatSpacing)
		for i, pair := range [][2]storage.Message{{ms[0], ms[1]}, {ms[1], ms[3]}} {
			if gap := pair[1].SentAt.Sub(pair[0].SentAt); gap < spacing || gap > spacing+time.Second {
				t.Errorf("same chat, sends %d and %d: %v apart, want the spacing %v", i+1, i+2, gap, spacing)
			}
		}
		if !ms[2].SentAt.Before(ms[1].SentAt) {
			t.Errorf("the other chat's message went at %v, after the waiting one (%v)", ms[2].SentAt, ms[1].SentAt)
		}

		// The contact replies: within the reply window, the shorter spacing.
		h.inbound(d.ID, "4915111111111")
		a4 := h.sendText(d.ID, "4915111111111", "four")
		a5 := h.sendText(d.ID, "4915111111111", "five")
		settle(5 * time.Minute)
		ms = h.messages(a4, a5)
		relaxed := time.Duration(s.ChatSpacingReplied)
		if gap := ms[1].SentAt.Sub(ms[0].SentAt); gap < relaxed || gap >= spacing {
			t.Errorf("after a reply, sends %v apart; want at least %v and under %v", gap, relaxed, spacing)
		}
	})
}

// TestDailyCapRampsUp: on its first day a new device sends only the
// warm-up's share of its cap; the rest waits, the queue says why and
// until when, and goes when the ramp allows.
func TestDailyCapRampsUp(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		d := h.device("warming")
		h.pair(d.ID)
		// A cap of 100 ramping over 10 days from 10 %: 10 today, 12 tomorrow.
		d = h.setPacing(d.ID, `{"profile":"balanced","gapMin":"1s","gapMax":"1s","typingWpm":0,"checkNumbers":false,"firstContactsPerDay":0,`+
			`"chatSpacing":"0s","chatSpacingReplied":"0s","dailyCap":100,"warmupDays":10,"warmupStartPercent":10}`)

		var ids []string
		for i := range 14 {
			ids = append(ids, h.sendText(d.ID, fmt.Sprintf("49151000001%02d", i), "hello"))
		}
		settle(time.Hour)
		if got := len(h.sim.Sent(d.ID)); got != 10 {
			t.Fatalf("on day one %d sent, want 10", got)
		}
		v := h.queue(d.ID)
		st := v.Pacing
		if st.Sent24h != 10 || st.DailyCap != 10 || st.WarmupDay != 0 || !st.Warming || v.Depth != 4 || len(v.Items) != 4 {
			t.Fatalf("queue = depth %d, items %d, pacing %+v", v.Depth, len(v.Items), st)
		}
		// The ramp raises the cap to 12 when day two starts: two go then
		// (a gap apart); the others when the hour of the first sends leaves
		// the window, 25 hours after it began.
		dayTwo := d.CreatedAt.Add(24 * time.Hour)
		slotsBack := d.CreatedAt.Truncate(time.Hour).Add(25 * time.Hour)
		if v.Items[0].Reason != string(pacing.ReasonDailyCap) {
			t.Errorf("the first waits for %q, want daily_cap", v.Items[0].Reason)
		}
		for i, it := range v.Items {
			from, to := dayTwo, dayTwo.Add(2*time.Second)
			if i >= 2 {
				from, to = slotsBack, slotsBack.Add(2*time.Second)
			}
			if it.At.Before(from) || it.At.After(to) {
				t.Errorf("item %d expected at %v, want within [%v, %v]", i, it.At, from, to)
			}
		}
		settle(time.Until(dayTwo.Add(time.Minute)))
		if got := len(h.sim.Sent(d.ID)); got != 12 {
			t.Fatalf("at the start of day two %d sent, want 12", got)
		}
		settle(24 * time.Hour)
		if got := len(h.sim.Sent(d.ID)); got != 14 {
			t.Fatalf("a day later %d sent, want all 14", got)
		}
	})
}

// TestFirstContactBudget: new numbers are checked before the first
// message and counted against the day's budget, a number not on WhatsApp
// fails unsent (and still counts), and a chat with history overtakes the
// new numbers that wait.
func TestFirstContactBudget(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		d := h.device("reaching")
		h.pair(d.ID)
		h.setPacing(d.ID, `{"profile":"balanced","gapMin":"1s","gapMax":"1s","typingWpm":0,"warmupDays":0,"firstContactsPerDay":3,`+
			`"chatSpacing":"0s","chatSpacingReplied":"0s"}`)
		h.inbound(d.ID, "4915199999999") // a contact who wrote first

		nowhere := h.sendText(d.ID, "99912345678", "hello?")
		var fresh []string
		for i := range 4 {
			fresh = append(fresh, h.sendText(d.ID, fmt.Sprintf("491512000000%d", i), "hello"))
		}
		known := h.sendText(d.ID, "4915199999999", "hi again")
		settle(10 * time.Minute)

		m := h.messages(nowhere)[0]
		if m.Status != MessageFailed || m.Error == nil || m.Error.Code != "not_on_whatsapp" {
			t.Fatalf("message to a number not on WhatsApp: %+v", m)
		}
		got := statuses(h.messages(append(fresh, known)...))
		want := []string{MessageRead, MessageRead, MessageQueued, MessageQueued, MessageRead}
		if !slices.Equal(got, want) {
			t.Fatalf("statuses %v, want %v (the check of the unknown number took a slot)", got, want)
		}
		if to := sentTo(h.sim, d.ID); !slices.Equal(to, []string{"4915120000000", "4915120000001", "4915199999999"}) {
			t.Errorf("the contacts got %v", to)
		}
		v := h.queue(d.ID)
		if v.Pacing.FirstContacts24h != 3 || v.Pacing.FirstContactCap != 3 {
			t.Errorf("pacing %+v", v.Pacing)
		}
		if len(v.Items) != 2 || v.Items[0].Reason != string(pacing.ReasonFirstContacts) {
			t.Fatalf("queue items %+v, want two waiting for first_contacts", v.Items)
		}
		for _, it := range v.Items {
			if !it.At.After(time.Now().Add(23 * time.Hour)) {
				t.Errorf("%s expected at %v, want about a day later", it.Message.To, it.At)
			}
		}
		settle(26 * time.Hour)
		if got := statuses(h.messages(fresh...)); slices.Contains(got, MessageQueued) {
			t.Errorf("a day later: %v", got)
		}
	})
}

// TestTemporaryBanPausesSending: a ban pauses sending until it expires,
// whatever the profile; the status and the queue say so; after it the
// device connects and the queue goes out.
func TestTemporaryBanPausesSending(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		d := h.device("banned") // a sandbox device: pacing off
		h.pair(d.ID)
		synctest.Wait() // earlier events are published before the subscription
		sub := h.gw.Subscribe(h.ws, SubscribeFilter{DeviceID: d.ID, Types: []string{EventDeviceStatus}})
		defer sub.Close()
		bannedAt := time.Now()
		if err := h.gw.SandboxFault(ctx, h.ws, d.ID, engine.FaultBan); err != nil {
			t.Fatal(err)
		}
		got := h.waitStatus(d.ID, StatusTempBanned)
		if got.StatusReason != ReasonTemporaryBan {
			t.Fatalf("banned device: %+v", got)
		}
		id := h.sendText(d.ID, "4915133333333", "after the ban")
		v := h.queue(d.ID)
		if len(v.Pacing.Pauses) != 1 || v.Pacing.Pauses[0].Reason != pacing.PauseTemporaryBan ||
			!v.Pacing.Pauses[0].Until.Equal(bannedAt.Add(sim.DefaultBanDuration)) {
			t.Fatalf("pauses %+v, want the ban until it expires", v.Pacing.Pauses)
		}
		if len(v.Items) != 1 || v.Items[0].Reason != "not_connected" {
			t.Errorf("queue items %+v", v.Items)
		}
		// Connecting during the ban is refused again.
		if _, err := h.gw.Connect(ctx, h.ws, d.ID); err != nil {
			t.Fatal(err)
		}
		settle(time.Minute)
		if m := h.messages(id)[0]; m.Status != MessageQueued {
			t.Fatalf("during the ban: %s", m.Status)
		}
		settle(sim.DefaultBanDuration)
		if _, err := h.gw.Connect(ctx, h.ws, d.ID); err != nil {
			t.Fatal(err)
		}
		h.waitStatus(d.ID, StatusConnected)
		settle(time.Second)
		if m := h.messages(id)[0]; messageRank(m.Status) < messageRank(MessageSent) {
			t.Fatalf("after the ban: %s", m.Status)
		}
		if got := h.queue(d.ID).Pacing.Pauses; len(got) != 0 {
			t.Errorf("pauses after the ban: %+v", got)
		}
		var seen []string
		for len(sub.C) > 0 {
			e := <-sub.C
			var data deviceStatusData
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, data.Status+":"+data.Reason)
		}
		if !slices.Contains(seen, StatusTempBanned+":"+ReasonTemporaryBan) {
			t.Errorf("device.status events %v lack the ban", seen)
		}
	})
}

// refusingEngine is the simulator with WhatsApp's refusals on demand: the
// next refuse sends fail with err.
type refusingEngine struct {
	*sim.Engine
	refuse atomic.Int32
	err    error
}

func (e *refusingEngine) Open(ctx context.Context, id int64, emit func(engine.Event)) (engine.Session, error) {
	s, err := e.Engine.Open(ctx, id, emit)
	if err != nil {
		return nil, err
	}
	return refusingSession{Session: s.(*sim.Session), eng: e}, nil
}

type refusingSession struct {
	*sim.Session
	eng *refusingEngine
}

func (s refusingSession) Send(ctx context.Context, m engine.OutMessage) (engine.SendResult, error) {
	if s.eng.refuse.Add(-1) >= 0 {
		return engine.SendResult{}, fmt.Errorf("send: %w", s.eng.err)
	}
	return s.Session.Send(ctx, m)
}

// refusingHarness is a harness whose devices run on a refusingEngine.
func refusingHarness(t *testing.T, refusal error) (*harness, *refusingEngine) {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	db, err := storage.Open(h.dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h.db = db
	h.sim = sim.New(simConfig(dbSimStore{db}))
	eng := &refusingEngine{Engine: h.sim, err: refusal}
	h.gw, err = Start(context.Background(), Config{DB: db, Engines: map[string]engine.Engine{"sim": eng}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	ws, _, _, err := db.CreateAccount(storage.Workspace{Name: "acme"},
		storage.User{Name: "o", Email: "o@example.com"}, storage.APIKey{Kind: storage.KeyLive, Name: "k", Hash: [32]byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	h.ws = ws.ID
	return h, eng
}

// deviceReasons drains device.status events into "STATUS:reason" strings.
func deviceReasons(t *testing.T, sub *Subscription) []string {
	t.Helper()
	var out []string
	for len(sub.C) > 0 {
		e := <-sub.C
		var data deviceStatusData
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatal(err)
		}
		out = append(out, data.Status+":"+data.Reason)
	}
	return out
}

// TestRateLimitRefusalPausesSending: WhatsApp's rate-limit refusal pauses
// every send for the profile's time; the message stays queued with its
// WhatsApp id and goes, with that id, when the pause ends. The pause and
// its end are device.status events.
func TestRateLimitRefusalPausesSending(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h, eng := refusingHarness(t, engine.ErrRateLimited)
		d := h.device("refused")
		h.pair(d.ID)
		h.setPacing(d.ID, `{"pauseRateLimited":"15m"}`) // off, but for this
		// The CONNECTED event is published before the subscription.
		synctest.Wait()
		sub := h.gw.Subscribe(h.ws, SubscribeFilter{DeviceID: d.ID, Types: []string{EventDeviceStatus}})
		defer sub.Close()

		eng.refuse.Store(1)
		first := h.sendText(d.ID, "4915144444444", "refused once")
		second := h.sendText(d.ID, "4915155555555", "behind it")
		settle(time.Minute)
		ms := h.messages(first, second)
		if got := statuses(ms); !slices.Equal(got, []string{MessageQueued, MessageQueued}) || ms[0].WAID == "" {
			t.Fatalf("during the pause: %v, first %+v", got, ms[0])
		}
		dev := h.waitStatus(d.ID, StatusConnected)
		if dev.StatusReason != ReasonPausedPrefix+string(pacing.PauseRateLimited) {
			t.Errorf("status reason %q during the pause", dev.StatusReason)
		}
		v := h.queue(d.ID)
		if len(v.Pacing.Pauses) != 1 || v.Pacing.Pauses[0].Reason != pacing.PauseRateLimited {
			t.Fatalf("pauses %+v", v.Pacing.Pauses)
		}
		if v.Items[0].Reason != string(pacing.ReasonRateLimited) || !v.Items[0].At.Equal(v.Pacing.Pauses[0].Until) {
			t.Errorf("the first waits for %q until %v, want the pause's end %v", v.Items[0].Reason, v.Items[0].At, v.Pacing.Pauses[0].Until)
		}

		settle(15 * time.Minute)
		ms = h.messages(first, second)
		if got := statuses(ms); slices.Contains(got, MessageQueued) {
			t.Fatalf("after the pause: %v", got)
		}
		sent := h.sim.Sent(d.ID)
		if len(sent) != 2 || sent[0].WAID != ms[0].WAID {
			t.Errorf("the contacts got %+v; the first message has id %s", sent, ms[0].WAID)
		}
		want := []string{StatusConnected + ":" + ReasonPausedPrefix + "rate_limited", StatusConnected + ":"}
		if got := deviceReasons(t, sub); !slices.Equal(got, want) {
			t.Errorf("device.status events %v, want %v", got, want)
		}
	})
}

// TestReachOutRefusalPausesFirstContacts: the reach-out timelock holds
// messages to new numbers only; a chat with history goes on.
func TestReachOutRefusalPausesFirstContacts(t *testing.T) {
	bubble(t, func(t *testing.T) {
		h, eng := refusingHarness(t, engine.ErrReachOut)
		d := h.device("timelocked")
		h.pair(d.ID)
		h.setPacing(d.ID, `{"pauseReachOut":"1h"}`)
		h.inbound(d.ID, "4915166666666")

		eng.refuse.Store(1)
		stranger := h.sendText(d.ID, "4915177777777", "hello stranger")
		settle(time.Second)
		friend := h.sendText(d.ID, "4915166666666", "hello friend")
		another := h.sendText(d.ID, "4915188888888", "hello another stranger")
		settle(time.Minute)
		if got := statuses(h.messages(stranger, friend, another)); !slices.Equal(got, []string{MessageQueued, MessageRead, MessageQueued}) {
			t.Fatalf("during the timelock: %v", got)
		}
		if dev := h.waitStatus(d.ID, StatusConnected); dev.StatusReason != ReasonPausedPrefix+string(pacing.PauseReachOut) {
			t.Errorf("status reason %q", dev.StatusReason)
		}
		settle(time.Hour)
		if got := statuses(h.messages(stranger, another)); slices.Contains(got, MessageQueued) {
			t.Fatalf("after the timelock: %v", got)
		}
		if dev := h.waitStatus(d.ID, StatusConnected); dev.StatusReason != "" {
			t.Errorf("status reason %q after the pause", dev.StatusReason)
		}
	})
}

// TestPacerStateSurvivesARestart: the 24-hour counters and the last send
// are stored with each send, so a restart hands out no fresh day; and a
// message whose send a crash cut short (queued, its WhatsApp id chosen)
// is sent again with that id.
func TestPacerStateSurvivesARestart(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		d := h.device("restarted")
		h.pair(d.ID)
		h.setPacing(d.ID, `{"dailyCap":5}`)
		for i := range 3 {
			h.sendText(d.ID, fmt.Sprintf("491519000000%d", i), "before")
		}
		settle(time.Minute)
		before := h.queue(d.ID).Pacing
		if before.Sent24h != 3 {
			t.Fatalf("before the restart: %+v", before)
		}

		// What a crash mid-send leaves: queued, with the id it was sent under.
		inFlight := storage.Message{ID: storage.NewMessageID(), WorkspaceID: h.ws, DeviceID: d.ID, Direction: "out",
			Chat: "4915190000009@s.whatsapp.net", To: "4915190000009@s.whatsapp.net", Type: "text", Text: "in flight",
			WAID: "3EB0CAFEF00D00000001", Status: MessageQueued, CreatedAt: time.Now().UTC(), FromMe: true}
		h.close()
		db, err := storage.Open(h.dir, storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.PutMessage(inFlight); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		h.open()
		h.waitStatus(d.ID, StatusConnected)
		settle(time.Minute)

		after := h.queue(d.ID).Pacing
		if after.Sent24h != 4 || after.DailyCap != 5 || !after.LastSendAt.After(before.LastSendAt) {
			t.Fatalf("after the restart: %+v (before %+v)", after, before)
		}
		m := h.messages(inFlight.ID)[0]
		sent := h.sim.Sent(d.ID)
		if messageRank(m.Status) < messageRank(MessageSent) || m.WAID != inFlight.WAID || len(sent) != 1 || sent[0].WAID != inFlight.WAID {
			t.Fatalf("the message cut short: %+v; the restarted simulator got %+v", m, sent)
		}
	})
}

// TestCancelQueuedMessage: a queued message is cancelled (failed,
// cancelled, message.failed) and never sent; a sent one cannot be.
func TestCancelQueuedMessage(t *testing.T) {
	inBubble(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		d := h.device("cancelling")
		h.pair(d.ID)
		h.setPacing(d.ID, `{"profile":"careful","warmupDays":0,"checkNumbers":false}`)
		synctest.Wait() // earlier events are published before the subscription
		sub := h.gw.Subscribe(h.ws, SubscribeFilter{DeviceID: d.ID, Types: []string{EventMessageFailed}})
		defer sub.Close()

		first := h.sendText(d.ID, "4915101010101", "goes")
		second := h.sendText(d.ID, "4915102020202", "cancelled")
		settle(time.Duration(pacing.Preset(pacing.ProfileCareful).TypingMax) + time.Second)
		if m := h.messages(first)[0]; messageRank(m.Status) < messageRank(MessageSent) {
			t.Fatalf("first: %s", m.Status)
		}
		m, err := h.gw.CancelMessage(ctx, h.ws, second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != MessageFailed || m.Error == nil || m.Error.Code != codeCancelled || m.FailedAt.IsZero() {
			t.Fatalf("cancelled: %+v", m)
		}
		if _, err := h.gw.CancelMessage(ctx, h.ws, first); !errors.Is(err, ErrNotCancellable) {
			t.Errorf("cancelling a sent message: %v, want ErrNotCancellable", err)
		}
		if _, err := h.gw.CancelMessage(ctx, h.ws, second); !errors.Is(err, ErrNotCancellable) {
			t.Errorf("cancelling twice: %v, want ErrNotCancellable", err)
		}
		if _, err := h.gw.CancelMessage(ctx, h.ws, storage.NewMessageID()); !errors.Is(err, ErrMessageNotFound) {
			t.Errorf("cancelling nothing: %v, want ErrMessageNotFound", err)
		}
		settle(time.Hour)
		if to := sentTo(h.sim, d.ID); !slices.Equal(to, []string{"4915101010101"}) {
			t.Errorf("the contacts got %v", to)
		}
		select {
		case e := <-sub.C:
			var data messageStatusData
			if err := json.Unmarshal(e.Data, &data); err != nil || data.ID != second || data.Error == nil || data.Error.Code != codeCancelled {
				t.Errorf("message.failed = %s, %v", e.Data, err)
			}
		default:
			t.Error("no message.failed for the cancelled message")
		}
		if got := h.queue(d.ID); got.Depth != 0 || len(got.Items) != 0 {
			t.Errorf("queue after cancel: %+v", got)
		}
	})
}

// TestPacingSettingsFollowTheDevice: defaults by engine, patches merge,
// a profile name resets, invalid patches change nothing.
func TestPacingSettingsFollowTheDevice(t *testing.T) {
	h := newHarness(t)
	d := h.device("settings")
	if got := PacingSettings(d); got != pacing.Preset(pacing.ProfileOff) || d.Pacing != "off" {
		t.Fatalf("a sandbox device starts with %+v (%q), want off", got, d.Pacing)
	}
	if got := DefaultPacingProfile("whatsmeow"); got != pacing.ProfileBalanced {
		t.Errorf("real devices default to %s, want balanced", got)
	}
	d = h.setPacing(d.ID, `{"profile":"careful","dailyCap":50}`)
	want := pacing.Preset(pacing.ProfileCareful)
	want.DailyCap = 50
	if got := PacingSettings(d); got != want || d.Pacing != "careful" {
		t.Fatalf("patched to %+v (%q), want %+v", got, d.Pacing, want)
	}
	d = h.setPacing(d.ID, `{"gapMin":"40s"}`)
	want.GapMin = pacing.Duration(40 * time.Second)
	if got := PacingSettings(d); got != want {
		t.Fatalf("merged to %+v, want %+v", got, want)
	}
	_, err := h.gw.UpdateDevice(context.Background(), h.ws, d.ID, DevicePatch{Name: ptr("renamed"), Pacing: json.RawMessage(`{"gapMax":"1s"}`)})
	if !errors.Is(err, pacing.ErrBadSettings) {
		t.Fatalf("an invalid patch: %v, want ErrBadSettings", err)
	}
	if got, _ := h.gw.Device(context.Background(), h.ws, d.ID); got.Name != d.Name || PacingSettings(got) != want {
		t.Errorf("an invalid patch changed the device: %+v", got)
	}
	d = h.setPacing(d.ID, `{"profile":"balanced"}`)
	if len(d.PacingSettings) != 0 || PacingSettings(d) != pacing.Preset(pacing.ProfileBalanced) {
		t.Errorf("a plain profile stores %s, want nothing but its name", d.PacingSettings)
	}
}

func ptr[T any](v T) *T { return &v }
