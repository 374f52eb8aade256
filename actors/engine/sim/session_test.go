package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

var (
	qrPattern       = regexp.MustCompile(`^2@[A-Za-z0-9+/]{64},[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=$`)
	waidPattern     = regexp.MustCompile(`^3EB0[0-9A-F]{16}$`)
	pairCodePattern = regexp.MustCompile(`^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$`)
)

func TestSimName(t *testing.T) {
	if got := New(Config{}).Name(); got != "sim" {
		t.Fatalf("Name() = %q, want sim", got)
	}
}

func TestSimQRRotationAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(nil)
		cfg.QRCount = 3
		d := openDevice(t, New(cfg), 1)
		if d.s.Paired() {
			t.Fatal("new device is paired")
		}
		start := time.Now()
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay - 1)
		d.expect() // nothing before the connect delay

		var codes []string
		for i := range 3 {
			if i == 0 {
				advance(1)
			} else {
				advance(DefaultQRInterval - 1)
				d.expect() // the previous code is still valid
				advance(1)
			}
			qr := d.expectTypes(engine.QR{})[0].(engine.QR)
			if !qrPattern.MatchString(qr.Code) {
				t.Fatalf("QR code %q does not look like a real one", qr.Code)
			}
			want := start.Add(DefaultConnectDelay + time.Duration(i+1)*DefaultQRInterval)
			if !qr.ExpiresAt.Equal(want) {
				t.Fatalf("QR %d expires at %v, want %v", i+1, qr.ExpiresAt, want)
			}
			codes = append(codes, qr.Code)
		}
		if codes[0] == codes[1] || codes[1] == codes[2] {
			t.Fatalf("QR codes do not rotate: %q", codes)
		}
		// The keys after the ref stay for the whole attempt.
		_, keys, _ := strings.Cut(codes[0], ",")
		if _, k2, _ := strings.Cut(codes[2], ","); k2 != keys {
			t.Fatalf("keys changed between codes: %q, %q", codes[0], codes[2])
		}

		advance(DefaultQRInterval)
		d.expect(engine.QRTimeout{})
		advance(time.Hour)
		d.expect() // stopped for good
		wantErr(t, "Scan after timeout", d.s.Scan(t.Context()), engine.ErrNoQR)

		// A new attempt starts a new cycle.
		qr := d.connectToQR()
		if qr.Code == codes[2] {
			t.Fatal("new attempt repeats the last code")
		}
	})
}

func TestSimConnectWhileConnectingIsNoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := openDevice(t, New(testConfig(nil)), 1)
		for range 3 {
			if err := d.s.Connect(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		advance(DefaultConnectDelay)
		d.expectTypes(engine.QR{}) // one attempt, one code
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		d.connectPairedFromQR()
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(time.Minute)
		d.expect()
	})
}

// connectPairedFromQR scans the QR on show.
func (d *device) connectPairedFromQR() {
	d.t.Helper()
	if err := d.s.Scan(d.t.Context()); err != nil {
		d.t.Fatalf("Scan: %v", err)
	}
	d.expectTypes(engine.Connected{})
}

func TestSimScanPairs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		d := openDevice(t, New(testConfig(store)), 42)

		wantErr(t, "Scan before Connect", d.s.Scan(t.Context()), engine.ErrNoQR)
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "Scan while connecting", d.s.Scan(t.Context()), engine.ErrNoQR)
		advance(DefaultConnectDelay)
		d.expectTypes(engine.QR{})

		if err := d.s.Scan(t.Context()); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		d.expect(engine.Connected{Phone: "15550000042", LID: "200000000000042", PushName: "Sandbox 42"})
		if !d.s.Paired() {
			t.Fatal("Paired() = false after Scan")
		}
		wantErr(t, "Scan when connected", d.s.Scan(t.Context()), engine.ErrNoQR)

		b, err := store.Get(42)
		if err != nil || b == nil {
			t.Fatalf("stored pairing: %q, %v", b, err)
		}
		var p pairing
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("stored pairing %q: %v", b, err)
		}
		if want := (pairing{Version: 1, Paired: true, Phone: "15550000042", LID: "200000000000042", PushName: "Sandbox 42"}); !reflect.DeepEqual(p, want) {
			t.Fatalf("stored pairing %+v, want %+v", p, want)
		}
		advance(time.Hour)
		d.expect() // no QR rotation after pairing
	})
}

