package pacing

import (
	"maps"
	"slices"
	"time"
)

// Status is the pacer's state for the queue view and the device status.
type Status struct {
	Profile Profile `json:"profile"`
	// Pauses in force, latest end first.
	Pauses []PauseStatus `json:"pauses,omitempty"`
	// NextSendAt is the earliest a message can go as far as the device's
	// gap, daily cap and pauses for every send go; zero when now.
	NextSendAt time.Time `json:"nextSendAt,omitzero"`
	// LastSendAt is the device's last send; zero before the first.
	LastSendAt time.Time `json:"lastSendAt,omitzero"`
	// Sends and first contacts in the 24-hour window, and their limits at
	// now after the warm-up ramp (0: no limit).
	Sent24h          int `json:"sent24h"`
	DailyCap         int `json:"dailyCap"`
	FirstContacts24h int `json:"firstContacts24h"`
	FirstContactCap  int `json:"firstContactCap"`
	// WarmupDay is the device's day in its warm-up (0 on its first day);
	// Warming is true until it reaches WarmupDays.
	WarmupDay int  `json:"warmupDay"`
	Warming   bool `json:"warming"`
}

// PauseStatus is one pause in force.
type PauseStatus struct {
	Reason PauseReason `json:"reason"`
	Until  time.Time   `json:"until"`
}

// Status returns the pacer's state at now. It changes nothing.
func (p *Pacer) Status(now time.Time) Status {
	st := Status{
		Profile:          p.s.Profile,
		Sent24h:          p.hours.count(now, countSends),
		FirstContacts24h: p.hours.count(now, countFirsts),
		DailyCap:         p.ramp.limit(p.s.DailyCap, now),
		FirstContactCap:  p.ramp.limit(p.s.FirstContactsPerDay, now),
		WarmupDay:        p.ramp.day(now),
		LastSendAt:       p.last,
	}
	st.Warming = p.ramp.days > 0 && !p.ramp.since.IsZero() && st.WarmupDay < p.ramp.days
	for i, ps := range p.pauses {
		if ps.until.After(now) {
			st.Pauses = append(st.Pauses, PauseStatus{Reason: pauseReasons[i], Until: ps.until})
		}
	}
	slices.SortStableFunc(st.Pauses, func(a, b PauseStatus) int { return b.Until.Compare(a.Until) })
	if p.gapEnd.After(now) {
		st.NextSendAt = p.gapEnd
	}
	if until, _ := p.blocked(now, false); until.After(st.NextSendAt) {
		st.NextSendAt = until
	}
	if p.s.DailyCap > 0 {
		if t := p.hours.freeAt(now, countSends, p.limitOf(p.s.DailyCap), p.ramp.changes(now)); t.After(st.NextSendAt) {
			st.NextSendAt = t
		}
	}
	return st
}

// Estimate is when a queued message is expected to go.
type Estimate struct {
	// At is when it is expected to be sent; zero when it was not reached
	// (see Forecast) or will be refused.
	At time.Time `json:"at,omitzero"`
	// Reason is what holds it until then (the last wait before it goes),
	// or not_on_whatsapp when it will be refused.
	Reason  Reason `json:"reason,omitempty"`
	Refused bool   `json:"refused,omitempty"`
}

// Forecast plays the queue (oldest first) forward from now on a copy of
// the pacer, as Next would be asked, and tells when each message would go
// if nothing else happened:
// no reply arrives, no pause is reported, every number checked is on
// WhatsApp and every send succeeds. Gaps and typing times are the very ones
// the pacer will draw. It changes nothing. At most limit messages are
// played (the rest get a zero Estimate); the cost grows with limit times
// the number of chats in the queue.
func (p *Pacer) Forecast(now time.Time, queue []Outgoing, limit int) []Estimate {
	out := make([]Estimate, len(queue))
	if limit <= 0 {
		return out
	}
	c := p.clone()
	rest := make([]int, min(limit, len(queue)))
	for i := range rest {
		rest[i] = i
	}
	waited := make(map[int]Reason)
	msgs := make([]Outgoing, 0, len(rest))
	t := now
	// Each message takes at most: wait, check, wait, type, send (plus one
	// wait per pause or cap it meets); the bound only stops a bug.
	for steps := 0; len(rest) > 0 && steps < 16*len(queue)+64; steps++ {
		msgs = msgs[:0]
		for _, i := range rest {
			msgs = append(msgs, queue[i])
		}
		k, d := c.Next(t, msgs)
		if k < 0 {
			break
		}
		i := rest[k]
		switch d.Action {
		case ActionWait:
			waited[i] = d.Reason
			t = maxTime(d.At, t.Add(time.Nanosecond))
			continue
		case ActionType:
			t = maxTime(d.At, t)
			continue
		case ActionCheck:
			c.NumberChecked(t, queue[i].Phone, true)
			continue
		case ActionRefuse:
			out[i] = Estimate{Reason: d.Reason, Refused: true}
		case ActionSend:
			out[i] = Estimate{At: t, Reason: waited[i]}
			c.Sent(t, queue[i])
		}
		rest = append(rest[:k], rest[k+1:]...)
	}
	return out
}

// clone is a deep copy of p.
func (p *Pacer) clone() *Pacer {
	c := *p
	c.chats = make(map[string]*chatActivity, len(p.chats))
	for k, v := range p.chats {
		cv := *v
		c.chats[k] = &cv
	}
	c.checks = maps.Clone(p.checks)
	for k, v := range c.checks {
		cv := *v
		c.checks[k] = &cv
	}
	return &c
}
