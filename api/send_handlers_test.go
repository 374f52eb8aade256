package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/fakewa"
	"github.com/wa-gateway/wa-gateway/storage"
)

// sandbox is a workspace with one connected sandbox device, pacing off.
type sandbox struct {
	ts    *testServer
	admin cred
	ws    int64
	dev   int64
}

func newSandbox(t *testing.T, opts ...serverOption) *sandbox {
	t.Helper()
	ts := newTestServer(t, opts...)
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "phone", engineSim)
	ts.do("PATCH", "/api/devices/"+itoa(d.Device.ID), map[string]any{"pacing": "off"}, admin).ok(t, http.StatusOK, nil)
	ts.pair(t, admin, d.Device.ID)
	return &sandbox{ts: ts, admin: admin, ws: acc.Workspace.ID, dev: d.Device.ID}
}

// send posts a send request with the device id and returns the answer.
func (sb *sandbox) send(t *testing.T, path string, body map[string]any) *response {
	t.Helper()
	if _, ok := body["deviceId"]; !ok {
		body["deviceId"] = sb.dev
	}
	return sb.ts.do("POST", path, body, sb.admin)
}

// waitStatus waits until the message reaches status and returns it.
func (sb *sandbox) waitStatus(t *testing.T, id, status string) storage.Message {
	t.Helper()
	var m storage.Message
	waitFor(t, 5*time.Second, func() error {
		var err error
		if m, err = sb.ts.db.GetMessage(sb.ws, id); err != nil {
			return err
		}
		if m.Status != status {
			return fmt.Errorf("message %s is %s, want %s (error %+v)", id, m.Status, status, m.Error)
		}
		return nil
	})
	return m
}

// received returns what the contact received for the gateway message id.
func (sb *sandbox) received(t *testing.T, m storage.Message) engine.OutMessage {
	t.Helper()
	for _, out := range sb.ts.sim.Sent(sb.dev) {
		if out.WAID == m.WAID {
			return out
		}
	}
	t.Fatalf("the contact never received %s (%s)", m.ID, m.WAID)
	return engine.OutMessage{}
}