func TestSimSandboxPhones(t *testing.T) {
	tests := []struct {
		id    int64
		phone string
	}{
		{1, "15550000001"},
		{9999999, "15559999999"},
		{12345678, "155512345678"},
	}
	for _, tt := range tests {
		p := sandboxPairing(tt.id)
		if p.Phone != tt.phone {
			t.Errorf("device %d: phone %q, want %q", tt.id, p.Phone, tt.phone)
		}
		if _, err := engine.NormalizePhone(p.Phone); err != nil {
			t.Errorf("device %d: phone %q is not a phone number: %v", tt.id, p.Phone, err)
		}
	}
}

func TestSimPairingSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		first := openDevice(t, New(testConfig(store)), 7)
		connected := first.connectPaired()
		first.close()

		// A new engine on the same store: no QR, straight to Connected.
		d := openDevice(t, New(testConfig(store)), 7)
		if !d.s.Paired() {
			t.Fatal("Paired() = false after reopening")
		}
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		d.expect(connected)
	})
}

func TestSimPairPhone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		d := openDevice(t, New(testConfig(store)), 5)

		_, err := d.s.PairPhone(t.Context(), "+49 151 2345678")
		wantErr(t, "PairPhone before Connect", err, engine.ErrNoQR)

		d.connectToQR()
		_, err = d.s.PairPhone(t.Context(), "12ab")
		wantErr(t, "PairPhone with a bad number", err, engine.ErrInvalidRecipient)

		code, err := d.s.PairPhone(t.Context(), "+49 151 2345678")
		if err != nil {
			t.Fatalf("PairPhone: %v", err)
		}
		if !pairCodePattern.MatchString(code) {
			t.Fatalf("pairing code %q does not look like a real one", code)
		}
		advance(DefaultConnectDelay - 1)
		d.expect()
		advance(1)
		d.expect(engine.Connected{Phone: "491512345678", LID: "200000000000005", PushName: "Sandbox 5"})
		if !d.s.Paired() {
			t.Fatal("Paired() = false after the code was confirmed")
		}
		if p, err := loadPairing(store, 5); err != nil || p.Phone != "491512345678" {
			t.Fatalf("stored pairing %+v, %v", p, err)
		}
		_, err = d.s.PairPhone(t.Context(), "+49 151 2345678")
		wantErr(t, "PairPhone when paired", err, engine.ErrNoQR)
		advance(time.Hour)
		d.expect()
	})
}

func TestSimPairPhoneWhileConnecting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := openDevice(t, New(testConfig(nil)), 5)
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := d.s.PairPhone(t.Context(), "4915112345678"); err != nil {
			t.Fatalf("PairPhone while connecting: %v", err)
		}
		advance(DefaultConnectDelay)
		d.expectTypes(engine.QR{}, engine.Connected{})
	})
}

// connectedDevice opens a device and pairs it.
func connectedDevice(t *testing.T, eng *Engine, id int64) *device {
	t.Helper()
	d := openDevice(t, eng, id)
	d.connectPaired()
	return d
}

