// flatten-for-crm: turns message.received into one flat object that
// simple CRM and spreadsheet receivers can map field by field, without
// nested objects or JIDs. Other events pass unchanged.
//
// The data becomes:
//   {messageId, deviceId, chatId, phone, name, isGroup, groupId, type,
//    text, mediaUrl, mimetype, fileName, receivedAt}
// (text is the caption for media; groupId is empty outside groups; values
// that are unknown are empty strings, never missing).
//
// Config: {"type": "crm.message"} (optional: also renames the event type).

function validateConfig(config) {
  if (config.type !== undefined && (typeof config.type !== "string" || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(config.type))) {
    throw new TypeError("type must be an event type such as crm.message")
  }
}

// phoneOf reads the number of a phone JID (628…@s.whatsapp.net); other
// JIDs (@lid, groups) carry no phone number.
function phoneOf(jid) {
  const m = /^(\d+)(?::\d+)?@s\.whatsapp\.net$/.exec(typeof jid === "string" ? jid : "")
  return m ? m[1] : ""
}

function onEvent(event, ctx) {
  if (event.type !== "message.received") {
    return event
  }
  const d = event.data
  const media = d.media || {}
  const isGroup = d.isGroup === true
  event.data = {
    messageId: d.id || "",
    deviceId: event.deviceId || 0,
    chatId: d.chat || "",
    phone: d.fromPhone || phoneOf(d.from),
    name: d.pushName || "",
    isGroup: isGroup,
    groupId: isGroup ? d.chat || "" : "",
    type: d.type || "unknown",
    text: d.text || d.caption || "",
    mediaUrl: media.url || "",
    mimetype: media.mimetype || "",
    fileName: media.filename || "",
    receivedAt: d.timestamp || event.createdAt || "",
  }
  if (ctx.config.type) {
    event.type = ctx.config.type
  }
  return event
}
