// The Node.js client of the Device API Keys guide, as a customer would
// write it: a class around the global fetch, authenticated by a device API
// key in X-API-Key, sending {recipient, message}.
//
// Usage: WA_GATEWAY_URL=http://host:port WA_DEVICE_API_KEY=dev_… \
//        node whatsapp_client.mjs text <recipient> <message>
//        node whatsapp_client.mjs image <recipient> <fileId> <caption>
// It prints the gateway's JSON answer on one line.

class WhatsAppClient {
  constructor(deviceApiKey, baseUrl) {
    this.apiKey = deviceApiKey;
    this.baseUrl = baseUrl; // e.g. 'https://your-domain.com/api/whatsapp'
  }

  async sendMessage(recipient, message) {
    const response = await fetch(`${this.baseUrl}/send`, {
      method: 'POST',
      headers: {
        'X-API-Key': this.apiKey,
        'Content-Type': 'application/json'
      },
      body: JSON.stringify({ recipient, message })
    });
    return response.json();
  }

  async sendImage(recipient, fileId, caption) {
    const response = await fetch(`${this.baseUrl}/send/image`, {
      method: 'POST',
      headers: {
        'X-API-Key': this.apiKey,
        'Content-Type': 'application/json'
      },
      body: JSON.stringify({ recipient, fileId, caption })
    });
    return response.json();
  }
}

const [kind, recipient, ...rest] = process.argv.slice(2);
const client = new WhatsAppClient(process.env.WA_DEVICE_API_KEY, `${process.env.WA_GATEWAY_URL}/api/whatsapp`);
const result = kind === 'image'
  ? await client.sendImage(recipient, ...rest)
  : await client.sendMessage(recipient, ...rest);
console.log(JSON.stringify(result));