func TestSimSendReceipts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := connectedDevice(t, eng, 3)
		to := engine.UserJID("4915112345678")
		group := engine.JID{User: "120363025246125486", Server: engine.ServerGroup}

		id1 := d.s.NewMessageID()
		if !waidPattern.MatchString(id1) {
			t.Fatalf("NewMessageID() = %q", id1)
		}
		sentAt := time.Now()
		m1 := engine.OutMessage{WAID: id1, To: to, Type: engine.TypeText, Text: "hello"}
		res, err := d.s.Send(t.Context(), m1)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		if res.WAID != id1 || !res.ServerTime.Equal(sentAt) {
			t.Fatalf("Send = %+v, want WAID %s at %v", res, id1, sentAt)
		}
		advance(time.Millisecond)
		// A second message, with no id, to a group.
		m2 := engine.OutMessage{To: group, Type: engine.TypeText, Text: "hi all"}
		res2, err := d.s.Send(t.Context(), m2)
		if err != nil {
			t.Fatalf("Send to group: %v", err)
		}
		if !waidPattern.MatchString(res2.WAID) || res2.WAID == id1 {
			t.Fatalf("Send without id = %+v, want a fresh id", res2)
		}
		m2.WAID = res2.WAID

		advance(DefaultAckDelay - 2*time.Millisecond)
		d.expect()
		advance(time.Millisecond)
		d.expect(engine.Receipt{Chat: to, WAIDs: []string{id1}, Status: engine.ReceiptDelivered, At: sentAt.Add(DefaultAckDelay)})
		advance(time.Millisecond)
		d.expect(engine.Receipt{Chat: group, WAIDs: []string{m2.WAID}, Status: engine.ReceiptDelivered, At: sentAt.Add(DefaultAckDelay + time.Millisecond)})
		advance(DefaultReadDelay)
		d.expect(
			engine.Receipt{Chat: to, WAIDs: []string{id1}, Status: engine.ReceiptRead, At: sentAt.Add(DefaultAckDelay + DefaultReadDelay)},
			engine.Receipt{Chat: group, WAIDs: []string{m2.WAID}, Status: engine.ReceiptRead, At: sentAt.Add(DefaultAckDelay + DefaultReadDelay + time.Millisecond)},
		)
		advance(time.Hour)
		d.expect()

		got := eng.Sent(3)
		if len(got) != 2 || !equalOut(got[0], m1) || !equalOut(got[1], m2) {
			t.Fatalf("Sent(3) = %+v, want exactly the two messages", got)
		}
		if other := eng.Sent(4); len(other) != 0 {
			t.Fatalf("Sent(4) = %+v, want nothing", other)
		}
	})
}

func equalOut(a, b engine.OutMessage) bool {
	return a.WAID == b.WAID && a.To == b.To && a.Type == b.Type && a.Text == b.Text && a.QuotedWAID == b.QuotedWAID
}

func TestSimSendRecordsEverySend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(nil)
		cfg.KeepSent = 3
		eng := New(cfg)
		d := connectedDevice(t, eng, 3)
		msg := engine.OutMessage{WAID: d.s.NewMessageID(), To: engine.UserJID("4915112345678"), Type: engine.TypeText, Text: "x"}
		for range 2 { // the same message twice: the contact sees it twice
			if _, err := d.s.Send(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(eng.Sent(3)); n != 2 {
			t.Fatalf("Sent after sending one message twice: %d entries, want 2", n)
		}
		var last []string
		for i := range 4 {
			m := msg
			m.WAID = ""
			m.Text = strings.Repeat("y", i+1)
			res, err := d.s.Send(t.Context(), m)
			if err != nil {
				t.Fatal(err)
			}
			last = append(last, res.WAID)
		}
		got := eng.Sent(3)
		if len(got) != 3 || got[0].WAID != last[1] || got[2].WAID != last[3] {
			t.Fatalf("Sent keeps %d entries (%+v), want the last 3", len(got), got)
		}
		got[0].Text = "changed"
		if eng.Sent(3)[0].Text == "changed" {
			t.Fatal("Sent returns the engine's own slice")
		}
	})
}

func TestSimSendErrors(t *testing.T) {
	tests := []struct {
		name      string
		to        engine.JID
		connected bool
		want      error
	}{
		{"not connected", engine.UserJID("4915112345678"), false, engine.ErrNotConnected},
		{"not on WhatsApp", engine.UserJID("9991234567"), true, engine.ErrNotOnWhatsApp},
		{"zero JID", engine.JID{}, true, engine.ErrInvalidRecipient},
		{"bad phone", engine.UserJID("12ab5678"), true, engine.ErrInvalidRecipient},
		{"newsletter", engine.JID{User: "120363@", Server: engine.ServerNewsletter}, true, engine.ErrInvalidRecipient},
		{"broadcast", engine.JID{User: "status", Server: engine.ServerBroadcast}, true, engine.ErrInvalidRecipient},
		{"unknown server", engine.JID{User: "123456", Server: "example.com"}, true, engine.ErrInvalidRecipient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				eng := New(testConfig(nil))
				d := openDevice(t, eng, 1)
				if tt.connected {
					d.connectPaired()
				}
				_, err := d.s.Send(t.Context(), engine.OutMessage{To: tt.to, Type: engine.TypeText, Text: "x"})
				wantErr(t, "Send", err, tt.want)
				advance(time.Hour)
				d.expect()
				if sent := eng.Sent(1); len(sent) != 0 {
					t.Fatalf("failed send recorded: %+v", sent)
				}
			})
		})
	}
}

