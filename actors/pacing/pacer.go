package pacing

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is what a message is, as far as its presence goes. The zero Kind
// is KindText.
type Kind string

// Message kinds. The device actor maps the API's message types onto them.
const (
	// KindText is anything a person types: text, and location, contact or
	// poll messages (typing is timed by TextLen).
	KindText Kind = "text"
	// KindMedia is an image, video, audio file, document or sticker:
	// typing is timed by the caption, at least TypingMin.
	KindMedia Kind = "media"
	// KindVoice is a voice note: "recording…" for about its length.
	KindVoice Kind = "voice"
	// KindReaction is a reaction: no presence at all.
	KindReaction Kind = "reaction"
)

// Presence is the chat presence to show before a send, named as in the
// API's POST /api/presence.
type Presence string

// Presences.
const (
	PresenceNone      Presence = ""
	PresenceTyping    Presence = "typing"
	PresenceRecording Presence = "recording"
)

// Action is what the device actor should do now.
type Action string

// Actions of a Decision.
const (
	// ActionWait: nothing now; ask again at Decision.At.
	ActionWait Action = "wait"
	// ActionType: show Decision.Presence in the chat now (if not already
	// shown for this message) and ask again at Decision.At, when it is due.
	ActionType Action = "type"
	// ActionSend: send the message now, then report Sent.
	ActionSend Action = "send"
	// ActionCheck: check whether Outgoing.Phone is on WhatsApp, report
	// NumberChecked, then ask again.
	ActionCheck Action = "check"
	// ActionRefuse: never send this message; fail it with Decision.Reason
	// (not_on_whatsapp).
	ActionRefuse Action = "refuse"
)

// Reason says why a message waits or is refused.
type Reason string

// Reasons of a Decision. The pause reasons are those of PauseReason.
const (
	ReasonGap           Reason = "gap"            // the device's gap between sends
	ReasonChatSpacing   Reason = "chat_spacing"   // the chat's spacing
	ReasonDailyCap      Reason = "daily_cap"      // the 24-hour cap (with its ramp)
	ReasonFirstContacts Reason = "first_contacts" // the 24-hour first-contact budget
	ReasonNotOnWhatsApp Reason = "not_on_whatsapp"
	ReasonTemporaryBan  Reason = Reason(PauseTemporaryBan)
	ReasonRateLimited   Reason = Reason(PauseRateLimited)
	ReasonReachOut      Reason = Reason(PauseReachOut)
)

// PauseReason is why sending pauses. The device actor reports them.
type PauseReason string

// Pause reasons.
const (
	// PauseTemporaryBan: WhatsApp banned the number for a while (the
	// engine's TemporaryBan event). Blocks every send.
	PauseTemporaryBan PauseReason = "temporary_ban"
	// PauseRateLimited: WhatsApp answered a send with its rate-limit error
	// (429, rate-overlimit). Blocks every send.
	PauseRateLimited PauseReason = "rate_limited"
	// PauseReachOut: WhatsApp's reach-out timelock (error 463): the number
	// may not start new chats for a while. Blocks first contacts only.
	PauseReachOut PauseReason = "reachout_timelock"
)

var pauseReasons = [...]PauseReason{PauseTemporaryBan, PauseRateLimited, PauseReachOut}

func pauseIndex(r PauseReason) int {
	for i, p := range pauseReasons {
		if p == r {
			return i
		}
	}
	return -1
}

// Outgoing is a queued message as the pacer sees it.
type Outgoing struct {
	// ID is the message's id. It keys the message's random typing time
	// (so asking again gives the same answer) and its typing phase.
	ID string
	// Chat identifies the chat; the same string must be reported to Sent
	// and Received (the chat's JID, by phone number when known).
	Chat string
	// Phone is the recipient's number (digits) for the on-WhatsApp check;
	// empty for groups and recipients known only by another id, which are
	// then not checked.
	Phone string
	// Group is true for a group chat: no check, no first contact, the
	// group spacing.
	Group bool
	// Known is true when the device has history with this chat (a message
	// either way in its store). The pacer also remembers the chats it saw
	// in the last day; Known covers the rest.
	Known bool
	Kind  Kind
	// TextLen is the length in characters (runes) of the text or caption.
	TextLen int
	// MediaSeconds is a voice note's length, when known.
	MediaSeconds int
}

