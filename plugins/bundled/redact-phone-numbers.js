// redact-phone-numbers: masks phone numbers written in message text and
// captions (runs of at least minDigits digits, optionally with +, spaces,
// dots, dashes or brackets between them), keeping the last few digits:
// "+62 811-2223-3344" becomes "+** ***-****-**44". Dates and amounts have
// fewer digits and stay.
//
// Config: {"keepLast": 2, "mask": "*", "minDigits": 9, "fields": ["text", "caption"]}
// (all optional; these are the defaults).

const PHONE = /\+?\(?\d[\d\s().-]{5,}\d/g

function validateConfig(config) {
  const keep = config.keepLast
  if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0 && keep <= 6)) {
    throw new RangeError("keepLast must be a whole number from 0 to 6")
  }
  const min = config.minDigits
  if (min !== undefined && !(Number.isInteger(min) && min >= 5 && min <= 15)) {
    throw new RangeError("minDigits must be a whole number from 5 to 15")
  }
  if (config.mask !== undefined && (typeof config.mask !== "string" || [...config.mask].length !== 1)) {
    throw new TypeError("mask must be a single character")
  }
  if (config.fields !== undefined && (!Array.isArray(config.fields) || !config.fields.every(f => typeof f === "string"))) {
    throw new TypeError("fields must be a list of field names")
  }
}

function redact(text, keepLast, mask, minDigits) {
  return text.replace(PHONE, match => {
    const digits = match.replace(/\D/g, "").length
    if (digits < minDigits) {
      return match
    }
    let seen = 0
    return match.replace(/\d/g, d => (++seen > digits - keepLast ? d : mask))
  })
}

function onEvent(event, ctx) {
  const keepLast = ctx.config.keepLast ?? 2
  const mask = ctx.config.mask ?? "*"
  const minDigits = ctx.config.minDigits ?? 9
  const fields = ctx.config.fields ?? ["text", "caption"]
  for (const field of fields) {
    if (typeof event.data[field] === "string") {
      event.data[field] = redact(event.data[field], keepLast, mask, minDigits)
    }
  }
  return event
}
