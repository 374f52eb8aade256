// drop-status-broadcasts: drops every event about WhatsApp Status
// (stories), which arrive as messages in the chat "status@broadcast".
//
// Config: none.

function onEvent(event) {
  const data = event.data
  if (data.chat === "status@broadcast" || data.from === "status@broadcast") {
    return null
  }
  return event
}
