package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

func testPlugin(ws int64, name string) Plugin {
	return Plugin{WorkspaceID: ws, Name: name, Source: "function onEvent(e) { return e }", Enabled: true,
		Config: json.RawMessage(`{"a":1}`), Events: []string{"message.received"}, CreatedAt: testTime(0), UpdatedAt: testTime(0)}
}

func TestPluginLifecycle(t *testing.T) {
	db, dir := openTestDB(t)
	ws, _, _ := testAccount(t, db, "plugins@example.com")
	other, _, _ := testAccount(t, db, "else@example.com")

	if rev, err := db.PluginRevision(ws.ID); err != nil || rev != 0 {
		t.Fatalf("revision before any plugin: %d, %v", rev, err)
	}
	first, err := db.CreatePlugin(testPlugin(ws.ID, "first"))
	if err != nil {
		t.Fatal(err)
	}
	if !IsPluginID(first.ID) || first.Position != 1 {
		t.Fatalf("created %+v", first)
	}
	bundled := Plugin{WorkspaceID: ws.ID, Name: "groups", Bundled: "ignore-groups", Enabled: true}
	second, err := db.CreatePlugin(bundled)
	if err != nil || second.Position != 2 {
		t.Fatalf("second: %+v, %v", second, err)
	}
	early := testPlugin(ws.ID, "early")
	early.Position = 1 // before the others, which move down
	if early, err = db.CreatePlugin(early); err != nil || early.Position != 1 {
		t.Fatalf("early: %+v, %v", early, err)
	}
	last := testPlugin(ws.ID, "last")
	last.Position = 99 // past the end: last
	if last, err = db.CreatePlugin(last); err != nil || last.Position != 4 {
		t.Fatalf("last: %+v, %v", last, err)
	}
	if _, err := db.CreatePlugin(testPlugin(other.ID, "elsewhere")); err != nil {
		t.Fatal(err)
	}

	if _, err := db.CreatePlugin(first); !errors.Is(err, ErrConflict) {
		t.Errorf("same id again: %v, want ErrConflict", err)
	}
	if _, err := db.CreatePlugin(testPlugin(999, "nowhere")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown workspace: %v, want ErrNotFound", err)
	}
	for _, bad := range []Plugin{
		{WorkspaceID: ws.ID, Source: "x"},
		{WorkspaceID: ws.ID, Name: "neither"},
		{WorkspaceID: ws.ID, Name: "both", Source: "x", Bundled: "y"},
		{ID: "wh_nope", WorkspaceID: ws.ID, Name: "bad id", Source: "x"},
	} {
		if _, err := db.CreatePlugin(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("create %+v: %v, want ErrInvalid", bad, err)
		}
	}

	first.Position = 2
	if got, err := db.GetPlugin(ws.ID, first.ID); err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("GetPlugin = %+v, %v; want %+v", got, err, first)
	}
	if _, err := db.GetPlugin(other.ID, first.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another workspace's plugin: %v, want ErrNotFound", err)
	}
	list, rev, err := db.ListPlugins(ws.ID)
	if err != nil || rev != 4 || names(list) != "early,first,groups,last" || positions(list) != "1234" {
		t.Fatalf("ListPlugins = %s (%s), revision %d, %v", names(list), positions(list), rev, err)
	}

	// Update: read-modify-write; identity fields stay; a new position
	// moves the plugin there (3: after groups).
	updated, err := db.UpdatePlugin(ws.ID, first.ID, func(p *Plugin) error {
		p.Name, p.Position, p.Enabled, p.DisabledReason = "renamed", 3, false, "failed 5 times"
		p.ID, p.WorkspaceID, p.CreatedAt = "plg_x", other.ID, testTime(5)
		p.Config[2] = 'b' // the stored copy is not shared
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.ID != first.ID || updated.WorkspaceID != ws.ID || !updated.CreatedAt.Equal(first.CreatedAt) ||
		updated.Name != "renamed" || updated.Enabled || updated.DisabledReason != "failed 5 times" {
		t.Errorf("updated = %+v", updated)
	}
	refused := errors.New("refused")
	if _, err := db.UpdatePlugin(ws.ID, first.ID, func(p *Plugin) error { p.Name = "lost"; return refused }); err != refused {
		t.Errorf("update error: %v", err)
	}
	if _, err := db.UpdatePlugin(ws.ID, first.ID, func(p *Plugin) error { p.Name = ""; return nil }); !errors.Is(err, ErrInvalid) {
		t.Errorf("update to no name: %v, want ErrInvalid", err)
	}
	if _, err := db.UpdatePlugin(other.ID, first.ID, func(*Plugin) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("update in another workspace: %v, want ErrNotFound", err)
	}
	list, rev, _ = db.ListPlugins(ws.ID)
	if rev != 5 || names(list) != "early,groups,renamed,last" || positions(list) != "1234" {
		t.Fatalf("after update: %s (%s), revision %d", names(list), positions(list), rev)
	}

	if err := db.DeletePlugin(other.ID, second.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete from another workspace: %v", err)
	}
	if err := db.DeletePlugin(ws.ID, second.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePlugin(ws.ID, second.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}
	if rev, _ := db.PluginRevision(ws.ID); rev != 6 {
		t.Errorf("revision after delete %d, want 6", rev)
	}
	if rev, _ := db.PluginRevision(other.ID); rev != 1 {
		t.Errorf("other workspace's revision %d, want 1", rev)
	}

	// Everything survives a reopen.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTestDir(t, dir)
	// The plugins after the deleted one moved up.
	updated.Position = 2
	list, rev, err = db.ListPlugins(ws.ID)
	if err != nil || rev != 6 || names(list) != "early,renamed,last" || positions(list) != "123" || !reflect.DeepEqual(list[1], updated) {
		t.Fatalf("after reopen: %s (%s), revision %d, %v", names(list), positions(list), rev, err)
	}
}

func positions(ps []Plugin) string {
	var b bytes.Buffer
	for _, p := range ps {
		fmt.Fprint(&b, p.Position)
	}
	return b.String()
}

func names(ps []Plugin) string {
	var b bytes.Buffer
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.Name)
	}
	return b.String()
}

