package pacing

import (
	"fmt"
	"reflect"
	"testing"
	"testing/synctest"
	"time"
)

func mixedQueue() []Outgoing {
	var q []Outgoing
	for i := range 40 {
		switch {
		case i%5 == 0:
			q = append(q, first(fmt.Sprint("f", i), fmt.Sprint(4917100+i)))
		case i%7 == 0:
			q = append(q, Outgoing{ID: fmt.Sprint("g", i), Chat: "g@g.us", Group: true, Kind: KindMedia, TextLen: i})
		default:
			q = append(q, text(fmt.Sprint("m", i), fmt.Sprint("chat", i%4), 10*i))
		}
	}
	return q
}

// TestForecastMatchesTheRun: the queue view's times are the very times the
// messages go when nothing else happens, and forecasting changes nothing.
func TestForecastMatchesTheRun(t *testing.T) {
	s := Preset(ProfileBalanced)
	s.FirstContactsPerDay = 4 // some first contacts wait for the next day
	for _, prof := range []Settings{s, Preset(ProfileCareful), Preset(ProfileOff)} {
		t.Run(string(prof.Profile), func(t *testing.T) {
			p := newPacer(t, prof, t0.Add(-24*time.Hour))
			p.Sent(t0, text("x", "chat1", 10))
			queue := mixedQueue()
			before := p.Snapshot(t0)
			est := p.Forecast(t0, queue, len(queue))
			if !reflect.DeepEqual(p.Snapshot(t0), before) {
				t.Fatal("Forecast changed the pacer")
			}
			d := newDriver(t, p, t0, queue...)
			d.run(t0.Add(30 * 24 * time.Hour))
			if len(d.sent) != len(queue) {
				t.Fatalf("sent %d of %d", len(d.sent), len(queue))
			}
			at := map[string]time.Time{}
			for _, r := range d.sent {
				at[r.m.ID] = r.at
			}
			waitedFor := map[Reason]bool{}
			for i, m := range queue {
				if !est[i].At.Equal(at[m.ID]) || est[i].Refused {
					t.Fatalf("%s: forecast %+v, sent at %s", m.ID, est[i], at[m.ID])
				}
				waitedFor[est[i].Reason] = true
			}
			if prof.Profile == ProfileBalanced && (!waitedFor[ReasonFirstContacts] || !waitedFor[ReasonGap]) {
				t.Errorf("reasons seen %v, want first_contacts and gap among them", waitedFor)
			}
		})
	}
}

func TestForecastLimitAndRefusals(t *testing.T) {
	s := instant()
	s.CheckNumbers, s.CheckTTL = true, Duration(time.Hour)
	p := newPacer(t, s, time.Time{})
	p.NumberChecked(t0, "999", false)
	queue := []Outgoing{first("1", "999"), text("2", "A", 1), text("3", "B", 1)}
	est := p.Forecast(t0, queue, 2)
	if !est[0].Refused || est[0].Reason != ReasonNotOnWhatsApp || !est[0].At.IsZero() {
		t.Fatalf("known non-WhatsApp number: %+v", est[0])
	}
	if !est[1].At.Equal(t0) {
		t.Fatalf("second: %+v", est[1])
	}
	if est[2] != (Estimate{}) {
		t.Fatalf("past the limit: %+v, want zero", est[2])
	}
	if got := p.Forecast(t0, queue, 0); len(got) != 3 || got[0] != (Estimate{}) {
		t.Fatalf("limit 0: %+v", got)
	}
}

// TestDeviceLoop drives the pacer the way the device actor does, with a
// real timer in a synctest bubble: ask, arm the timer for the answer's
// time, act on whichever comes first, the timer or an inbound message. A
// reply arriving while a message waits for its chat's spacing lets it go
// at the relaxed spacing.
func TestDeviceLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := plain()
		s.GapMin, s.GapMax = Duration(2*time.Second), Duration(4*time.Second)
		s.ChatSpacing, s.ChatSpacingReplied = Duration(time.Minute), Duration(5*time.Second)
		p, err := NewPacer(s, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		inbound := make(chan string)
		go func() {
			time.Sleep(20 * time.Second) // the contact answers the first message
			inbound <- "A"
		}()
		queue := []Outgoing{text("1", "A", 10), text("2", "A", 10), text("3", "A", 10)}
		var sent []time.Time
		var reasons []Reason
		timer := time.NewTimer(time.Hour)
		for len(queue) > 0 {
			i, d := p.Next(time.Now(), queue)
			switch d.Action {
			case ActionWait, ActionType:
				if d.Action == ActionWait {
					reasons = append(reasons, d.Reason)
				}
				timer.Reset(time.Until(d.At))
				select {
				case <-timer.C:
				case chat := <-inbound:
					p.Received(time.Now(), chat)
				}
				continue
			case ActionSend:
				sent = append(sent, time.Now())
				p.Sent(time.Now(), queue[i])
			default:
				t.Fatalf("unexpected %+v", d)
			}
			queue = append(queue[:i], queue[i+1:]...)
		}
		if len(sent) != 3 {
			t.Fatalf("sent %d", len(sent))
		}
		if len(reasons) == 0 || reasons[0] != ReasonChatSpacing {
			t.Fatalf("waits %v, want the second message held by chat_spacing before the reply", reasons)
		}
		for k := 1; k < len(sent); k++ {
			gap := sent[k].Sub(sent[k-1])
			if gap < 5*time.Second || gap >= 30*time.Second {
				t.Fatalf("gap %s before message %d: want the relaxed spacing, not the minute", gap, k+1)
			}
		}
	})
}
