package storage

import (
	"bytes"
	"cmp"
	"os"
	"strings"
	"testing"
)

// keyCodecs parse a key of one class and build it again from the parts.
var keyCodecs = []struct {
	name    string
	rebuild func(k []byte) ([]byte, error)
}{
	{"session", func(k []byte) ([]byte, error) {
		h, err := parseSessionKey(k)
		return sessionKey(h), err
	}},
	{"key hash", func(k []byte) ([]byte, error) {
		h, err := parseAPIKeyHashKey(k)
		return apiKeyHashKey(h), err
	}},
	{"workspace key", func(k []byte) ([]byte, error) {
		ws, id, err := parseWorkspaceAPIKeyKey(k)
		return workspaceAPIKeyKey(ws, id), err
	}},
	{"device", func(k []byte) ([]byte, error) {
		id, err := parseDeviceKey(k)
		return deviceKey(id), err
	}},
	{"device name", func(k []byte) ([]byte, error) {
		ws, name, err := parseDeviceNameKey(k)
		return deviceNameKey(ws, name), err
	}},
	{"workspace device", func(k []byte) ([]byte, error) {
		ws, id, err := parseWorkspaceDeviceKey(k)
		return workspaceDeviceKey(ws, id), err
	}},
	{"message", func(k []byte) ([]byte, error) {
		ws, id, err := parseMessageKey(k)
		return messageKey(ws, id), err
	}},
	{"device message", func(k []byte) ([]byte, error) {
		dev, id, err := parseDeviceMessageKey(k)
		return deviceMessageKey(dev, id), err
	}},
	{"message WAID", func(k []byte) ([]byte, error) {
		dev, waid, err := parseMessageWAIDKey(k)
		return messageWAIDKey(dev, waid), err
	}},
	{"queue", func(k []byte) ([]byte, error) {
		dev, id, err := parseQueueKey(k)
		return queueKey(dev, id), err
	}},
	{"event", func(k []byte) ([]byte, error) {
		ws, seq, err := parseEventKey(k)
		return eventKey(ws, seq), err
	}},
	{"engine state", func(k []byte) ([]byte, error) {
		id, err := parseEngineStateKey(k)
		return engineStateKey(id), err
	}},
	{"event outbox", func(k []byte) ([]byte, error) {
		ws, id, err := parseOutboxKey(k)
		return outboxKey(ws, id), err
	}},
	{"webhook", func(k []byte) ([]byte, error) {
		ws, id, err := parseWebhookKey(k)
		return webhookKey(ws, id), err
	}},
	{"webhook cursor", func(k []byte) ([]byte, error) {
		ws, id, err := parseWebhookCursorKey(k)
		return webhookCursorKey(ws, id), err
	}},
	{"delivery", func(k []byte) ([]byte, error) {
		ws, hook, id, err := parseDeliveryKey(k)
		return deliveryKey(ws, hook, id), err
	}},
	{"file", func(k []byte) ([]byte, error) {
		ws, id, err := parseFileKey(k)
		return fileKey(ws, id), err
	}},
	{"file chunk", func(k []byte) ([]byte, error) {
		id, n, err := parseFileChunkKey(k)
		return fileChunkKey(id, n), err
	}},
	{"file expiry", func(k []byte) ([]byte, error) {
		at, id, err := parseFileExpiryKey(k)
		return fileExpiryKey(at, id), err
	}},
	{"chat", func(k []byte) ([]byte, error) {
		dev, jid, err := parseChatKey(k)
		return chatKey(dev, jid), err
	}},
}