// TestConcurrentPluginUpdates: updates of different fields from many
// goroutines all land; none overwrites another's.
func TestConcurrentPluginUpdates(t *testing.T) {
	db, _ := openTestDB(t)
	ws, _, _ := testAccount(t, db, "race@example.com")
	p, err := db.CreatePlugin(testPlugin(ws.ID, "p"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := db.UpdatePlugin(ws.ID, p.ID, func(p *Plugin) error {
				p.Events = append(p.Events, fmt.Sprintf("t%d", i))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := db.GetPlugin(ws.ID, p.ID)
	if err != nil || len(got.Events) != 21 {
		t.Fatalf("%d event types after 20 updates, %v", len(got.Events), err)
	}
	if rev, _ := db.PluginRevision(ws.ID); rev != 21 {
		t.Errorf("revision %d, want 21", rev)
	}
}

func TestPluginKeys(t *testing.T) {
	for _, tc := range []struct {
		ws int64
		id string
	}{{1, NewPluginID()}, {1 << 40, "plg_x"}, {0, ""}} {
		ws, id, err := parsePluginKey(pluginKey(tc.ws, tc.id))
		if err != nil || ws != tc.ws || id != tc.id {
			t.Errorf("plugin key (%d, %q) parsed as (%d, %q), %v", tc.ws, tc.id, ws, id, err)
		}
		if ws, err := parsePluginRevisionKey(pluginRevisionKey(tc.ws)); err != nil || ws != tc.ws {
			t.Errorf("revision key %d parsed as %d, %v", tc.ws, ws, err)
		}
	}
	if _, err := parsePluginRevisionKey(append(pluginRevisionKey(1), 0)); err == nil {
		t.Error("revision key with a trailing byte parsed")
	}
	if _, _, err := parsePluginKey(pluginRevisionKey(1)); err == nil {
		t.Error("revision key parsed as a plugin key")
	}
	// A workspace's plugins do not reach into the next workspace's.
	k := pluginKey(1, "plg_zzzz")
	if bytes.Compare(k, prefixEnd(workspacePluginsPrefix(1))) >= 0 || bytes.HasPrefix(pluginKey(2, "plg_a"), workspacePluginsPrefix(1)) {
		t.Error("plugin keys leak across workspaces")
	}
}