func TestSimCheckPhones(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := openDevice(t, New(testConfig(nil)), 1)
		_, err := d.s.CheckPhones(t.Context(), []string{"4915112345678"})
		wantErr(t, "CheckPhones unconnected", err, engine.ErrNotConnected)
		d.connectPaired()

		got, err := d.s.CheckPhones(t.Context(), []string{"4915112345678", "9991234567", "+1 (555) 123-4567", "nope"})
		if err != nil {
			t.Fatal(err)
		}
		want := []engine.PhoneCheck{
			{Phone: "4915112345678", OnWhatsApp: true, JID: engine.UserJID("4915112345678")},
			{Phone: "9991234567"},
			{Phone: "+1 (555) 123-4567", OnWhatsApp: true, JID: engine.UserJID("15551234567")},
			{Phone: "nope"},
		}
		if len(got) != len(want) {
			t.Fatalf("CheckPhones = %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("CheckPhones[%d] = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}

func TestSimInbound(t *testing.T) {
	image := &engine.Media{Kind: engine.TypeImage, MimeType: "image/png", Data: []byte("png")}
	tests := []struct {
		name string
		in   engine.SandboxInbound
		want engine.Message // without WAID and Timestamp
	}{
		{
			name: "phone",
			in:   engine.SandboxInbound{From: "+49 151 1234 5678", PushName: "Ada", Text: "hi"},
			want: engine.Message{Chat: engine.UserJID("4915112345678"), Sender: engine.UserJID("4915112345678"), SenderPhone: "4915112345678", PushName: "Ada", Type: engine.TypeText, Text: "hi"},
		},
		{
			name: "user JID with device",
			in:   engine.SandboxInbound{From: "4915112345678:3@s.whatsapp.net", Text: "hi"},
			want: engine.Message{Chat: engine.UserJID("4915112345678"), Sender: engine.UserJID("4915112345678"), SenderPhone: "4915112345678", Type: engine.TypeText, Text: "hi"},
		},
		{
			name: "LID",
			in:   engine.SandboxInbound{From: "123456789012345@lid", Text: "hi"},
			want: engine.Message{Chat: engine.JID{User: "123456789012345", Server: engine.ServerLID}, Sender: engine.JID{User: "123456789012345", Server: engine.ServerLID}, SenderLID: "123456789012345", Type: engine.TypeText, Text: "hi"},
		},
		{
			name: "group",
			in:   engine.SandboxInbound{From: "120363025246125486@g.us", PushName: "Bob", Text: "hi all"},
			want: engine.Message{Chat: engine.JID{User: "120363025246125486", Server: engine.ServerGroup}, Sender: engine.UserJID(GroupSenderPhone), SenderPhone: GroupSenderPhone, PushName: "Bob", IsGroup: true, Type: engine.TypeText, Text: "hi all"},
		},
		{
			name: "image with caption",
			in:   engine.SandboxInbound{From: "4915112345678", Text: "look", Media: image},
			want: engine.Message{Chat: engine.UserJID("4915112345678"), Sender: engine.UserJID("4915112345678"), SenderPhone: "4915112345678", Type: engine.TypeImage, Text: "look",
				Media: &engine.Media{Kind: engine.TypeImage, MimeType: "image/png", Size: 3, Data: []byte("png")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := connectedDevice(t, New(testConfig(nil)), 1)
				if err := d.s.Inbound(t.Context(), tt.in); err != nil {
					t.Fatalf("Inbound: %v", err)
				}
				got := d.expectTypes(engine.Message{})[0].(engine.Message)
				if !waidPattern.MatchString(got.WAID) {
					t.Fatalf("inbound WAID %q", got.WAID)
				}
				if !got.Timestamp.Equal(time.Now()) {
					t.Fatalf("inbound Timestamp %v, want now %v", got.Timestamp, time.Now())
				}
				want := tt.want
				want.WAID, want.Timestamp = got.WAID, got.Timestamp
				if want.Media != nil {
					// The media waits on the simulated servers; the message carries its ref.
					if got.Media == nil || !strings.HasPrefix(got.Media.Ref, mediaRefPrefix) {
						t.Fatalf("inbound media %+v, want a ref", got.Media)
					}
					data, err := d.s.DownloadMedia(t.Context(), got.Media.Ref)
					if err != nil || !bytes.Equal(data, want.Media.Data) {
						t.Fatalf("DownloadMedia = %q, %v; want %q", data, err, want.Media.Data)
					}
					media := *want.Media
					media.Ref, media.Data = got.Media.Ref, nil
					want.Media = &media
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("inbound message:\n got  %+v\n want %+v", got, want)
				}
			})
		})
	}
}

func TestSimInboundErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        engine.SandboxInbound
		connected bool
		want      error
	}{
		{"not connected", engine.SandboxInbound{From: "4915112345678", Text: "hi"}, false, engine.ErrNotConnected},
		{"bad from", engine.SandboxInbound{From: "ada", Text: "hi"}, true, engine.ErrInvalidRecipient},
		{"empty from", engine.SandboxInbound{Text: "hi"}, true, engine.ErrInvalidRecipient},
		{"newsletter", engine.SandboxInbound{From: "1203@newsletter", Text: "hi"}, true, engine.ErrInvalidRecipient},
		{"empty", engine.SandboxInbound{From: "4915112345678", Text: "  "}, true, ErrBadInbound},
		{"media kind", engine.SandboxInbound{From: "4915112345678", Media: &engine.Media{Kind: engine.TypeLocation}}, true, ErrBadInbound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := openDevice(t, New(testConfig(nil)), 1)
				if tt.connected {
					d.connectPaired()
				}
				wantErr(t, "Inbound", d.s.Inbound(t.Context(), tt.in), tt.want)
				d.expect()
			})
		})
	}
}

