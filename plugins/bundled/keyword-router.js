// keyword-router: adds data.route to incoming messages from the first rule
// whose keywords (whole words, any case) or pattern (a regular expression,
// any case) match the text or caption; config.default when none does.
//
// Config:
//   {"rules": [{"keywords": ["order", "buy"], "route": "sales"},
//              {"pattern": "\\b(refund|broken)\\b", "route": "support"}],
//    "default": "general",
//    "field": "route"}
// ("default" and "field" are optional; without a default, unmatched
// messages get no route.)

function validateConfig(config) {
  if (!Array.isArray(config.rules) || config.rules.length === 0) {
    throw new TypeError("rules must be a non-empty list")
  }
  config.rules.forEach((rule, i) => {
    if (typeof rule.route !== "string" || rule.route === "") {
      throw new TypeError(`rules[${i}].route must be a non-empty string`)
    }
    const hasKeywords = Array.isArray(rule.keywords) && rule.keywords.length > 0 &&
      rule.keywords.every(k => typeof k === "string" && k.trim() !== "")
    const hasPattern = typeof rule.pattern === "string" && rule.pattern !== ""
    if (hasKeywords === hasPattern) {
      throw new TypeError(`rules[${i}] needs either keywords (a list of words) or a pattern`)
    }
    if (hasPattern) {
      new RegExp(rule.pattern, "i") // throws a SyntaxError naming the problem
    }
  })
  if (config.default !== undefined && typeof config.default !== "string") {
    throw new TypeError("default must be a string")
  }
  if (config.field !== undefined && (typeof config.field !== "string" || config.field === "")) {
    throw new TypeError("field must be a non-empty string")
  }
}

// isWordChar: letters (of scripts with case), digits and "_" make words.
function isWordChar(ch) {
  return ch !== undefined && (/[0-9_]/.test(ch) || ch.toLowerCase() !== ch.toUpperCase())
}

// hasWord finds word (lower case) in text (lower case) as a whole word.
function hasWord(text, word) {
  for (let at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + 1)) {
    if (!isWordChar(text[at - 1]) && !isWordChar(text[at + word.length])) {
      return true
    }
  }
  return false
}

// Compiled once per runtime: the config never changes while it lives.
let compiled = null

function rules(config) {
  if (compiled === null) {
    compiled = config.rules.map(rule => {
      if (rule.pattern !== undefined) {
        const re = new RegExp(rule.pattern, "i")
        return { route: rule.route, matches: text => re.test(text) }
      }
      const words = rule.keywords.map(k => k.trim().toLowerCase())
      return { route: rule.route, matches: text => words.some(w => hasWord(text.toLowerCase(), w)) }
    })
  }
  return compiled
}

function onEvent(event, ctx) {
  if (event.type !== "message.received") {
    return event
  }
  const text = [event.data.text, event.data.caption].filter(t => typeof t === "string").join("\n")
  const hit = rules(ctx.config).find(rule => rule.matches(text))
  const route = hit ? hit.route : ctx.config.default
  if (route !== undefined) {
    event.data[ctx.config.field || "route"] = route
  }
  return event
}
