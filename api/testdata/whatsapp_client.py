"""The Python client of the Device API Keys guide, as a customer would write
it: a class authenticated by a device API key in X-API-Key, sending
{recipient, message}. It uses the standard library's urllib.request where
the guide uses requests, with the same class shape; like requests'
response.json(), it returns the JSON answer whatever the HTTP status.

Usage: WA_GATEWAY_URL=http://host:port WA_DEVICE_API_KEY=dev_... \\
       python3 whatsapp_client.py text <recipient> <message>
It prints the gateway's JSON answer on one line.
"""

import json
import os
import sys
import urllib.error
import urllib.request


class WhatsAppClient:
    def __init__(self, device_api_key, base_url):
        self.api_key = device_api_key
        self.base_url = base_url  # e.g. 'https://your-domain.com/api/whatsapp'

    def send_message(self, recipient, message):
        request = urllib.request.Request(
            f'{self.base_url}/send',
            method='POST',
            headers={
                'X-API-Key': self.api_key,
                'Content-Type': 'application/json'
            },
            data=json.dumps({
                'recipient': recipient,
                'message': message
            }).encode()
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            with error:
                return json.load(error)


if __name__ == '__main__':
    kind, recipient, message = sys.argv[1:4]
    if kind != 'text':
        sys.exit(f'unknown kind {kind}: this client sends text')
    client = WhatsAppClient(os.environ['WA_DEVICE_API_KEY'], os.environ['WA_GATEWAY_URL'] + '/api/whatsapp')
    print(json.dumps(client.send_message(recipient, message)))
