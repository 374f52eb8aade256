// out-of-hours-reply: answers messages that contacts send outside opening
// hours with a fixed text (through ctx.reply: an ordinary send, paced and
// counted against the device's rate limit). Groups and the device's own
// messages are never answered, and a chat is answered at most once per
// quietMinutes. The event itself passes unchanged.
//
// Config:
//   {"timezone": "Asia/Jakarta",
//    "hours": {"mon-fri": "09:00-17:00", "sat": "09:00-12:00"},
//    "text": "Thanks for your message! We are closed now and answer from 09:00.",
//    "quietMinutes": 60}
// hours: keys are days ("mon"…"sun") or ranges of days ("mon-fri"); values
// are one or more "HH:MM-HH:MM" ranges separated by commas. Days without
// hours are closed all day. quietMinutes is optional (default 60).
// The time that counts is the message's own timestamp.

const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

function parseDays(key) {
  const parts = key.split("-")
  const from = DAYS.indexOf(parts[0]), to = DAYS.indexOf(parts[parts.length - 1])
  if (parts.length > 2 || from < 0 || to < 0) {
    throw new TypeError(`hours: "${key}" is not a day (sun…sat) or a range of days (mon-fri)`)
  }
  const days = []
  for (let d = from; ; d = (d + 1) % 7) {
    days.push(d)
    if (d === to) return days
  }
}

function parseMinutes(hhmm, key) {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm)
  if (!m || +m[1] > 24 || +m[2] > 59 || (+m[1] === 24 && +m[2] > 0)) {
    throw new TypeError(`hours.${key}: "${hhmm}" is not a time (HH:MM)`)
  }
  return +m[1] * 60 + +m[2]
}

// openingHours turns config.hours into seven lists of [from, to) minutes.
function openingHours(hours) {
  const week = DAYS.map(() => [])
  for (const key of Object.keys(hours)) {
    if (typeof hours[key] !== "string") {
      throw new TypeError(`hours.${key} must be a string like "09:00-17:00"`)
    }
    const ranges = hours[key].split(",").map(range => {
      const ends = range.trim().split("-")
      if (ends.length !== 2) {
        throw new TypeError(`hours.${key}: "${range.trim()}" is not a range (HH:MM-HH:MM)`)
      }
      const from = parseMinutes(ends[0], key), to = parseMinutes(ends[1], key)
      if (to <= from) {
        throw new RangeError(`hours.${key}: "${range.trim()}" ends before it starts`)
      }
      return [from, to]
    })
    for (const day of parseDays(key)) {
      week[day].push(...ranges)
    }
  }
  return week
}

function validateConfig(config, ctx) {
  if (typeof config.timezone !== "string") {
    throw new TypeError("timezone is required (an IANA name such as Asia/Jakarta)")
  }
  ctx.localTime(0, config.timezone) // throws for an unknown zone
  if (typeof config.hours !== "object" || config.hours === null || Array.isArray(config.hours)) {
    throw new TypeError("hours is required: an object such as {\"mon-fri\": \"09:00-17:00\"}")
  }
  openingHours(config.hours)
  if (typeof config.text !== "string" || config.text.trim() === "") {
    throw new TypeError("text is required")
  }
  const quiet = config.quietMinutes
  if (quiet !== undefined && !(Number.isInteger(quiet) && quiet >= 0)) {
    throw new RangeError("quietMinutes must be a whole number of minutes")
  }
}

let week = null
// Chats answered recently (chat → time in ms). Kept while the runtime
// lives, so after a restart a chat may be answered once more.
const answered = new Map()
const MAX_REMEMBERED = 1000

function isOpen(local) {
  const minutes = local.hour * 60 + local.minute
  return week[local.weekday].some(([from, to]) => minutes >= from && minutes < to)
}

function onEvent(event, ctx) {
  const data = event.data
  if (event.type !== "message.received" || data.fromMe === true || data.isGroup === true ||
      typeof data.chat !== "string" || data.chat.endsWith("@g.us") || data.chat === "status@broadcast") {
    return event
  }
  if (week === null) {
    week = openingHours(ctx.config.hours)
  }
  const local = ctx.localTime(data.timestamp || event.createdAt || ctx.now, ctx.config.timezone)
  if (isOpen(local)) {
    return event
  }
  const at = local.epochMs
  const quiet = (ctx.config.quietMinutes ?? 60) * 60000
  const last = answered.get(data.chat)
  if (last !== undefined && at - last < quiet) {
    return event
  }
  ctx.reply(ctx.config.text)
  answered.delete(data.chat)
  answered.set(data.chat, at)
  if (answered.size > MAX_REMEMBERED) {
    answered.delete(answered.keys().next().value)
  }
  return event
}