// Decision is the pacer's answer: what to do now, and when to ask again.
type Decision struct {
	Action Action
	// At is when to ask again (Wait), when the message is due to go
	// (Type), or now (Send, Check, Refuse).
	At time.Time
	// Typing is how long the message's presence shows before it is sent.
	Typing   time.Duration
	Presence Presence
	// Reason is why the message waits (Wait) or is refused (Refuse).
	Reason Reason
}

// Limits on what the pacer keeps in memory (and in its Snapshot). Past
// them the oldest entries go, which only makes the pacer stricter: a chat
// forgotten gets the full spacing, a number forgotten is checked again.
const (
	MaxChats  = 1024
	MaxChecks = 1024
)

// Pacer decides when a device's queued messages go out: the anti-ban
// policy of doc.go. It is pure: it never reads the clock nor starts a
// goroutine; every method takes the current time, and the device actor
// keeps the one timer (wake up at Decision.At). Its randomness comes from
// a key drawn once, so the same state gives the same answers. A Pacer is
// not safe for concurrent use: it belongs to one device actor.
type Pacer struct {
	s      Settings
	ramp   warmup
	key    uint64
	last   time.Time // last send
	gapEnd time.Time // last send + its gap
	hours  window
	chats  map[string]*chatActivity
	checks map[string]*numberCheck
	pauses [len(pauseReasons)]pauseState
	typing typingPhase
	pruned time.Time
}

type chatActivity struct {
	out time.Time // our last send to the chat
	in  time.Time // the chat's last message to us
}

type numberCheck struct {
	at   time.Time
	on   bool
	used bool // the first send to the number took the slot the check charged
}

type pauseState struct {
	until   time.Time
	strikes int // pauses of this reason in a row, each within a day of the last one's end
}

// typingPhase is the message whose presence is showing, and since when.
type typingPhase struct {
	id   string
	from time.Time
}

// NewPacer returns a pacer for a device whose warm-up started at since
// (its creation or first pairing; zero means no warm-up). src draws the
// pacer's key; nil uses a random one. Restore a Snapshot to carry state
// over a restart. Errors wrap ErrBadSettings.
func NewPacer(s Settings, since time.Time, src rand.Source) (*Pacer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var key uint64
	if src != nil {
		key = src.Uint64()
	} else {
		key = rand.Uint64()
	}
	p := &Pacer{
		key:    key,
		chats:  make(map[string]*chatActivity),
		checks: make(map[string]*numberCheck),
	}
	p.ramp.since = since
	p.setSettings(s)
	return p, nil
}

// Settings returns the pacer's settings.
func (p *Pacer) Settings() Settings { return p.s }

// SetSettings changes the settings and keeps every counter, spacing and
// pause: lowering a cap takes effect at once. Errors wrap ErrBadSettings.
func (p *Pacer) SetSettings(s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	p.setSettings(s)
	return nil
}

func (p *Pacer) setSettings(s Settings) {
	p.s = s
	p.ramp.days, p.ramp.startPercent = s.WarmupDays, s.WarmupStartPercent
}

// Plan decides for one message: Next with a queue of one.
func (p *Pacer) Plan(now time.Time, m Outgoing) Decision {
	_, d := p.Next(now, []Outgoing{m})
	return d
}

// Lookahead is how many of the oldest queued messages Next considers. It
// bounds the cost of a decision (and of Forecast) and how far a newer
// message may overtake; the device actor need not read more of its queue.
const Lookahead = 64