func TestSimFaults(t *testing.T) {
	tests := []struct {
		kind         string
		want         engine.Event
		pairedAfter  bool
		reconnection []engine.Event // what Connect brings afterwards
	}{
		{engine.FaultDisconnect, engine.Disconnected{Reason: "connection lost", Transient: true}, true, []engine.Event{engine.Connected{}}},
		{engine.FaultLogout, engine.LoggedOut{Reason: "logged out from the phone"}, false, []engine.Event{engine.QR{}}},
		{engine.FaultStreamReplaced, engine.StreamReplaced{}, true, []engine.Event{engine.Connected{}}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := NewMemoryStore()
				d := connectedDevice(t, New(testConfig(store)), 1)
				if err := d.s.Fault(t.Context(), tt.kind); err != nil {
					t.Fatalf("Fault: %v", err)
				}
				d.expect(tt.want)
				if d.s.Paired() != tt.pairedAfter {
					t.Fatalf("Paired() = %v, want %v", d.s.Paired(), tt.pairedAfter)
				}
				if b, _ := store.Get(1); (b != nil) != tt.pairedAfter {
					t.Fatalf("stored pairing %q, want stored=%v", b, tt.pairedAfter)
				}
				// The connection is gone: no sending, no more faults of that kind.
				_, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"})
				wantErr(t, "Send after fault", err, engine.ErrNotConnected)

				if err := d.s.Connect(t.Context()); err != nil {
					t.Fatal(err)
				}
				advance(DefaultConnectDelay)
				d.expectTypes(tt.reconnection...)
			})
		})
	}
}