func FuzzKeys(f *testing.F) {
	f.Add(int64(1), int64(2), "msg_01ARZ3NDEKTSV4RRFFQ69G5FAV", []byte("dv/\x00\x00\x00\x00\x00\x00\x00\x07"))
	f.Add(int64(-1), int64(1<<62), "", []byte{})
	f.Add(int64(255), int64(256), "Phone \xff", []byte("md/\x00\x00\x00\x00\x00\x00\x00\x01msg_x"))
	f.Fuzz(func(t *testing.T, a, b int64, s string, raw []byte) {
		var h [32]byte
		copy(h[:], raw)

		// Built keys parse back into their parts.
		if got, err := parseSessionKey(sessionKey(h)); err != nil || got != h {
			t.Errorf("session key: %x, %v", got, err)
		}
		if got, err := parseAPIKeyHashKey(apiKeyHashKey(h)); err != nil || got != h {
			t.Errorf("key hash key: %x, %v", got, err)
		}
		ids := func(name string, x, y int64, err error) {
			if err != nil || x != a || y != b {
				t.Errorf("%s key: (%d, %d), %v; want (%d, %d)", name, x, y, err, a, b)
			}
		}
		one := func(name string, x int64, err error) {
			if err != nil || x != a {
				t.Errorf("%s key: %d, %v; want %d", name, x, err, a)
			}
		}
		withString := func(name string, x int64, str string, err error) {
			if err != nil || x != a || str != s {
				t.Errorf("%s key: (%d, %q), %v; want (%d, %q)", name, x, str, err, a, s)
			}
		}
		x, y, err := parseWorkspaceAPIKeyKey(workspaceAPIKeyKey(a, b))
		ids("workspace key", x, y, err)
		x, y, err = parseWorkspaceDeviceKey(workspaceDeviceKey(a, b))
		ids("workspace device", x, y, err)
		x, err = parseDeviceKey(deviceKey(a))
		one("device", x, err)
		x, err = parseEngineStateKey(engineStateKey(a))
		one("engine state", x, err)
		x, seq, err := parseEventKey(eventKey(a, uint64(b)))
		ids("event", x, int64(seq), err)
		x, str, err := parseDeviceNameKey(deviceNameKey(a, s))
		withString("device name", x, str, err)
		x, str, err = parseMessageKey(messageKey(a, s))
		withString("message", x, str, err)
		x, str, err = parseDeviceMessageKey(deviceMessageKey(a, s))
		withString("device message", x, str, err)
		x, str, err = parseMessageWAIDKey(messageWAIDKey(a, s))
		withString("message WAID", x, str, err)
		x, str, err = parseQueueKey(queueKey(a, s))
		withString("queue", x, str, err)

		// Byte order is numeric order, for IDs (never negative) and seqs.
		if a >= 0 && b >= 0 {
			if got, want := bytes.Compare(deviceKey(a), deviceKey(b)), cmp.Compare(a, b); got != want {
				t.Errorf("device keys %d, %d compare %d, want %d", a, b, got, want)
			}
		}
		if got, want := bytes.Compare(eventKey(1, uint64(a)), eventKey(1, uint64(b))), cmp.Compare(uint64(a), uint64(b)); got != want {
			t.Errorf("event keys %d, %d compare %d, want %d", uint64(a), uint64(b), got, want)
		}

		// A key lies within its prefix's scan bounds, and a neighbour's does not.
		if a >= 0 && a < 1<<62 {
			p := workspaceMessagesPrefix(a)
			k, other := messageKey(a, s), messageKey(a+1, s)
			if !bytes.HasPrefix(k, p) || bytes.Compare(k, prefixEnd(p)) >= 0 {
				t.Errorf("message key %x outside [%x, %x)", k, p, prefixEnd(p))
			}
			if bytes.Compare(other, prefixEnd(p)) < 0 {
				t.Errorf("next workspace's key %x below %x", other, prefixEnd(p))
			}
		}

		// Any bytes: parsing never panics, and accepts only what it builds.
		for _, c := range keyCodecs {
			if k, err := c.rebuild(raw); err == nil && !bytes.Equal(k, raw) {
				t.Errorf("%s: parsed %x, rebuilt %x", c.name, raw, k)
			}
		}
	})
}

func TestParseRejectsForeignKeys(t *testing.T) {
	for _, c := range keyCodecs {
		for _, k := range [][]byte{nil, []byte("x"), formatKey(), sequenceKey(seqDevice), userKey(1)} {
			if _, err := c.rebuild(k); err == nil {
				t.Errorf("%s parsed %q", c.name, k)
			}
		}
	}
	// A fixed-width part must be whole, and nothing may follow the last.
	if _, err := parseDeviceKey(deviceKey(1)[:6]); err == nil {
		t.Error("truncated device key parsed")
	}
	if _, err := parseDeviceKey(append(deviceKey(1), 0)); err == nil {
		t.Error("device key with a trailing byte parsed")
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte("ab/"), []byte("ab0")},
		{[]byte{'a', 0xff}, []byte{'b'}},
		{[]byte{0xff, 0xff}, nil},
		{nil, nil},
	} {
		if got := prefixEnd(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("prefixEnd(%x) = %x, want %x", tc.in, got, tc.want)
		}
	}
}

func TestKeyPrefixesDistinctAndDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range keyPrefixes {
		for j, q := range keyPrefixes {
			if i != j && strings.HasPrefix(q, p) {
				t.Errorf("prefix %q is a prefix of %q", p, q)
			}
		}
		if !strings.Contains(string(doc), "//\t"+p+" ") {
			t.Errorf("doc.go's keyspace table has no row for %q", p)
		}
	}
}