// messageCount is how many messages the device has stored.
func (sb *sandbox) messageCount(t *testing.T) int {
	t.Helper()
	msgs, _, err := sb.ts.db.ListMessages(sb.ws, storage.MessageFilter{DeviceID: sb.dev, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs)
}

// eventsOf returns the data of the workspace's events of one type.
func (sb *sandbox) eventsOf(t *testing.T, typ string) []json.RawMessage {
	t.Helper()
	evs, err := sb.ts.db.ReadEvents(sb.ws, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e.Data)
		}
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// TestSendEveryKind sends each kind of message through the HTTP API and
// checks, at the simulated contact's end, what arrived, and that each went
// queued → sent → delivered → read with its events.
func TestSendEveryKind(t *testing.T) {
	sb := newSandbox(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	img := pngBytes(t)
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/photo.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(img)
		case "/moved":
			http.Redirect(w, r, "/photo.png", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer media.Close()
	up := sb.upload(t, "report.pdf", "application/pdf", pdfBytes())
	voice := fakewa.VoiceNote(3)
	const to = "628111222333"

	tests := []struct {
		name  string
		path  string
		body  map[string]any
		check func(t *testing.T, got engine.OutMessage)
	}{
		{"text with mentions", "/api/messages/send-text", map[string]any{"to": to, "text": "hi @4915112345678", "mentions": []string{"4915112345678"}, "linkPreview": true},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeText || got.Text != "hi @4915112345678" || len(got.Mentions) != 1 || got.Mentions[0] != engine.UserJID("4915112345678") || !got.LinkPreview {
					t.Errorf("received %+v", got)
				}
			}},
		{"image from base64", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "base64": b64(img), "caption": "look"},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeImage || got.Text != "look" || got.Media.MimeType != "image/png" || !bytes.Equal(got.Media.Data, img) {
					t.Errorf("received %+v", got)
				}
			}},
		{"image from a URL with a redirect", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "url": media.URL + "/moved"},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeImage || !bytes.Equal(got.Media.Data, img) {
					t.Errorf("received %+v", got)
				}
			}},
		{"video", "/api/messages/send-media", map[string]any{"to": to, "kind": "video", "base64": b64(mp4Bytes()), "caption": "clip"},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeVideo || got.Media.MimeType != "video/mp4" || got.Text != "clip" {
					t.Errorf("received %+v", got.Media)
				}
			}},
		{"audio", "/api/messages/send-media", map[string]any{"to": to, "kind": "audio", "base64": b64(mp3Bytes())},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeAudio || got.Media.MimeType != "audio/mpeg" {
					t.Errorf("received %+v", got.Media)
				}
			}},
		{"voice note", "/api/messages/send-media", map[string]any{"to": to, "kind": "voice", "base64": b64(voice)},
			func(t *testing.T, got engine.OutMessage) {
				m := got.Media
				if got.Type != engine.TypeVoice || m.MimeType != "audio/ogg; codecs=opus" || m.Seconds != 3 || len(m.Waveform) != 64 {
					t.Fatalf("received %+v", m)
				}
				peak, low := 0, 100
				for _, v := range m.Waveform {
					peak, low = max(peak, int(v)), min(low, int(v))
				}
				if peak != 100 || low >= 50 {
					t.Errorf("waveform %v does not follow the packet sizes", m.Waveform)
				}
			}},
		{"document from an upload", "/api/messages/send-media", map[string]any{"to": to, "kind": "document", "fileId": up.ID, "caption": "Q3"},
			func(t *testing.T, got engine.OutMessage) {
				m := got.Media
				if got.Type != engine.TypeDocument || m.MimeType != "application/pdf" || m.FileName != "report.pdf" || !bytes.Equal(m.Data, pdfBytes()) || got.Text != "Q3" {
					t.Errorf("received %+v", got)
				}
			}},
		{"sticker", "/api/messages/send-media", map[string]any{"to": to, "kind": "sticker", "base64": b64(webpBytes())},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeSticker || got.Media.MimeType != "image/webp" {
					t.Errorf("received %+v", got.Media)
				}
			}},
		{"location", "/api/messages/send-location", map[string]any{"to": to, "latitude": -6.2, "longitude": 106.8, "name": "Monas", "address": "Jakarta"},
			func(t *testing.T, got engine.OutMessage) {
				if got.Type != engine.TypeLocation || *got.Location != (engine.Location{Latitude: -6.2, Longitude: 106.8, Name: "Monas", Address: "Jakarta"}) {
					t.Errorf("received %+v", got.Location)
				}
			}},
		{"contact from name and phone", "/api/messages/send-contact", map[string]any{"to": to, "name": "Ada Lovelace", "phone": "+44 7700 900123"},
			func(t *testing.T, got engine.OutMessage) {
				c := got.Contact
				if got.Type != engine.TypeContact || c.DisplayName != "Ada Lovelace" || !strings.Contains(c.VCard, "waid=447700900123:+447700900123") || !strings.HasPrefix(c.VCard, "BEGIN:VCARD") {
					t.Errorf("received %+v", c)
				}
			}},
		{"contact from a vCard", "/api/messages/send-contact", map[string]any{"to": to, "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL:+1555\nEND:VCARD"},
			func(t *testing.T, got engine.OutMessage) {
				if got.Contact.DisplayName != "Bob" {
					t.Errorf("received %+v", got.Contact)
				}
			}},
		{"poll", "/api/messages/send-poll", map[string]any{"to": to, "name": "Lunch?", "options": []string{"Pizza", "Sushi", "Salad"}, "selectableCount": 2},
			func(t *testing.T, got engine.OutMessage) {
				p := got.Poll
				if got.Type != engine.TypePoll || p.Name != "Lunch?" || len(p.Options) != 3 || p.Options[1] != "Sushi" || p.SelectableCount != 2 {
					t.Errorf("received %+v", p)
				}
			}},
		{"group text", "/api/messages/send-text", map[string]any{"to": "120363025246125486@g.us", "text": "hello group"},
			func(t *testing.T, got engine.OutMessage) {
				if got.To != (engine.JID{User: "120363025246125486", Server: engine.ServerGroup}) || got.Text != "hello group" {
					t.Errorf("received %+v", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sb.send(t, tt.path, tt.body)
			var m wireMessage
			r.ok(t, http.StatusAccepted, &m)
			if m.Status != "queued" || r.Header.Get("X-RateLimit-Remaining") == "" {
				t.Fatalf("answer %+v, headers %v", m, r.Header)
			}
			stored := sb.waitStatus(t, m.ID, "read")
			tt.check(t, sb.received(t, stored))
		})
	}
	// Every message went through the whole lifecycle, with its events.
	for _, typ := range []string{"message.sent", "message.ack"} {
		if n := len(sb.eventsOf(t, typ)); n < len(tests) {
			t.Errorf("%d %s events for %d messages", n, typ, len(tests))
		}
	}
	var got wireMessage
	sb.ts.do("GET", "/api/messages?deviceId="+itoa(sb.dev)+"&limit=1", nil, sb.admin).ok(t, http.StatusOK, &wireList[wireMessage]{})
	list, _, _ := sb.ts.db.ListMessages(sb.ws, storage.MessageFilter{DeviceID: sb.dev, Limit: 500})
	for _, m := range list {
		if m.Type == "poll" {
			sb.ts.do("GET", "/api/messages/"+m.ID, nil, sb.admin).ok(t, http.StatusOK, &got)
		}
	}
	if got.Type != "poll" {
		t.Errorf("GET of the poll = %+v", got)
	}
}