func TestSimFaultBan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig(nil)
		eng := New(cfg)
		d := connectedDevice(t, eng, 1)
		if err := d.s.Fault(t.Context(), engine.FaultBan); err != nil {
			t.Fatal(err)
		}
		expires := time.Now().Add(DefaultBanDuration)
		ban := d.expectTypes(engine.TemporaryBan{})[0].(engine.TemporaryBan)
		if !ban.Expires.Equal(expires) || ban.Reason == "" {
			t.Fatalf("TemporaryBan = %+v, want a reason and expiry %v", ban, expires)
		}
		if !d.s.Paired() {
			t.Fatal("a ban removed the pairing")
		}
		_, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"})
		wantErr(t, "Send while banned", err, engine.ErrNotConnected)

		// Every login during the ban is refused again, also on a new session.
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		d.expect(ban)
		d.close()
		d = openDevice(t, eng, 1)
		// The last refused login answers 1ns before the ban expires.
		advance(time.Until(expires) - DefaultConnectDelay - 1)
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		d.expect(ban)

		// Once it expires, the device logs in.
		advance(time.Until(expires))
		if !time.Now().Equal(expires) {
			t.Fatalf("clock at %v, want %v", time.Now(), expires)
		}
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		d.expectTypes(engine.Connected{})
	})
}

func TestSimFaultErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := openDevice(t, New(testConfig(nil)), 1)
		wantErr(t, "unknown fault", d.s.Fault(t.Context(), "flood"), ErrUnknownFault)
		for _, kind := range []string{engine.FaultDisconnect, engine.FaultBan, engine.FaultStreamReplaced} {
			wantErr(t, kind+" unconnected", d.s.Fault(t.Context(), kind), engine.ErrNotConnected)
		}
		wantErr(t, "logout unpaired", d.s.Fault(t.Context(), engine.FaultLogout), engine.ErrNotPaired)
		d.connectToQR()
		wantErr(t, "disconnect while showing a QR", d.s.Fault(t.Context(), engine.FaultDisconnect), engine.ErrNotConnected)
		d.connectPairedFromQR()
		wantErr(t, "unknown fault when connected", d.s.Fault(t.Context(), ""), ErrUnknownFault)
		d.expect()
	})
}

func TestSimLogoutFromPhoneWhileOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := connectedDevice(t, New(testConfig(nil)), 1)
		d.s.Disconnect()
		d.expect(engine.Disconnected{Reason: "requested"})
		if err := d.s.Fault(t.Context(), engine.FaultLogout); err != nil {
			t.Fatal(err)
		}
		d.expect(engine.LoggedOut{Reason: "logged out from the phone"})
	})
}

func TestSimDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := openDevice(t, New(testConfig(nil)), 1)
		d.connectToQR()
		d.s.Disconnect()
		d.expect(engine.Disconnected{Reason: "requested"})
		advance(time.Hour)
		d.expect() // QR rotation stopped
		if d.s.Paired() {
			t.Fatal("unpaired device became paired")
		}

		d.connectToQR()
		d.connectPairedFromQR()
		d.s.Disconnect()
		d.expect(engine.Disconnected{Reason: "requested"})
		if !d.s.Paired() {
			t.Fatal("Disconnect removed the pairing")
		}
		d.s.Disconnect() // also when already disconnected
		d.expect(engine.Disconnected{Reason: "requested"})
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		d.expectTypes(engine.Connected{})
	})
}

func TestSimLogout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		d := connectedDevice(t, New(testConfig(store)), 1)
		if err := d.s.Logout(t.Context()); err != nil {
			t.Fatalf("Logout: %v", err)
		}
		d.expect(engine.LoggedOut{Reason: "requested"})
		if d.s.Paired() {
			t.Fatal("Paired() = true after Logout")
		}
		if b, _ := store.Get(1); b != nil {
			t.Fatalf("pairing still stored: %q", b)
		}
		d.connectToQR()
	})
}

func TestSimStoreFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &failingStore{MemoryStore: NewMemoryStore()}
		eng := New(testConfig(store))
		d := openDevice(t, eng, 1)
		d.connectToQR()

		store.failPut.Store(true)
		wantErr(t, "Scan with a failing store", d.s.Scan(t.Context()), errStoreDown)
		if d.s.Paired() {
			t.Fatal("paired although the pairing was not stored")
		}
		d.expect()
		// Pairing by code fails the same way, and says so.
		if _, err := d.s.PairPhone(t.Context(), "4915112345678"); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		d.expect(engine.Disconnected{Reason: reasonPairingStore, Transient: true})

		store.failPut.Store(false)
		d.connectPaired()
		store.failDelete.Store(true)
		wantErr(t, "Logout with a failing store", d.s.Logout(t.Context()), errStoreDown)
		wantErr(t, "logout fault with a failing store", d.s.Fault(t.Context(), engine.FaultLogout), errStoreDown)
		d.expect()
		if !d.s.Paired() {
			t.Fatal("failed logout removed the pairing")
		}
		wantErr(t, "Forget with a failing store", eng.Forget(t.Context(), 1), errStoreDown)

		store.failGet.Store(true)
		_, err := eng.Open(t.Context(), 2, nil)
		wantErr(t, "Open with a failing store", err, errStoreDown)
	})
}

func TestSimOpenBadState(t *testing.T) {
	for _, blob := range []string{"{", `{"v":2,"paired":true,"phone":"1"}`, `{"v":1,"paired":true}`, `[]`} {
		store := NewMemoryStore()
		if err := store.Put(1, []byte(blob)); err != nil {
			t.Fatal(err)
		}
		_, err := New(testConfig(store)).Open(t.Context(), 1, nil)
		wantErr(t, "Open with "+blob, err, ErrBadState)
	}
}

func TestSimOpenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := New(testConfig(nil)).Open(ctx, 1, nil)
	wantErr(t, "Open", err, context.Canceled)
}

func TestSimForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := NewMemoryStore()
		eng := New(testConfig(store))
		d := connectedDevice(t, eng, 1)
		if _, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := d.s.Fault(t.Context(), engine.FaultBan); err != nil {
			t.Fatal(err)
		}
		d.close()
		if err := eng.Forget(t.Context(), 1); err != nil {
			t.Fatal(err)
		}
		if err := eng.Forget(t.Context(), 1); err != nil {
			t.Fatalf("Forget of nothing: %v", err)
		}
		if b, _ := store.Get(1); b != nil {
			t.Fatalf("pairing still stored: %q", b)
		}
		if sent := eng.Sent(1); len(sent) != 0 {
			t.Fatalf("Sent after Forget: %+v", sent)
		}
		// The ban went with it: the device starts over with a QR.
		d = openDevice(t, eng, 1)
		if d.s.Paired() {
			t.Fatal("forgotten device is paired")
		}
		d.connectToQR()
	})
}

func TestSimNoEmitAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := connectedDevice(t, eng, 1)
		for range 5 {
			if _, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		other := openDevice(t, eng, 2)
		other.connectToQR()

		d.close() // the recorder fails the test on any later emit
		other.close()
		advance(24 * time.Hour)
		d.expect()
		other.expect()

		ctx := t.Context()
		wantErr(t, "Connect after Close", d.s.Connect(ctx), engine.ErrClosed)
		_, err := d.s.Send(ctx, engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"})
		wantErr(t, "Send after Close", err, engine.ErrClosed)
		wantErr(t, "Inbound after Close", d.s.Inbound(ctx, engine.SandboxInbound{From: "4915112345678", Text: "x"}), engine.ErrClosed)
		wantErr(t, "Fault after Close", d.s.Fault(ctx, engine.FaultDisconnect), engine.ErrClosed)
		wantErr(t, "Logout after Close", d.s.Logout(ctx), engine.ErrClosed)
		_, err = d.s.CheckPhones(ctx, []string{"4915112345678"})
		wantErr(t, "CheckPhones after Close", err, engine.ErrClosed)
		_, err = other.s.PairPhone(ctx, "4915112345678")
		wantErr(t, "PairPhone after Close", err, engine.ErrClosed)
		wantErr(t, "Scan after Close", other.s.Scan(ctx), engine.ErrClosed)
		d.s.Disconnect()
		d.close() // twice is fine
		if !d.s.Paired() {
			t.Fatal("Paired() changed by Close")
		}
		d.expect()
		// synctest.Test fails if a session's goroutine is still alive here.
	})
}

