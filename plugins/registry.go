package plugins

import (
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/wa-gateway/wa-gateway/scripting"
)

//go:embed bundled/*.js
var bundledFiles embed.FS

// Guide is the script author's guide (Markdown), for the dashboard and the
// documentation.
//
//go:embed GUIDE.md
var Guide string

// Bundled is a plugin shipped with the gateway, enabled in a workspace by
// its name ({"bundled": "ignore-groups"}).
type Bundled struct {
	// Name is how a workspace refers to it; also its file name.
	Name string `json:"name"`
	// Summary says what it does, in one sentence.
	Summary string `json:"summary"`
	// Events are the event types it acts on (empty: all); a useful filter
	// when enabling it, not a requirement.
	Events []string `json:"events"`
	// Config is an example config; nil when it takes none.
	Config json.RawMessage `json:"config,omitempty"`
	// Source is its JavaScript.
	Source string `json:"-"`
}

// catalog lists the bundled plugins; each has bundled/<name>.js and
// testdata/<name>.txtar.
var catalog = []Bundled{
	{Name: "drop-status-broadcasts", Summary: "Drops events about WhatsApp Status (status@broadcast)."},
	{Name: "ignore-groups", Summary: "Drops events about group chats, except for the groups listed in allow.",
		Config: json.RawMessage(`{"allow":[]}`)},
	{Name: "ignore-own-messages", Summary: "Drops messages the device's own account sent from its phone or another linked device.",
		Events: []string{"message.received"}},
	{Name: "redact-phone-numbers", Summary: "Masks phone numbers written in message text and captions.",
		Events: []string{"message.received"}, Config: json.RawMessage(`{"keepLast":2,"mask":"*","minDigits":9,"fields":["text","caption"]}`)},
	{Name: "keyword-router", Summary: "Adds a route field to incoming messages from keyword or pattern rules.",
		Events: []string{"message.received"},
		Config: json.RawMessage(`{"rules":[{"keywords":["order","buy"],"route":"sales"},{"pattern":"\\b(refund|broken)\\b","route":"support"}],"default":"general"}`)},
	{Name: "out-of-hours-reply", Summary: "Answers messages sent outside opening hours with a fixed text.",
		Events: []string{"message.received"},
		Config: json.RawMessage(`{"timezone":"Asia/Jakarta","hours":{"mon-fri":"09:00-17:00","sat":"09:00-12:00"},"text":"Thanks for your message! We are closed now and will answer from 09:00.","quietMinutes":60}`)},
	{Name: "flatten-for-crm", Summary: "Turns message.received into one flat object for simple CRM receivers.",
		Events: []string{"message.received"}, Config: json.RawMessage(`{}`)},
}

func init() {
	for i := range catalog {
		src, err := bundledFiles.ReadFile("bundled/" + catalog[i].Name + ".js")
		if err != nil {
			panic(fmt.Sprintf("plugins: bundled plugin %s has no source: %v", catalog[i].Name, err))
		}
		catalog[i].Source = string(src)
	}
}

// List returns the bundled plugins, by name.
func List() []Bundled {
	out := slices.Clone(catalog)
	slices.SortFunc(out, func(a, b Bundled) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup finds a bundled plugin by name.
func Lookup(name string) (Bundled, bool) {
	for _, b := range catalog {
		if b.Name == name {
			return b, true
		}
	}
	return Bundled{}, false
}

// Definition is a plugin as a workspace stores it: custom source, or the
// name of a bundled plugin.
type Definition struct {
	ID   string
	Name string
	// Bundled names a bundled plugin; then Source is ignored.
	Bundled string
	Source  string
	Config  json.RawMessage
	// Events and DeviceID filter what the plugin sees (see scripting.Spec).
	Events   []string
	DeviceID int64
	// Enabled: NewChain leaves disabled plugins out.
	Enabled bool
}

// Spec resolves a definition into what scripting compiles. ErrUnknownBundled
// when it names a bundled plugin that does not exist.
func (d Definition) Spec() (scripting.Spec, error) {
	spec := scripting.Spec{ID: d.ID, Name: d.Name, Source: d.Source, Config: d.Config, Events: d.Events, DeviceID: d.DeviceID}
	if d.Bundled != "" {
		b, ok := Lookup(d.Bundled)
		if !ok {
			return scripting.Spec{}, fmt.Errorf("plugin %q: %w: %q", d.Name, ErrUnknownBundled, d.Bundled)
		}
		spec.Source = b.Source
	}
	return spec, nil
}

// Compile resolves and compiles a definition (see scripting.Compile).
func Compile(d Definition, lim scripting.Limits) (*scripting.Plugin, error) {
	spec, err := d.Spec()
	if err != nil {
		return nil, err
	}
	return scripting.Compile(spec, lim)
}

// LoadError is a definition NewChain had to leave out.
type LoadError struct {
	PluginID string
	Plugin   string
	Err      error
}

func (e LoadError) Error() string {
	return fmt.Sprintf("plugin %s (%s): %v", e.Plugin, e.PluginID, e.Err)
}

func (e LoadError) Unwrap() error { return e.Err }

// NewChain compiles the enabled definitions, in the order given, into a
// chain. A definition that no longer compiles (a bundled plugin removed by
// an upgrade, lower limits) is left out and reported, so that the caller
// can disable it and say why; the others still run.
func NewChain(defs []Definition, lim scripting.Limits, opts scripting.ChainOptions) (*scripting.Chain, []LoadError) {
	var (
		compiled []*scripting.Plugin
		failed   []LoadError
	)
	for _, d := range defs {
		if !d.Enabled {
			continue
		}
		p, err := Compile(d, lim)
		if err != nil {
			failed = append(failed, LoadError{PluginID: d.ID, Plugin: d.Name, Err: err})
			continue
		}
		compiled = append(compiled, p)
	}
	return scripting.NewChain(compiled, opts), failed
}