// TestReactEditRevoke reacts to, edits and revokes a sent message; each
// goes out pointing at the original's WhatsApp id, and the original shows
// the edit and the revocation.
func TestReactEditRevoke(t *testing.T) {
	sb := newSandbox(t)
	var orig wireMessage
	sb.send(t, "/api/messages/send-text?wait=true", map[string]any{"to": "628111222333", "text": "tpyo"}).ok(t, http.StatusOK, &orig)
	sent := sb.waitStatus(t, orig.ID, "read")

	var reply wireMessage
	sb.send(t, "/api/messages/send-text", map[string]any{"to": "628111222333", "text": "reply", "quotedId": orig.ID}).ok(t, http.StatusAccepted, &reply)
	if got := sb.received(t, sb.waitStatus(t, reply.ID, "read")); got.QuotedWAID != sent.WAID {
		t.Errorf("reply quotes %q, want %q", got.QuotedWAID, sent.WAID)
	}

	steps := []struct {
		path string
		body map[string]any
		want engine.MessageType
		text string
	}{
		{"/api/messages/send-reaction", map[string]any{"messageId": orig.ID, "emoji": "👍"}, engine.TypeReaction, "👍"},
		{"/api/messages/" + orig.ID + "/edit", map[string]any{"text": "typo"}, engine.TypeEdit, "typo"},
		{"/api/messages/" + orig.ID + "/revoke", map[string]any{}, engine.TypeRevoke, ""},
	}
	for _, st := range steps {
		var m wireMessage
		sb.ts.do("POST", st.path, st.body, sb.admin).ok(t, http.StatusAccepted, &m)
		got := sb.received(t, sb.waitStatus(t, m.ID, "read"))
		if got.Type != st.want || got.Text != st.text || got.Target == nil || got.Target.WAID != sent.WAID || !got.Target.FromMe {
			t.Errorf("%s received %+v (target %+v)", st.want, got, got.Target)
		}
	}
	var after struct {
		Text      string     `json:"text"`
		EditedAt  *time.Time `json:"editedAt"`
		RevokedAt *time.Time `json:"revokedAt"`
	}
	sb.ts.do("GET", "/api/messages/"+orig.ID, nil, sb.admin).ok(t, http.StatusOK, &after)
	if after.Text != "typo" || after.EditedAt == nil || after.RevokedAt == nil {
		t.Errorf("original after edit and revoke: %+v", after)
	}
	// A revoked message cannot be revoked or edited again; a received one
	// cannot be edited.
	sb.ts.do("POST", "/api/messages/"+orig.ID+"/revoke", map[string]any{}, sb.admin).fails(t, http.StatusConflict, "not_revocable")
	sb.ts.do("POST", "/api/messages/"+orig.ID+"/edit", map[string]any{"text": "x"}, sb.admin).fails(t, http.StatusConflict, "not_editable")
	sb.ts.do("POST", "/api/devices/"+itoa(sb.dev)+"/sandbox/inbound", map[string]any{"from": "628111222333", "text": "hey"}, sb.admin).ok(t, http.StatusAccepted, nil)
	var in storage.Message
	waitFor(t, 5*time.Second, func() error {
		msgs, _, err := sb.ts.db.ListMessages(sb.ws, storage.MessageFilter{DeviceID: sb.dev, Direction: "in", Limit: 1})
		if err != nil || len(msgs) == 0 {
			return fmt.Errorf("no inbound message yet (%v)", err)
		}
		in = msgs[0]
		return nil
	})
	sb.ts.do("POST", "/api/messages/"+in.ID+"/edit", map[string]any{"text": "x"}, sb.admin).fails(t, http.StatusConflict, "not_editable")
	// Reacting to a received message works.
	var r wireMessage
	sb.send(t, "/api/messages/send-reaction", map[string]any{"messageId": in.ID, "emoji": "❤️"}).ok(t, http.StatusAccepted, &r)
	if got := sb.received(t, sb.waitStatus(t, r.ID, "read")); got.Target.WAID != in.WAID || got.Target.FromMe {
		t.Errorf("reaction to a received message: target %+v", got.Target)
	}
}

