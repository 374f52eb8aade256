// ignore-groups: drops events about group chats (messages, receipts,
// reactions, group updates), except for the groups listed in config.allow.
//
// Config: {"allow": ["120363012345678901@g.us"]} (optional).

function validateConfig(config) {
  if (config.allow !== undefined) {
    if (!Array.isArray(config.allow) || !config.allow.every(jid => typeof jid === "string")) {
      throw new TypeError("allow must be a list of group JIDs")
    }
  }
}

function isGroup(data) {
  return data.isGroup === true || (typeof data.chat === "string" && data.chat.endsWith("@g.us"))
}

function onEvent(event, ctx) {
  const data = event.data
  if (!isGroup(data)) {
    return event
  }
  const allow = ctx.config.allow || []
  return allow.includes(data.chat) ? event : null
}
