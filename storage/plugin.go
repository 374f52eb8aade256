package storage

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Plugin is a workspace's JavaScript event plugin: its own source, or the
// name of a plugin bundled with the gateway.
type Plugin struct {
	ID          string `json:"id"` // plg_…
	WorkspaceID int64  `json:"workspaceId"`
	Name        string `json:"name"`
	// Bundled names a bundled plugin (then Source is empty): the code
	// follows the gateway's version.
	Bundled string `json:"bundled,omitempty"`
	Source  string `json:"source,omitempty"`
	// Config is the plugin's config, a JSON object.
	Config json.RawMessage `json:"config,omitempty"`
	// Events and DeviceID filter what the plugin sees: event types (none or
	// "*": all) and one device (0: all).
	Events   []string `json:"events,omitempty"`
	DeviceID int64    `json:"deviceId,omitempty"`
	Enabled  bool     `json:"enabled"`
	// DisabledReason says why the gateway disabled the plugin (repeated
	// failures); empty otherwise.
	DisabledReason string `json:"disabledReason,omitempty"`
	// Position is the plugin's place in the workspace's order, from 1.
	Position  int64     `json:"position"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

const (
	pluginIDPrefix = "plg_"
	pluginIDLength = len(pluginIDPrefix) + sortableIDLength
)

// NewPluginID returns a new plugin id ("plg_" + 26 chars, time-ordered).
func NewPluginID() string { return sortableIDs.next(pluginIDPrefix) }

// IsPluginID reports whether s has the form of a plugin id.
func IsPluginID(s string) bool { return isSortableID(s, pluginIDPrefix) }

// Every write of a workspace's plugins also bumps the workspace's plugins
// revision, in the same batch, so that the owner of the running chain can
// tell cheaply (PluginRevision) whether to reload it. Writes hold
// catalogMu, like the other configuration records.

// CreatePlugin stores a new plugin (synced) and returns it. An empty ID is
// given a new one. Position is the 1-based place in the order to put it
// at (the plugins from there on move down one); 0 or past the end puts it
// last. ErrNotFound for an unknown workspace, ErrConflict when the ID is
// taken.
func (db *DB) CreatePlugin(p Plugin) (Plugin, error) {
	if p.ID == "" {
		p.ID = NewPluginID()
	}
	if err := checkPlugin(p); err != nil {
		return Plugin{}, fmt.Errorf("create plugin: %w", err)
	}
	if err := db.acquire(); err != nil {
		return Plugin{}, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	err := func() error {
		if err := workspaceExists(db.pdb, p.WorkspaceID); err != nil {
			return err
		}
		taken, err := has(db.pdb, pluginKey(p.WorkspaceID, p.ID))
		if err != nil {
			return err
		}
		if taken {
			return fmt.Errorf("%w: plugin %s exists", ErrConflict, p.ID)
		}
		others, err := listPlugins(db.pdb, p.WorkspaceID)
		if err != nil {
			return err
		}
		changed := placePlugin(others, &p)
		return db.writePlugins(p.WorkspaceID, func(b *pebble.Batch) error {
			for _, q := range append(changed, p) {
				if err := setRecord(b, pluginKey(q.WorkspaceID, q.ID), q); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	if err != nil {
		return Plugin{}, fmt.Errorf("create plugin %s: %w", p.ID, err)
	}
	return p, nil
}

// placePlugin puts p at its Position among others (in order, without p):
// positions become 1 to n again, p's included. It returns the others whose
// position changed.
func placePlugin(others []Plugin, p *Plugin) []Plugin {
	at := len(others)
	if p.Position > 0 && p.Position <= int64(len(others)) {
		at = int(p.Position - 1)
	}
	p.Position = int64(at + 1)
	var changed []Plugin
	for i := range others {
		want := int64(i + 1)
		if i >= at {
			want++
		}
		if others[i].Position != want {
			others[i].Position = want
			changed = append(changed, others[i])
		}
	}
	return changed
}

// GetPlugin returns a plugin of workspace ws; ErrNotFound when it is missing
// or belongs to another workspace.
func (db *DB) GetPlugin(ws int64, id string) (Plugin, error) {
	if err := db.acquire(); err != nil {
		return Plugin{}, err
	}
	defer db.release()
	p, err := getRecord[Plugin](db.pdb, pluginKey(ws, id))
	if err != nil {
		return Plugin{}, fmt.Errorf("plugin %q: %w", id, err)
	}
	return p, nil
}

// ListPlugins returns the workspace's plugins in the order they run
// (Position; then ID, should two share one), with the plugins revision
// they make up: both are read from one snapshot.
func (db *DB) ListPlugins(ws int64) ([]Plugin, uint64, error) {
	if err := db.acquire(); err != nil {
		return nil, 0, err
	}
	defer db.release()
	snap := db.pdb.NewSnapshot()
	defer snap.Close()
	plugins, err := listPlugins(snap, ws)
	if err != nil {
		return nil, 0, fmt.Errorf("list plugins: %w", err)
	}
	rev, err := pluginRevision(snap, ws)
	if err != nil {
		return nil, 0, fmt.Errorf("list plugins: %w", err)
	}
	return plugins, rev, nil
}

func listPlugins(r pebble.Reader, ws int64) ([]Plugin, error) {
	plugins := []Plugin{}
	err := scanPrefix(r, workspacePluginsPrefix(ws), false, func(_, v []byte) (bool, error) {
		var p Plugin
		if err := decodeRecord(v, &p); err != nil {
			return false, err
		}
		plugins = append(plugins, p)
		return true, nil
	})
	slices.SortStableFunc(plugins, func(a, b Plugin) int {
		return cmp.Or(cmp.Compare(a.Position, b.Position), cmp.Compare(a.ID, b.ID))
	})
	return plugins, err
}

// PluginRevision is the workspace's plugins revision: it changes with every
// write of one of its plugins (0 before the first).
func (db *DB) PluginRevision(ws int64) (uint64, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	rev, err := pluginRevision(db.pdb, ws)
	if err != nil {
		return 0, fmt.Errorf("plugin revision: %w", err)
	}
	return rev, nil
}

func pluginRevision(r pebble.Reader, ws int64) (uint64, error) {
	v, err := get(r, pluginRevisionKey(ws))
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return decodeUint64(v)
}

// UpdatePlugin changes a plugin with update, which gets the stored plugin
// and edits it in place; the read, the change and the write happen under
// one lock, so concurrent updates do not lose each other's changes. An
// error from update is returned as is and nothing is written. ID,
// WorkspaceID and CreatedAt cannot change; a new Position moves the plugin
// to that place, as in CreatePlugin. ErrNotFound when the plugin does not
// exist in ws.
func (db *DB) UpdatePlugin(ws int64, id string, update func(*Plugin) error) (Plugin, error) {
	if err := db.acquire(); err != nil {
		return Plugin{}, err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	old, err := getRecord[Plugin](db.pdb, pluginKey(ws, id))
	if err != nil {
		return Plugin{}, fmt.Errorf("update plugin %q: %w", id, err)
	}
	p := old
	p.Events = slices.Clone(old.Events)
	p.Config = slices.Clone(old.Config)
	if err := update(&p); err != nil {
		return Plugin{}, err
	}
	p.ID, p.WorkspaceID, p.CreatedAt = old.ID, old.WorkspaceID, old.CreatedAt
	if err := checkPlugin(p); err != nil {
		return Plugin{}, fmt.Errorf("update plugin %q: %w", id, err)
	}
	var changed []Plugin
	if p.Position != old.Position {
		all, err := listPlugins(db.pdb, ws)
		if err != nil {
			return Plugin{}, fmt.Errorf("update plugin %q: %w", id, err)
		}
		others := slices.DeleteFunc(all, func(q Plugin) bool { return q.ID == id })
		changed = placePlugin(others, &p)
	}
	err = db.writePlugins(ws, func(b *pebble.Batch) error {
		for _, q := range append(changed, p) {
			if err := setRecord(b, pluginKey(ws, q.ID), q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Plugin{}, fmt.Errorf("update plugin %q: %w", id, err)
	}
	return p, nil
}

// DeletePlugin deletes a plugin (synced); the plugins after it move up one
// place. ErrNotFound when it does not exist in ws.
func (db *DB) DeletePlugin(ws int64, id string) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.catalogMu.Lock()
	defer db.catalogMu.Unlock()
	err := func() error {
		all, err := listPlugins(db.pdb, ws)
		if err != nil {
			return err
		}
		at := slices.IndexFunc(all, func(q Plugin) bool { return q.ID == id })
		if at < 0 {
			return ErrNotFound
		}
		rest := slices.Delete(all, at, at+1)
		return db.writePlugins(ws, func(b *pebble.Batch) error {
			for i, q := range rest {
				if q.Position == int64(i+1) {
					continue
				}
				q.Position = int64(i + 1)
				if err := setRecord(b, pluginKey(ws, q.ID), q); err != nil {
					return err
				}
			}
			return b.Delete(pluginKey(ws, id), nil)
		})
	}()
	if err != nil {
		return fmt.Errorf("delete plugin %q: %w", id, err)
	}
	return nil
}

// writePlugins commits change and a bumped plugins revision of ws in one
// synced batch. The caller holds catalogMu.
func (db *DB) writePlugins(ws int64, change func(*pebble.Batch) error) error {
	rev, err := pluginRevision(db.pdb, ws)
	if err != nil {
		return err
	}
	b := db.pdb.NewBatch()
	defer b.Close()
	if err := change(b); err != nil {
		return err
	}
	if err := b.Set(pluginRevisionKey(ws), encodeUint64(rev+1), nil); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

func checkPlugin(p Plugin) error {
	switch {
	case !IsPluginID(p.ID):
		return fmt.Errorf("%w: plugin id %q", ErrInvalid, p.ID)
	case p.WorkspaceID <= 0:
		return fmt.Errorf("%w: plugin %s has no workspace", ErrInvalid, p.ID)
	case p.Name == "":
		return fmt.Errorf("%w: plugin %s has no name", ErrInvalid, p.ID)
	case (p.Bundled == "") == (p.Source == ""):
		return fmt.Errorf("%w: plugin %s needs a source or a bundled plugin, not both", ErrInvalid, p.ID)
	}
	return nil
}