// TestSendBadInput refuses bad input for each kind with its 4xx, and
// queues nothing.
func TestSendBadInput(t *testing.T) {
	small := int64(1024)
	sb := newSandbox(t, withConfig(func(c *Config) { c.MediaMaxBytes = small; c.DocumentMaxBytes = 4 * small }))
	img := pngBytes(t)
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(img) }))
	defer private.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/x.png"
	closed.Close()

	up := sb.upload(t, "a.png", "image/png", img)
	other := newSandboxIn(t, sb.ts)
	foreign := other.upload(t, "b.png", "image/png", img)

	var sent wireMessage
	sb.send(t, "/api/messages/send-text?wait=true", map[string]any{"to": "628111222333", "text": "x"}).ok(t, http.StatusOK, &sent)
	before := sb.messageCount(t)

	const to = "628111222333"
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		code   string
	}{
		{"no kind", "/api/messages/send-media", map[string]any{"to": to, "base64": b64(img)}, 400, "validation_failed"},
		{"unknown kind", "/api/messages/send-media", map[string]any{"to": to, "kind": "gif", "base64": b64(img)}, 400, "validation_failed"},
		{"no media", "/api/messages/send-media", map[string]any{"to": to, "kind": "image"}, 400, "validation_failed"},
		{"two sources", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "base64": b64(img), "fileId": up.ID}, 400, "validation_failed"},
		{"invalid base64", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "base64": "not base64!"}, 400, "validation_failed"},
		{"wrong kind", "/api/messages/send-media", map[string]any{"to": to, "kind": "video", "base64": b64(img)}, 400, "media_type_mismatch"},
		{"png as sticker", "/api/messages/send-media", map[string]any{"to": to, "kind": "sticker", "base64": b64(img)}, 400, "media_type_mismatch"},
		{"pdf as image", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "base64": b64(pdfBytes()), "mimetype": "image/png"}, 400, "media_type_mismatch"},
		{"mp3 as voice", "/api/messages/send-media", map[string]any{"to": to, "kind": "voice", "base64": b64(mp3Bytes())}, 400, "unsupported_voice_format"},
		{"stereo voice", "/api/messages/send-media", map[string]any{"to": to, "kind": "voice", "base64": b64(oggOpus(2, []int{10, 20}))}, 400, "unsupported_voice_format"},
		{"caption on voice", "/api/messages/send-media", map[string]any{"to": to, "kind": "voice", "base64": b64(fakewa.VoiceNote(3)), "caption": "x"}, 400, "validation_failed"},
		{"too large", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "base64": b64(append(img, make([]byte, small)...))}, 413, "media_too_large"},
		{"upload too large for an image", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "fileId": sb.upload(t, "big.png", "image/png", append(img, make([]byte, 2*small)...)).ID}, 413, "media_too_large"},
		{"private URL", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "url": private.URL + "/a.png"}, 400, "url_not_allowed"},
		{"metadata address", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "url": "http://169.254.169.254/latest"}, 400, "url_not_allowed"},
		{"not http", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "url": "file:///etc/passwd"}, 400, "invalid_url"},
		{"unknown fileId", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "fileId": storage.NewFileID()}, 404, "file_not_found"},
		{"fileId of another workspace", "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "fileId": foreign.ID}, 404, "file_not_found"},
		{"bad recipient", "/api/messages/send-media", map[string]any{"to": "nobody", "kind": "image", "base64": b64(img)}, 400, "invalid_recipient"},
		{"unknown device", "/api/messages/send-media", map[string]any{"deviceId": 99999, "to": to, "kind": "image", "base64": b64(img)}, 404, "device_not_found"},
		{"no latitude", "/api/messages/send-location", map[string]any{"to": to, "longitude": 1}, 400, "validation_failed"},
		{"latitude out of range", "/api/messages/send-location", map[string]any{"to": to, "latitude": 91, "longitude": 1}, 400, "validation_failed"},
		{"contact without name", "/api/messages/send-contact", map[string]any{"to": to, "phone": "628111222333"}, 400, "validation_failed"},
		{"contact with a bad phone", "/api/messages/send-contact", map[string]any{"to": to, "name": "A", "phone": "abc"}, 400, "validation_failed"},
		{"not a vCard", "/api/messages/send-contact", map[string]any{"to": to, "vcard": "hello"}, 400, "validation_failed"},
		{"reaction without message", "/api/messages/send-reaction", map[string]any{"emoji": "👍"}, 400, "validation_failed"},
		{"reaction without emoji", "/api/messages/send-reaction", map[string]any{"messageId": sent.ID}, 400, "validation_failed"},
		{"reaction to an unknown message", "/api/messages/send-reaction", map[string]any{"messageId": "msg_nope", "emoji": "👍"}, 404, "message_not_found"},
		{"reaction to another workspace's message", "/api/messages/send-reaction", map[string]any{"messageId": other.sentText(t), "emoji": "👍"}, 404, "message_not_found"},
		{"poll with one option", "/api/messages/send-poll", map[string]any{"to": to, "name": "Q", "options": []string{"a"}}, 400, "validation_failed"},
		{"poll with repeated options", "/api/messages/send-poll", map[string]any{"to": to, "name": "Q", "options": []string{"a", "a"}}, 400, "validation_failed"},
		{"poll choosing too many", "/api/messages/send-poll", map[string]any{"to": to, "name": "Q", "options": []string{"a", "b"}, "selectableCount": 3}, 400, "validation_failed"},
		{"poll without question", "/api/messages/send-poll", map[string]any{"to": to, "options": []string{"a", "b"}}, 400, "validation_failed"},
		{"bad mention", "/api/messages/send-text", map[string]any{"to": to, "text": "x", "mentions": []string{"1203@g.us"}}, 400, "validation_failed"},
		{"edit without text", "/api/messages/" + sent.ID + "/edit", map[string]any{}, 400, "validation_failed"},
		{"edit of an unknown message", "/api/messages/msg_nope/edit", map[string]any{"text": "x"}, 404, "message_not_found"},
		{"revoke of an unknown message", "/api/messages/msg_nope/revoke", map[string]any{}, 404, "message_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.body["deviceId"]; !ok && !strings.Contains(tt.path, "/msg_") {
				tt.body["deviceId"] = sb.dev
			}
			sb.ts.do("POST", tt.path, tt.body, sb.admin).fails(t, tt.status, tt.code)
		})
	}
	// Unreachable and failing URLs, allowed to be private.
	open := newSandbox(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	for name, url := range map[string]string{"closed port": closedURL, "404": private.URL + "/../missing"} {
		t.Run(name, func(t *testing.T) {
			if name == "404" {
				url = mustNotFoundServer(t)
			}
			open.send(t, "/api/messages/send-media", map[string]any{"to": to, "kind": "image", "url": url}).fails(t, http.StatusBadRequest, "media_fetch_failed")
		})
	}
	if open.messageCount(t) != 0 {
		t.Errorf("failed fetches queued messages")
	}
	if got := sb.messageCount(t); got != before {
		t.Errorf("%d messages stored after bad input, want %d", got, before)
	}
}

func mustNotFoundServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.URL + "/missing.png"
}

// newSandboxIn makes a second workspace with a device on the same server.
func newSandboxIn(t *testing.T, ts *testServer) *sandbox {
	t.Helper()
	acc := ts.register(t)
	admin := apiKey(acc.APIKey)
	d := ts.createDevice(t, admin, "other", engineSim)
	ts.do("PATCH", "/api/devices/"+itoa(d.Device.ID), map[string]any{"pacing": "off"}, admin).ok(t, http.StatusOK, nil)
	ts.pair(t, admin, d.Device.ID)
	return &sandbox{ts: ts, admin: admin, ws: acc.Workspace.ID, dev: d.Device.ID}
}

// sentText sends a text and returns its id once sent.
func (sb *sandbox) sentText(t *testing.T) string {
	t.Helper()
	var m wireMessage
	sb.send(t, "/api/messages/send-text?wait=true", map[string]any{"to": "628111222333", "text": "x"}).ok(t, http.StatusOK, &m)
	return m.ID
}

type wireFile struct {
	ID        string     `json:"id"`
	FileID    string     `json:"fileId"`
	MimeType  string     `json:"mimetype"`
	Size      int64      `json:"size"`
	SHA256    string     `json:"sha256"`
	FileName  string     `json:"filename"`
	ExpiresAt *time.Time `json:"expiresAt"`
}