// Next decides what to do now for a device's queue, given oldest first,
// and returns the index of the message the Decision is about. Only the
// first Lookahead messages are looked at, and of them only the first
// message of each chat, so a chat's messages keep their order; other chats' messages may overtake one that must wait (for
// its chat's spacing or the first-contact budget). The message whose
// presence is showing keeps its turn; otherwise the first message (in
// queue order) that can act now is chosen, or else the one that can act
// soonest. An empty queue returns -1 and a zero Decision.
//
// Next records the start of a typing phase when it answers ActionType, so
// asking again during the phase keeps the same due time; nothing else
// changes until Sent, Received, NumberChecked or Pause report what
// happened.
func (p *Pacer) Next(now time.Time, queue []Outgoing) (int, Decision) {
	heads := firstPerChat(queue)
	lim := p.limitsAt(now)
	if p.typing.id != "" {
		for _, i := range heads {
			if queue[i].ID != p.typing.id {
				continue
			}
			if d := p.eval(&lim, queue[i]); d.Action == ActionType || d.Action == ActionSend {
				return i, d
			}
			break
		}
		p.typing = typingPhase{} // gone from the queue, or held up: start over
	}
	best, bestD := -1, Decision{}
	for _, i := range heads {
		d := p.eval(&lim, queue[i])
		if d.Action != ActionWait {
			if d.Action == ActionType {
				p.typing = typingPhase{id: queue[i].ID, from: now}
			}
			return i, d
		}
		if best < 0 || d.At.Before(bestD.At) {
			best, bestD = i, d
		}
	}
	return best, bestD
}

// firstPerChat returns the index of each chat's first message, in order.
func firstPerChat(queue []Outgoing) []int {
	queue = queue[:min(len(queue), Lookahead)]
	if len(queue) <= 1 {
		return []int{0}[:len(queue)]
	}
	seen := make(map[string]bool, len(queue))
	out := make([]int, 0, len(queue))
	for i, m := range queue {
		if !seen[m.Chat] {
			seen[m.Chat] = true
			out = append(out, i)
		}
	}
	return out
}

// limits is what holds back every message of the device at now, worked
// out once per Next: the pauses and when the 24-hour limits free a slot
// (zero when they have one).
type limits struct {
	now                  time.Time
	paused, reachOut     time.Time
	pausedWhy, reachWhy  PauseReason
	capFree, contactFree time.Time
}

func (p *Pacer) limitsAt(now time.Time) limits {
	l := limits{now: now}
	l.paused, l.pausedWhy = p.blocked(now, false)
	l.reachOut, l.reachWhy = p.blocked(now, true)
	changes := p.ramp.changes(now)
	if p.s.DailyCap > 0 {
		l.capFree = p.hours.freeAt(now, countSends, p.limitOf(p.s.DailyCap), changes)
	}
	if p.s.FirstContactsPerDay > 0 {
		l.contactFree = p.hours.freeAt(now, countFirsts, p.limitOf(p.s.FirstContactsPerDay), changes)
	}
	return l
}

// eval decides for m without changing anything.
func (p *Pacer) eval(l *limits, m Outgoing) Decision {
	now := l.now
	if !l.paused.IsZero() {
		return Decision{Action: ActionWait, At: l.paused, Reason: Reason(l.pausedWhy)}
	}
	first := p.isFirst(m)
	if first && p.checkable(m) {
		if c := p.validCheck(now, m.Phone); c != nil && !c.on {
			return Decision{Action: ActionRefuse, At: now, Reason: ReasonNotOnWhatsApp}
		}
	}
	if first && !l.reachOut.IsZero() {
		return Decision{Action: ActionWait, At: l.reachOut, Reason: Reason(l.reachWhy)}
	}
	typing, presence := p.typingFor(m)
	due, why := p.earliest(l, m, first)
	if p.typing.id == m.ID && !p.typing.from.After(now) {
		if sendAt := p.typing.from.Add(typing); !due.After(sendAt) {
			if now.Before(sendAt) {
				return Decision{Action: ActionType, At: sendAt, Typing: typing, Presence: presence}
			}
			return Decision{Action: ActionSend, At: now, Typing: typing, Presence: presence}
		}
	}
	if start := due.Add(-typing); start.After(now) {
		return Decision{Action: ActionWait, At: start, Typing: typing, Presence: presence, Reason: why}
	}
	if first && p.checkable(m) && p.validCheck(now, m.Phone) == nil {
		return Decision{Action: ActionCheck, At: now}
	}
	if typing > 0 {
		return Decision{Action: ActionType, At: now.Add(typing), Typing: typing, Presence: presence}
	}
	return Decision{Action: ActionSend, At: now, Presence: presence}
}