// TestSimReceiptsWhileOffline checks that receipts due while the device is
// offline, or still on their way when its session closes, arrive in order
// right after it connects again.
func TestSimReceiptsWhileOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := connectedDevice(t, eng, 1)
		to := engine.UserJID("4915112345678")
		res, err := d.s.Send(t.Context(), engine.OutMessage{To: to, Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		sentAt := time.Now()
		if err := d.s.Fault(t.Context(), engine.FaultDisconnect); err != nil {
			t.Fatal(err)
		}
		d.expectTypes(engine.Disconnected{})
		advance(DefaultAckDelay)
		d.expect() // delivered, but the device is offline
		d.close()  // read is still on its way

		d = openDevice(t, eng, 1)
		if err := d.s.Connect(t.Context()); err != nil {
			t.Fatal(err)
		}
		advance(DefaultConnectDelay)
		ids := []string{res.WAID}
		evs := d.expectTypes(engine.Connected{}, engine.Receipt{}, engine.Receipt{})
		want := []engine.Receipt{
			{Chat: to, WAIDs: ids, Status: engine.ReceiptDelivered, At: sentAt.Add(DefaultAckDelay)},
			{Chat: to, WAIDs: ids, Status: engine.ReceiptRead, At: sentAt.Add(DefaultAckDelay + DefaultReadDelay)},
		}
		for i, w := range want {
			got := evs[i+1].(engine.Receipt)
			if got.Chat != w.Chat || got.Status != w.Status || got.WAIDs[0] != w.WAIDs[0] || !got.At.Equal(w.At) {
				t.Fatalf("held receipt %d = %+v, want %+v", i, got, w)
			}
		}
		advance(time.Hour)
		d.expect()
	})
}

func TestSimLogoutDropsReceipts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		eng := New(testConfig(nil))
		d := connectedDevice(t, eng, 1)
		if _, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := d.s.Logout(t.Context()); err != nil {
			t.Fatal(err)
		}
		d.expectTypes(engine.LoggedOut{})
		d.connectToQR()
		d.connectPairedFromQR()
		advance(time.Hour)
		d.expect()
	})
}

func TestSimDeterministicRandom(t *testing.T) {
	run := func() []string {
		var out []string
		synctest.Test(t, func(t *testing.T) {
			d := openDevice(t, New(testConfig(nil)), 1)
			out = append(out, d.connectToQR().Code, d.s.NewMessageID())
			code, err := d.s.PairPhone(t.Context(), "4915112345678")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, code)
		})
		return out
	}
	a, b := run(), run()
	if strings.Join(a, " ") != strings.Join(b, " ") {
		t.Fatalf("same seed, different values:\n%q\n%q", a, b)
	}
	// Without a seed (crypto/rand), values differ.
	e := New(Config{})
	if e.newMessageID() == e.newMessageID() {
		t.Fatal("crypto/rand gave the same message id twice")
	}
}

func TestSimInjectedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fixed := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
		cfg := testConfig(nil)
		cfg.Now = func() time.Time { return fixed }
		d := openDevice(t, New(cfg), 1)
		qr := d.connectToQR()
		if !qr.ExpiresAt.Equal(fixed.Add(DefaultQRInterval)) {
			t.Fatalf("QR expires at %v, want from the injected clock", qr.ExpiresAt)
		}
		d.connectPairedFromQR()
		res, err := d.s.Send(t.Context(), engine.OutMessage{To: engine.UserJID("4915112345678"), Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if !res.ServerTime.Equal(fixed) {
			t.Fatalf("ServerTime %v, want %v", res.ServerTime, fixed)
		}
	})
}

func TestSimContextCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := openDevice(t, New(testConfig(nil)), 1)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		wantErr(t, "Connect", d.s.Connect(ctx), context.Canceled)
		advance(time.Minute)
		d.expect()
	})
}