// upload posts a file as multipart and returns what the server answered.
func (sb *sandbox) upload(t *testing.T, name, mimeType string, data []byte) wireFile {
	t.Helper()
	r := sb.uploadRaw(t, "file", name, mimeType, data)
	var f wireFile
	r.ok(t, http.StatusCreated, &f)
	return f
}

func (sb *sandbox) uploadRaw(t *testing.T, field, name, mimeType string, data []byte) *response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, field, name)}
	h["Content-Type"] = []string{mimeType}
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := part.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return sb.ts.do("POST", "/api/files", body.String(), sb.admin.with(cred{"Content-Type": w.FormDataContentType()}))
}

func TestFiles(t *testing.T) {
	sb := newSandbox(t, withConfig(func(c *Config) { c.DocumentMaxBytes = 64 << 10 }))
	data := pdfBytes()
	sum := sha256.Sum256(data)
	f := sb.upload(t, `C:\reports\q3.pdf`, "application/pdf", data)
	if f.ID != f.FileID || !strings.HasPrefix(f.ID, "file_") || f.MimeType != "application/pdf" || f.Size != int64(len(data)) ||
		f.SHA256 != hex.EncodeToString(sum[:]) || f.FileName != "q3.pdf" || f.ExpiresAt == nil || f.ExpiresAt.Before(time.Now().Add(23*time.Hour)) {
		t.Fatalf("uploaded %+v", f)
	}
	var got wireFile
	sb.ts.do("GET", "/api/files/"+f.ID, nil, sb.admin).ok(t, http.StatusOK, &got)
	if got.ID != f.ID || got.SHA256 != f.SHA256 || got.FileName != f.FileName || got.Size != f.Size || !got.ExpiresAt.Equal(*f.ExpiresAt) {
		t.Errorf("GET = %+v, want %+v", got, f)
	}
	r := sb.ts.do("GET", "/api/files/"+f.ID+"/content?download=1", nil, sb.admin)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, data) || r.Header.Get("Content-Type") != "application/pdf" ||
		r.Header.Get("Content-Disposition") != `attachment; filename=q3.pdf` {
		t.Errorf("content: %d %q %v", r.Status, r.Body, r.Header)
	}
	// Declared types are kept when the content agrees or cannot tell.
	if ogg := sb.upload(t, "v.ogg", "audio/ogg", fakewa.VoiceNote(3)); ogg.MimeType != "audio/ogg" {
		t.Errorf("ogg upload typed %q", ogg.MimeType)
	}
	if lie := sb.upload(t, "x.png", "image/png", data); lie.MimeType != "application/pdf" {
		t.Errorf("a PDF declared as PNG is typed %q", lie.MimeType)
	}

	other := newSandboxIn(t, sb.ts)
	other.ts.do("GET", "/api/files/"+f.ID, nil, other.admin).fails(t, http.StatusNotFound, "file_not_found")
	other.ts.do("GET", "/api/files/"+f.ID+"/content", nil, other.admin).fails(t, http.StatusNotFound, "file_not_found")
	sb.ts.do("GET", "/api/files/file_nope", nil, sb.admin).fails(t, http.StatusNotFound, "file_not_found")

	sb.uploadRaw(t, "file", "big.bin", "application/octet-stream", make([]byte, 65<<10)).fails(t, http.StatusRequestEntityTooLarge, "media_too_large")
	sb.uploadRaw(t, "attachment", "a.pdf", "application/pdf", data).fails(t, http.StatusBadRequest, "validation_failed")
	sb.ts.do("POST", "/api/files", map[string]any{"file": "x"}, sb.admin).fails(t, http.StatusBadRequest, "validation_failed")
	// A body over the JSON limit is still refused on other routes.
	sb.ts.do("POST", "/api/messages/send-text", `{"text":"`+strings.Repeat("a", DefaultBodyLimit)+`"}`, sb.admin).fails(t, http.StatusRequestEntityTooLarge, "payload_too_large")
}