// blocked returns the end of the latest pause in force at now (and its
// reason): those that block every send, or with firstContact those that
// block first contacts too.
func (p *Pacer) blocked(now time.Time, firstContact bool) (time.Time, PauseReason) {
	var until time.Time
	var why PauseReason
	for i, ps := range p.pauses {
		r := pauseReasons[i]
		if (r == PauseReachOut) != firstContact {
			continue
		}
		if ps.until.After(now) && ps.until.After(until) {
			until, why = ps.until, r
		}
	}
	return until, why
}

// isFirst reports whether m would reach a new number: not a group, no
// history in the store, and nothing seen by the pacer.
func (p *Pacer) isFirst(m Outgoing) bool {
	if m.Group || m.Known {
		return false
	}
	_, seen := p.chats[m.Chat]
	return !seen
}

func (p *Pacer) checkable(m Outgoing) bool {
	return p.s.CheckNumbers && m.Phone != "" && !m.Group
}

// validCheck returns the cached check of phone when it is younger than
// CheckTTL.
func (p *Pacer) validCheck(now time.Time, phone string) *numberCheck {
	c := p.checks[phone]
	if c == nil || now.Sub(c.at) >= time.Duration(p.s.CheckTTL) {
		return nil
	}
	return c
}

// precharged reports whether m's first-contact slot was already counted
// by its check, and is still in the window.
func (p *Pacer) precharged(now time.Time, m Outgoing) bool {
	c := p.checks[m.Phone]
	return m.Phone != "" && c != nil && c.on && !c.used && hourOf(c.at) >= hourOf(now)-(windowHours-1)
}

// earliest returns when m may go as far as gaps, spacing and the 24-hour
// limits go, and which of them is the last to allow it. The answer does not
// move with now while nothing is reported: it is zero or in the past when
// nothing holds m back at now.
func (p *Pacer) earliest(l *limits, m Outgoing, first bool) (time.Time, Reason) {
	now := l.now
	var at time.Time
	var why Reason
	later := func(t time.Time, r Reason) {
		if t.After(at) {
			at, why = t, r
		}
	}
	later(p.gapEnd, ReasonGap)
	if c := p.chats[m.Chat]; c != nil && !c.out.IsZero() {
		if m.Group {
			later(c.out.Add(time.Duration(p.s.GroupSpacing)), ReasonChatSpacing)
		} else {
			relaxed := c.out.Add(time.Duration(p.s.ChatSpacingReplied))
			if !c.in.IsZero() && !c.in.Before(maxTime(relaxed, now).Add(-time.Duration(p.s.ReplyWindow))) {
				later(relaxed, ReasonChatSpacing)
			} else {
				later(c.out.Add(time.Duration(p.s.ChatSpacing)), ReasonChatSpacing)
			}
		}
	}
	later(l.capFree, ReasonDailyCap)
	if first && !p.precharged(now, m) {
		later(l.contactFree, ReasonFirstContacts)
	}
	return at, why
}

func (p *Pacer) limitOf(full int) func(time.Time) int {
	return func(t time.Time) int { return p.ramp.limit(full, t) }
}

