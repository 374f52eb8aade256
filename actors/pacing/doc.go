// Package pacing holds the gateway's anti-ban policy: the admission limiter
// (may the API accept one more message?) and the pacer (when does a queued
// message actually go out, and how?).
//
// The package is pure: nothing here reads the clock or starts a goroutine.
// Every method takes the current time, so tests drive it with exact
// instants, and the owner (one device actor) needs no locking.
//
// # Admission
//
// A Limiter decides whether the API accepts one more message for a device.
// Its Rate is written "30/m": at most Limit messages per Window. The
// gateway's default is 30/m per device, configurable per device.
//
// The limiter is a GCRA (generic cell rate algorithm). Its emission
// interval is Window/Limit (2 s for 30/m) and its burst is Limit, so a
// fresh limiter admits Limit messages at once and then one per interval:
// over any span of time d it admits at most Limit + d/interval messages.
// GCRA keeps a single timestamp per device, needs no background refill,
// and gives the exact wait for a Retry-After header.
//
// Admission is not pacing: a message admitted at the full rate is only
// stored as queued; when it is sent is decided by the Pacer, more slowly.
//
// # Pacing
//
// WhatsApp publishes no limits for unofficial clients. What numbers get
// banned for is known from peers' users and vendors: fixed delays, bursts,
// many messages to people who never wrote, numbers that do not exist,
// a cold number sending at full volume on its first day. The Pacer makes a
// device send like a busy person: a random gap between sends, "typing…"
// for as long as the text takes to type, a pause between messages to the
// same chat (shorter when the contact is talking with us), a daily cap and
// a daily budget of new contacts that both ramp up over a new device's
// first days, a check that a number is on WhatsApp before the first
// message to it, and a pause when WhatsApp says stop.
//
// A Pacer is driven by its device actor, which keeps one timer:
//
//	i, d := p.Next(now, queue) // queued messages, oldest first (Lookahead of them suffice)
//	switch d.Action {
//	case ActionWait:   // arm the timer for d.At; stop any presence shown
//	case ActionType:   // show d.Presence in queue[i]'s chat (once); arm the timer for d.At
//	case ActionSend:   // send queue[i]; on success p.Sent(now, queue[i])
//	case ActionCheck:  // check queue[i].Phone; p.NumberChecked(now, phone, on); ask again
//	case ActionRefuse: // fail queue[i] with d.Reason ("not_on_whatsapp"); ask again
//	}
//
// and reports what happens: Received for every inbound message, Pause for
// WhatsApp's temporary ban, rate-limit error (429) or reach-out timelock
// (463), Resume when an operator lifts a pause, SetSettings on a PATCH.
// Ask again whenever something changes (a message queued or cancelled, a
// reply, a reconnect). Asking again is free and gives the same answer:
// random draws are keyed by message, so a waiting message keeps its time.
// Next considers only the first message of each chat among the oldest
// Lookahead, so a chat's order is kept while other chats may overtake a
// message that must wait. One action at a time: while a send or a check
// runs, the actor does not ask.
// After every Sent, NumberChecked, Pause and Resume the actor stores
// Snapshot with the message's new state and, on start, Restores it.
// Forecast gives the queue view the time each message should go.
//
// # Profiles and their defaults
//
// A zero knob turns its rule off. The profile off is all zeros: messages go
// as fast as the queue allows, for tests and benchmarks. A pause reported
// with an explicit end (a ban's expiry) is honoured in every profile.
//
// Gap between sends: balanced 5–30 s, careful 30–90 s, drawn uniformly for
// every send. Vendors recommend jittered 5–30 s gaps (Effess) and WAHA's
// guide a random 30–60 s, "never fixed delays". A uniform draw never
// repeats a gap, and its coefficient of variation is above 0.2 (0.41
// balanced, 0.29 careful), a simple test of "not robotic"; careful
// widens WAHA's range to get there, averaging 60 sends an hour, under
// Effess's default ceiling of 80.
//
// Typing: balanced 40 words per minute, careful 30, a word being five
// characters, ±30 % jitter, kept within 1–15 s (careful 2–25 s). WAHA's
// guide is to show typing for a random time proportional to the message's
// length before every send, and Evolution API's per-send delay shows
// "composing" the same way; 30–40 words a minute is an ordinary phone
// typist's speed.
// The cap keeps long texts from holding the queue; the jitter keeps the
// capped ones from all lasting exactly the cap. Voice notes show
// "recording…" for about their length, within the same bounds.
//
// Per-chat spacing: balanced 30 s between two messages to a chat, 10 s while
// the contact wrote within the last 24 h; careful 60 s and 20 s; groups 60 s
// (careful 120 s) and never relaxed. Peers observe about one message per
// 10–30 s per chat and 30–60 s per group as safe. The reply window is
// WhatsApp's own 24-hour customer-service window: a business may answer
// freely for a day after the customer's last message.
//
// Daily cap: balanced 500 sends in any 24 hours, careful 200. Vendors'
// warm-up schedules end at 500 a day after ten days (Effess) or climb to
// 1,000 (WAPower); users report bans of cold numbers at 40–50 a day
// (Evolution API #1870) and MoltFlow reports reviews of new accounts above
// 20–30 a day in their first week. The window is rolling, counted in hour
// buckets over the current hour and the 24 before it, so no 24-hour span
// ever exceeds the cap.
//
// Warm-up: balanced over 10 days, careful over 14, starting at 10 % of the
// cap and the first-contact budget and growing by the same factor every day
// (balanced: 50 sends on day one, 500 from day ten; careful: 20, then 200
// from day fourteen). Effess ramps 50 → 200 → 500 a day over ten days,
// WAPower 20 → 1,000 and another peer 10 → 250 over two weeks, all
// geometric; Whapi keeps new numbers under 50 a day. The ramp counts days
// from the device's start as the actor gives it; a number that was already
// in long use can set warmupDays to 0.
//
// First contacts: balanced 50 new numbers in any 24 hours, careful 20.
// Messaging people who never wrote to us is what WhatsApp's reach-out
// timelock (error 463) restricts, and reports by 5–10 recipients get a
// number banned (WAHA's guide); Meta's own Cloud API starts new businesses
// at 250 unique users a day, so an unofficial client stays well below. A
// number counts once: when it is checked, or when first sent to if not.
//
// Number checks: on in balanced and careful, cached for 7 days. Vendors
// (Effess) check that a number is on WhatsApp before sending to it: a
// message to a number that is not never arrives, and many of them look
// like a list being worked through. A check takes a first-contact
// slot whatever its answer, and a number not found starts a gap, so
// probing numbers is paced like sending. Registrations change rarely; a
// week keeps the cache within the first-contact budget times seven.
//
// Pauses: a temporary ban pauses every send until the expiry WhatsApp gives
// (24 h balanced, 48 h careful if it gives none); the rate-limit error 429
// pauses every send for 15 min (careful 1 h); the reach-out timelock 463
// pauses first contacts only, for 24 h (careful 48 h), while chats that
// already exist go on. A refusal
// that comes back within a day of the last pause's end doubles the pause,
// up to a week: sending into a fresh refusal is what turns a timelock into
// a ban.
package pacing