// TestInboundMedia receives media from a simulated contact: the event
// carries a URL, the first GET downloads it through the device and caches
// it, the next ones come from the cache.
func TestInboundMedia(t *testing.T) {
	sb := newSandbox(t)
	img := pngBytes(t)
	sb.ts.do("POST", "/api/devices/"+itoa(sb.dev)+"/sandbox/inbound", map[string]any{
		"from": "628111222333", "pushName": "Ann", "media": map[string]any{"kind": "image", "base64": b64(img), "caption": "hi", "filename": "p.png"},
	}, sb.admin).ok(t, http.StatusAccepted, nil)
	var ev struct {
		ID    string `json:"id"`
		Type  string `json:"type"`
		Media struct {
			MimeType string `json:"mimetype"`
			Size     int64  `json:"size"`
			URL      string `json:"url"`
		} `json:"media"`
	}
	waitFor(t, 5*time.Second, func() error {
		evs := sb.eventsOf(t, "message.received")
		if len(evs) == 0 {
			return fmt.Errorf("no message.received")
		}
		return json.Unmarshal(evs[0], &ev)
	})
	// Without a public URL (the actors' tests cover it) the URL is a path.
	if ev.Type != "image" || ev.Media.MimeType != "image/png" || ev.Media.Size != int64(len(img)) ||
		ev.Media.URL != "/api/messages/"+ev.ID+"/media" {
		t.Fatalf("event %+v", ev)
	}
	path := ev.Media.URL
	for i := range 2 {
		r := sb.ts.do("GET", path, nil, sb.admin)
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, img) || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("GET %d: %d %v", i, r.Status, r.Header)
		}
		m, err := sb.ts.db.GetMessage(sb.ws, ev.ID)
		if err != nil || m.Media.FileID == "" {
			t.Fatalf("after GET %d the media is not cached: %+v, %v", i, m.Media, err)
		}
	}
	// Another workspace does not see it; a message without media has none.
	other := newSandboxIn(t, sb.ts)
	other.ts.do("GET", path, nil, other.admin).fails(t, http.StatusNotFound, "message_not_found")
	text := sb.sentText(t)
	sb.ts.do("GET", "/api/messages/"+text+"/media", nil, sb.admin).fails(t, http.StatusNotFound, "no_media")

	// A document, on another server.
	local := newSandbox(t)
	local.ts.do("POST", "/api/devices/"+itoa(local.dev)+"/sandbox/inbound", map[string]any{
		"from": "628111222333", "media": map[string]any{"kind": "document", "base64": b64(pdfBytes())},
	}, local.admin).ok(t, http.StatusAccepted, nil)
	waitFor(t, 5*time.Second, func() error {
		evs := local.eventsOf(t, "message.received")
		if len(evs) == 0 {
			return fmt.Errorf("no message.received")
		}
		return json.Unmarshal(evs[0], &ev)
	})
	r := local.ts.do("GET", ev.Media.URL, nil, local.admin)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, pdfBytes()) {
		t.Errorf("document GET: %d", r.Status)
	}
}
