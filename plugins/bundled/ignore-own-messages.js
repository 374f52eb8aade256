// ignore-own-messages: drops messages the device's own account sent from
// its phone or another linked device (message.received with fromMe), so
// that receivers only see what contacts sent.
//
// Config: none.

function onEvent(event) {
  if (event.type === "message.received" && event.data.fromMe === true) {
    return null
  }
  return event
}
