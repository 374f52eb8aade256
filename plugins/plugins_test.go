package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/scripting"
)

// Golden cases: testdata/<plugin>.txtar holds, for each case,
//
//	<case>.in.json       the events given (one object or an array); id,
//	                     workspaceId, deviceId and createdAt may be left out
//	<case>.want.json     the events expected out, compared on type, data
//	                     and, when given, id
//	<case>.replies.json  the replies expected (chat, text, inReplyTo); none
//	                     when absent
//	<case>.config.json   the config for this case (else config.json, else {})
//	<case>.now           the time of the call (else defaultNow)
//
// Files appear in that order per case; cases run in the order of their
// .in.json files.

// defaultNow is a Monday, 10:00 UTC.
var defaultNow = time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)

// roomy keeps the golden runs from failing on a loaded machine: they test
// what plugins do, not the budget.
var roomy = scripting.Limits{Budget: 5 * time.Second}

type goldenCase struct {
	name    string
	in      []scripting.Event
	want    []wantEvent
	replies []wantReply
	config  json.RawMessage
	now     time.Time
}

type wantEvent struct {
	ID   *string         `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

type wantReply struct {
	Chat      string `json:"chat"`
	Text      string `json:"text"`
	InReplyTo string `json:"inReplyTo"`
}

// arrayOf reads one JSON value or an array of them.
func arrayOf[T any](t *testing.T, name string, data []byte) []T {
	t.Helper()
	data = []byte(strings.TrimSpace(string(data)))
	if len(data) > 0 && data[0] != '[' {
		data = append(append([]byte{'['}, data...), ']')
	}
	var out []T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

// archiveFile is one file of a txtar archive.
type archiveFile struct {
	name string
	data []byte
}

// readArchive reads the txtar format (golang.org/x/tools/txtar): a comment,
// then files, each introduced by a "-- name --" line. (The x/tools module
// itself would move this module's shared golang.org/x dependencies.)
func readArchive(data []byte) []archiveFile {
	var files []archiveFile
	for line := range strings.Lines(string(data)) {
		trimmed := strings.TrimRight(line, "\r\n")
		if name, ok := strings.CutPrefix(trimmed, "-- "); ok && strings.HasSuffix(name, " --") {
			files = append(files, archiveFile{name: strings.TrimSpace(strings.TrimSuffix(name, " --"))})
			continue
		}
		if len(files) > 0 {
			files[len(files)-1].data = append(files[len(files)-1].data, line...)
		}
	}
	return files
}

func readGolden(t *testing.T, path string) []goldenCase {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var order []string
	for _, f := range readArchive(raw) {
		if _, dup := files[f.name]; dup {
			t.Fatalf("%s: file %s appears twice", path, f.name)
		}
		files[f.name] = f.data
		if name, ok := strings.CutSuffix(f.name, ".in.json"); ok {
			order = append(order, name)
		}
	}
	config := json.RawMessage(files["config.json"])
	var cases []goldenCase
	for _, name := range order {
		c := goldenCase{name: name, config: config, now: defaultNow}
		if cfg, ok := files[name+".config.json"]; ok {
			c.config = cfg
		}
		if now, ok := files[name+".now"]; ok {
			if c.now, err = time.Parse(time.RFC3339, strings.TrimSpace(string(now))); err != nil {
				t.Fatalf("%s: %s.now: %v", path, name, err)
			}
		}
		want, ok := files[name+".want.json"]
		if !ok {
			t.Fatalf("%s: case %q has no %s.want.json", path, name, name)
		}
		c.want = arrayOf[wantEvent](t, name+".want.json", want)
		if replies, ok := files[name+".replies.json"]; ok {
			c.replies = arrayOf[wantReply](t, name+".replies.json", replies)
		}
		for i, ev := range arrayOf[scripting.Event](t, name+".in.json", files[name+".in.json"]) {
			if ev.ID == "" {
				ev.ID = "evt_" + strings.ReplaceAll(name, " ", "_") + "_" + strconv.Itoa(i+1)
			}
			if ev.WorkspaceID == 0 {
				ev.WorkspaceID = 1
			}
			if ev.DeviceID == 0 {
				ev.DeviceID = 1
			}
			if ev.CreatedAt.IsZero() {
				ev.CreatedAt = c.now
			}
			c.in = append(c.in, ev)
		}
		cases = append(cases, c)
	}
	for name := range files {
		base := name
		for _, suffix := range []string{".in.json", ".want.json", ".replies.json", ".config.json", ".now"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if name != "config.json" && !slices.Contains(order, base) {
			t.Fatalf("%s: file %s belongs to no case", path, name)
		}
	}
	return cases
}

func sameJSON(t *testing.T, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// TestGolden runs every case of every bundled plugin.
func TestGolden(t *testing.T) {
	for _, b := range List() {
		t.Run(b.Name, func(t *testing.T) {
			cases := readGolden(t, filepath.Join("testdata", b.Name+".txtar"))
			if len(cases) < 2 {
				t.Fatalf("%d golden cases; each bundled plugin needs at least 2", len(cases))
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					p, err := Compile(Definition{ID: "plg_golden", Name: b.Name, Bundled: b.Name, Config: c.config, Enabled: true}, roomy)
					if err != nil {
						t.Fatal(err)
					}
					chain := scripting.NewChain([]*scripting.Plugin{p}, scripting.ChainOptions{Now: func() time.Time { return c.now }})
					out, replies, rep := chain.Apply(context.Background(), c.in)
					if len(rep.Failures) > 0 {
						t.Fatalf("failures: %v", rep.Failures[0].Err)
					}
					if len(out) != len(c.want) {
						t.Fatalf("%d events out, want %d:\n%s", len(out), len(c.want), dump(out))
					}
					for i, got := range out {
						w := c.want[i]
						if got.Type != w.Type || !sameJSON(t, got.Data, w.Data) || (w.ID != nil && got.ID != *w.ID) {
							t.Errorf("event %d:\n got %s %s %s\nwant %v %s %s", i, got.ID, got.Type, got.Data, idOf(w.ID), w.Type, w.Data)
						}
					}
					var gotReplies []wantReply
					for _, r := range replies {
						gotReplies = append(gotReplies, wantReply{Chat: r.Chat, Text: r.Text, InReplyTo: r.InReplyTo})
						if r.PluginID != "plg_golden" || r.DeviceID == 0 {
							t.Errorf("reply %+v", r)
						}
					}
					if !reflect.DeepEqual(gotReplies, c.replies) {
						t.Errorf("replies %+v, want %+v", gotReplies, c.replies)
					}
				})
			}
		})
	}
}

func idOf(id *string) string {
	if id == nil {
		return "(any id)"
	}
	return *id
}

func dump(evs []scripting.Event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString(e.Type + " " + string(e.Data) + "\n")
	}
	return b.String()
}

// TestCatalog: every bundled plugin has its source, compiles with its
// example config and has golden cases; every source and golden file
// belongs to a listed plugin.
func TestCatalog(t *testing.T) {
	listed := map[string]bool{}
	for _, b := range List() {
		listed[b.Name] = true
		if b.Summary == "" || b.Source == "" {
			t.Errorf("%s: no summary or source", b.Name)
		}
		if _, err := Compile(Definition{Name: b.Name, Bundled: b.Name, Config: b.Config, Enabled: true}, roomy); err != nil {
			t.Errorf("%s with its example config: %v", b.Name, err)
		}
		if !strings.Contains(Guide, "`"+b.Name+"`") {
			t.Errorf("GUIDE.md does not describe %s", b.Name)
		}
	}
	for dir, ext := range map[string]string{"bundled": ".js", "testdata": ".txtar"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if name, ok := strings.CutSuffix(e.Name(), ext); !ok || !listed[name] {
				t.Errorf("%s/%s belongs to no bundled plugin", dir, e.Name())
			}
		}
	}
	if _, ok := Lookup("no-such-plugin"); ok {
		t.Error("Lookup found a plugin that does not exist")
	}
}

func TestConfigsAreValidated(t *testing.T) {
	tests := []struct {
		bundled, config, msg string
	}{
		{"ignore-groups", `{"allow":"x"}`, "allow must be a list"},
		{"redact-phone-numbers", `{"keepLast":9}`, "keepLast"},
		{"redact-phone-numbers", `{"mask":"ab"}`, "mask"},
		{"keyword-router", `{}`, "rules must be a non-empty list"},
		{"keyword-router", `{"rules":[{"route":"x"}]}`, "keywords"},
		{"keyword-router", `{"rules":[{"route":"x","pattern":"("}]}`, "SyntaxError"},
		{"out-of-hours-reply", `{"timezone":"Mars/Base","hours":{},"text":"x"}`, "unknown time zone"},
		{"out-of-hours-reply", `{"timezone":"UTC","hours":{"mon-fry":"09:00-17:00"},"text":"x"}`, "not a day"},
		{"out-of-hours-reply", `{"timezone":"UTC","hours":{"mon":"17:00-09:00"},"text":"x"}`, "ends before it starts"},
		{"out-of-hours-reply", `{"timezone":"UTC","hours":{"mon":"09:00-17:00"}}`, "text is required"},
		{"flatten-for-crm", `{"type":"Not A Type"}`, "type must be"},
	}
	for _, tt := range tests {
		t.Run(tt.bundled+" "+tt.config, func(t *testing.T) {
			_, err := Compile(Definition{Name: tt.bundled, Bundled: tt.bundled, Config: json.RawMessage(tt.config)}, roomy)
			if !errors.Is(err, scripting.ErrConfig) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want ErrConfig with %q", err, tt.msg)
			}
		})
	}
}

func TestNewChain(t *testing.T) {
	defs := []Definition{
		{ID: "plg_1", Name: "own", Bundled: "ignore-own-messages", Enabled: true},
		{ID: "plg_2", Name: "off", Source: `function onEvent(e) { return null }`, Enabled: false},
		{ID: "plg_3", Name: "gone", Bundled: "retired-plugin", Enabled: true},
		{ID: "plg_4", Name: "custom", Source: `function onEvent(e) { e.data.custom = true; return e }`, Enabled: true},
	}
	chain, failed := NewChain(defs, roomy, scripting.ChainOptions{})
	if len(failed) != 1 || failed[0].PluginID != "plg_3" || !errors.Is(failed[0], ErrUnknownBundled) {
		t.Fatalf("failed = %v", failed)
	}
	if chain.Len() != 2 {
		t.Fatalf("chain of %d", chain.Len())
	}
	in := []scripting.Event{
		{ID: "evt_1", Type: "message.received", WorkspaceID: 1, Data: json.RawMessage(`{"fromMe":true}`)},
		{ID: "evt_2", Type: "message.received", WorkspaceID: 1, Data: json.RawMessage(`{"fromMe":false}`)},
	}
	out, _, _ := chain.Apply(context.Background(), in)
	if len(out) != 1 || out[0].ID != "evt_2" || string(out[0].Data) != `{"fromMe":false,"custom":true}` {
		t.Errorf("out = %+v", out)
	}
}