// typingFor is m's presence and how long it shows: the text's typing time
// at TypingWPM (a voice note's length), jittered by ±TypingJitter and kept
// within [TypingMin, TypingMax] without piling up on either bound.
func (p *Pacer) typingFor(m Outgoing) (time.Duration, Presence) {
	s := p.s
	if s.TypingWPM <= 0 || m.Kind == KindReaction {
		return 0, PresenceNone
	}
	lo, hi := time.Duration(s.TypingMin), time.Duration(s.TypingMax)
	presence := PresenceTyping
	var base time.Duration
	if m.Kind == KindVoice {
		presence = PresenceRecording
		base = time.Duration(min(max(m.MediaSeconds, 0), 3600)) * time.Second
		if base == 0 {
			base = (lo + hi) / 2
		}
	} else {
		// A word is five characters: each character takes 12 s / WPM.
		base = time.Duration(min(max(m.TextLen, 0), 1_000_000)) * 12 * time.Second / time.Duration(s.TypingWPM)
	}
	u := p.unit("typing", m.ID)
	j := s.TypingJitter
	d := time.Duration(float64(base) * (1 - j + 2*j*u))
	switch {
	case d > hi:
		d = time.Duration(float64(hi) * (1 - j*u))
	case d < lo:
		d = time.Duration(float64(lo) * (1 + j*u))
	}
	return min(max(d, lo), hi), presence
}

// gapFor is the gap drawn for the send (or failed check) keyed by id.
func (p *Pacer) gapFor(label, id string) time.Duration {
	lo, hi := time.Duration(p.s.GapMin), time.Duration(p.s.GapMax)
	return lo + time.Duration(float64(hi-lo)*p.unit(label, id))
}

// unit is a uniform number in [0, 1) fixed by the pacer's key, label and
// id: the same question always draws the same answer, so a forecast and
// a restarted pacer agree with the running one.
func (p *Pacer) unit(label, id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write([]byte(id))
	g := rand.NewPCG(p.key, h.Sum64())
	return float64(g.Uint64()>>11) / (1 << 53)
}

// Sent reports that m went out at now (the engine accepted it). It starts
// the next gap, counts the send (and the first contact) in the 24-hour
// window and the chat's spacing.
func (p *Pacer) Sent(now time.Time, m Outgoing) {
	firsts := 0
	if p.isFirst(m) && !p.precharged(now, m) {
		firsts = 1
	}
	if c := p.checks[m.Phone]; c != nil && m.Phone != "" {
		c.used = true
	}
	p.hours.add(now, 1, firsts)
	p.last = maxTime(p.last, now)
	p.gapEnd = maxTime(p.gapEnd, now.Add(p.gapFor("gap", m.ID)))
	c := p.chat(now, m.Chat)
	c.out = maxTime(c.out, now)
	if p.typing.id == m.ID {
		p.typing = typingPhase{}
	}
	p.prune(now)
}

// Received reports a message from chat at now: the chat is no longer a
// first contact, and its spacing relaxes for ReplyWindow.
func (p *Pacer) Received(now time.Time, chat string) {
	c := p.chat(now, chat)
	c.in = maxTime(c.in, now)
	p.prune(now)
}

// NumberChecked reports the answer of a check the pacer asked for
// (ActionCheck). It is cached for CheckTTL and takes a first-contact slot
// whatever the answer: probing unknown numbers is reaching out too. A
// number not on WhatsApp also starts a gap, so checks are paced like sends.
func (p *Pacer) NumberChecked(now time.Time, phone string, onWhatsApp bool) {
	if phone == "" {
		return
	}
	p.checks[phone] = &numberCheck{at: now, on: onWhatsApp}
	p.hours.add(now, 0, 1)
	if !onWhatsApp {
		p.gapEnd = maxTime(p.gapEnd, now.Add(p.gapFor("check", phone)))
	}
	p.prune(now)
	if len(p.checks) > MaxChecks {
		evictOldest(p.checks, MaxChecks/8, func(c *numberCheck) time.Time { return c.at })
	}
}

// Pause reports one of WhatsApp's refusals at now and returns until when
// sending pauses for it. A non-zero until (a ban's expiry) is used as
// given; otherwise the pause lasts the settings' default for the reason,
// doubled for each pause of that reason that ended less than a day before
// (at most a week). A report during a pause for the same reason moves it
// only to a later explicit until, never shortens it; a zero default with
// no until means no pause (the zero time is returned).
// It panics on a reason that is not a PauseReason constant.
func (p *Pacer) Pause(now time.Time, r PauseReason, until time.Time) time.Time {
	i := pauseIndex(r)
	if i < 0 {
		panic(fmt.Sprintf("pacing: unknown pause reason %q", r))
	}
	ps := &p.pauses[i]
	if now.Before(ps.until) {
		// Already paused for r (a send in flight met the same refusal):
		// only an explicit, later end moves it.
		ps.until = maxTime(ps.until, until)
		return ps.until
	}
	if !ps.until.IsZero() && now.Sub(ps.until) < 24*time.Hour {
		ps.strikes++
	} else {
		ps.strikes = 0
	}
	if !until.After(now) {
		d := p.pauseDefault(r)
		if d == 0 {
			return time.Time{}
		}
		for k := 0; k < ps.strikes && d < maxEscalatedWait; k++ {
			d *= 2
		}
		until = now.Add(min(d, max(maxEscalatedWait, p.pauseDefault(r))))
	}
	ps.until = maxTime(ps.until, until)
	return ps.until
}

func (p *Pacer) pauseDefault(r PauseReason) time.Duration {
	switch r {
	case PauseTemporaryBan:
		return time.Duration(p.s.PauseBan)
	case PauseRateLimited:
		return time.Duration(p.s.PauseRateLimited)
	default:
		return time.Duration(p.s.PauseReachOut)
	}
}

// Resume ends the pause for r at now (an operator's decision, or the
// number reconnected after its ban). The pause still counts as a strike
// if WhatsApp refuses again within a day.
func (p *Pacer) Resume(now time.Time, r PauseReason) {
	if i := pauseIndex(r); i >= 0 && p.pauses[i].until.After(now) {
		p.pauses[i].until = now
	}
}

// chat returns chat's activity, creating it (and making room) if needed.
func (p *Pacer) chat(now time.Time, chat string) *chatActivity {
	c := p.chats[chat]
	if c == nil {
		if len(p.chats) >= MaxChats {
			p.prune(now)
			if len(p.chats) >= MaxChats {
				evictOldest(p.chats, MaxChats/8, func(c *chatActivity) time.Time { return maxTime(c.out, c.in) })
			}
		}
		c = &chatActivity{}
		p.chats[chat] = c
	}
	return c
}

// prune forgets chats whose spacing and reply window are over and checks
// older than CheckTTL, at most once a minute.
func (p *Pacer) prune(now time.Time) {
	if now.Before(p.pruned.Add(time.Minute)) && len(p.chats) < MaxChats {
		return
	}
	p.pruned = now
	for k, c := range p.chats {
		if !p.chatMatters(now, c) {
			delete(p.chats, k)
		}
	}
	for k, c := range p.checks {
		if now.Sub(c.at) >= time.Duration(p.s.CheckTTL) {
			delete(p.checks, k)
		}
	}
}

// chatMatters reports whether c still shapes a decision: its spacing runs,
// its reply relaxes the spacing, or it was seen within the last day (the
// window in which the pacer vouches for "not a first contact").
func (p *Pacer) chatMatters(now time.Time, c *chatActivity) bool {
	keep := max(time.Duration(p.s.ChatSpacing), time.Duration(p.s.GroupSpacing),
		time.Duration(p.s.ReplyWindow), 24*time.Hour)
	return now.Sub(maxTime(c.out, c.in)) < keep
}

// evictOldest deletes the n entries of m with the oldest times (ties by
// key). Making room by the batch keeps a flood of new entries from paying
// a full scan each.
func evictOldest[V any](m map[string]V, n int, when func(V) time.Time) {
	type entry struct {
		k string
		t time.Time
	}
	all := make([]entry, 0, len(m))
	for k, v := range m {
		all = append(all, entry{k, when(v)})
	}
	slices.SortFunc(all, func(a, b entry) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return strings.Compare(a.k, b.k)
	})
	for _, e := range all[:min(n, len(all))] {
		delete(m, e.k)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
