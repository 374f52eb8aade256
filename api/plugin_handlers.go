package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/plugins"
	"github.com/wa-gateway/wa-gateway/scripting"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Plugins (API.md §7): JavaScript that filters, transforms and answers the
// workspace's events before they are stored and delivered. Workspace keys
// and sessions manage them; device keys get 403 (the route table) and so do
// test keys, since plugins see live devices' events too. A dry run
// (POST /api/plugins/test) stores nothing and is open to test keys.
//
// Handlers write plugins to storage; every write bumps the workspace's
// plugins revision, which the workspace's event pipeline compares to
// reload its chain.

const (
	// maxPlugins bounds a workspace's plugins: each runs on every event.
	maxPlugins = 50
	// maxPluginEventTypes bounds a plugin's event filter.
	maxPluginEventTypes = 32
)

// pluginLimits are the limits plugins are checked and run with.
var pluginLimits = scripting.DefaultLimits()

type pluginDTO struct {
	ID string `json:"id"`
	// Bundled names a bundled plugin; Source is then null (the code is the
	// gateway's, GET /api/plugins/bundled).
	Name    string          `json:"name"`
	Bundled *string         `json:"bundled"`
	Source  *string         `json:"source"`
	Config  json.RawMessage `json:"config"`
	// Events are the event types the plugin sees ([] is every type).
	Events   []string `json:"events"`
	DeviceID *int64   `json:"deviceId"`
	Enabled  bool     `json:"enabled"`
	// DisabledReason says why the gateway disabled it (repeated failures).
	DisabledReason *string  `json:"disabledReason"`
	Position       int64    `json:"position"`
	CreatedAt      nullTime `json:"createdAt"`
	UpdatedAt      nullTime `json:"updatedAt"`
}

func newPluginDTO(p storage.Plugin) pluginDTO {
	dto := pluginDTO{
		ID:             p.ID,
		Name:           p.Name,
		Bundled:        nullString(p.Bundled),
		Source:         nullString(p.Source),
		Config:         p.Config,
		Events:         p.Events,
		Enabled:        p.Enabled,
		DisabledReason: nullString(p.DisabledReason),
		Position:       p.Position,
		CreatedAt:      nullTime(p.CreatedAt),
		UpdatedAt:      nullTime(p.UpdatedAt),
	}
	if len(dto.Config) == 0 {
		dto.Config = json.RawMessage("{}")
	}
	if dto.Events == nil {
		dto.Events = []string{}
	}
	if p.DeviceID != 0 {
		id := p.DeviceID
		dto.DeviceID = &id
	}
	return dto
}

type bundledPluginDTO struct {
	Name    string          `json:"name"`
	Summary string          `json:"summary"`
	Events  []string        `json:"events"`
	Config  json.RawMessage `json:"config"`
}

// pluginCaller refuses test keys (device keys never get here).
func pluginCaller(c *fiber.Ctx) (*principal, error) {
	p := principalOf(c)
	if p.Kind == principalTest {
		return nil, errTestKeyPlugins
	}
	return p, nil
}

// pluginParam reads the {id} path parameter as one of the caller's plugins.
func (s *Server) pluginParam(c *fiber.Ctx) (*principal, storage.Plugin, error) {
	p, err := pluginCaller(c)
	if err != nil {
		return nil, storage.Plugin{}, err
	}
	id := c.Params("id")
	if !storage.IsPluginID(id) {
		return nil, storage.Plugin{}, errPluginNotFound
	}
	plugin, err := s.db.GetPlugin(p.WorkspaceID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, storage.Plugin{}, errPluginNotFound
	}
	return p, plugin, err
}

// checkPlugin compiles a plugin as it would be stored, so that nothing
// that does not compile, or whose config the plugin refuses, is stored.
// Compile errors carry the line and column.
func checkPlugin(p storage.Plugin) error {
	_, err := plugins.Compile(plugins.Definition{
		ID: p.ID, Name: p.Name, Bundled: p.Bundled, Source: p.Source, Config: p.Config,
		Events: p.Events, DeviceID: p.DeviceID, Enabled: p.Enabled,
	}, pluginLimits)
	return err
}

type createPluginRequest struct {
	Name     string          `json:"name"`
	Source   *string         `json:"source"`
	Bundled  *string         `json:"bundled"`
	Events   []string        `json:"events"`
	DeviceID flexID          `json:"deviceId"`
	Enabled  *bool           `json:"enabled"`
	Config   json.RawMessage `json:"config"`
	Position *int64          `json:"position"`
}

// createPlugin stores a plugin after compiling it: a compile error is a
// 400 with its line and column, and nothing is stored.
func (s *Server) createPlugin(c *fiber.Ctx) error {
	p, err := pluginCaller(c)
	if err != nil {
		return err
	}
	var req createPluginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	now := s.now().UTC()
	plugin := storage.Plugin{WorkspaceID: p.WorkspaceID, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if req.Enabled != nil {
		plugin.Enabled = *req.Enabled
	}
	if plugin.Bundled, plugin.Source, err = pluginCode(req.Source, req.Bundled, true); err != nil {
		return err
	}
	name := req.Name
	if strings.TrimSpace(name) == "" && plugin.Bundled != "" {
		name = plugin.Bundled
	}
	if plugin.Name, err = pluginName(name); err != nil {
		return err
	}
	if plugin.Events, err = pluginEvents(req.Events); err != nil {
		return err
	}
	if plugin.DeviceID, err = s.filterDevice(c, p, req.DeviceID); err != nil {
		return err
	}
	if plugin.Config, err = pluginConfig(req.Config); err != nil {
		return err
	}
	if req.Position != nil {
		if plugin.Position, err = pluginPosition(*req.Position); err != nil {
			return err
		}
	}
	if err := checkPlugin(plugin); err != nil {
		return err
	}
	// Checked without a lock: two racing creates may pass the limit by one.
	existing, err := s.workspacePlugins(p.WorkspaceID)
	if err != nil {
		return err
	}
	if len(existing) >= maxPlugins {
		return errPluginLimit
	}
	created, err := s.db.CreatePlugin(plugin)
	if err != nil {
		return fmt.Errorf("create plugin: %w", err)
	}
	return respond(c, fiber.StatusCreated, newPluginDTO(created))
}

// workspacePlugins lists the workspace's plugins in the order they run.
func (s *Server) workspacePlugins(ws int64) ([]storage.Plugin, error) {
	list, _, err := s.db.ListPlugins(ws)
	if err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	return list, nil
}

// pluginCode reads source and bundled: exactly one of them (on create; on
// update, neither keeps the current code). It returns (bundled, source).
func pluginCode(source, bundled *string, required bool) (string, string, error) {
	switch {
	case source != nil && bundled != nil:
		return "", "", validationError("source", "Give source or bundled, not both")
	case bundled != nil:
		if _, ok := plugins.Lookup(*bundled); !ok {
			return "", "", validationError("bundled", "bundled must name a bundled plugin: "+bundledNames())
		}
		return *bundled, "", nil
	case source != nil:
		if strings.TrimSpace(*source) == "" {
			return "", "", validationError("source", "source must not be empty")
		}
		if len(*source) > pluginLimits.MaxSourceBytes {
			return "", "", validationError("source", fmt.Sprintf("source must be at most %d bytes", pluginLimits.MaxSourceBytes))
		}
		return "", *source, nil
	case required:
		return "", "", validationError("source", "source (JavaScript defining onEvent) or bundled (the name of a bundled plugin) is required")
	}
	return "", "", nil
}

func bundledNames() string {
	var names []string
	for _, b := range plugins.List() {
		names = append(names, b.Name)
	}
	return strings.Join(names, ", ")
}

func pluginName(raw string) (string, error) {
	name, n := trimmedLen(raw)
	if n == 0 || n > maxObjectName {
		return "", validationError("name", fmt.Sprintf("name is required (1 to %d characters)", maxObjectName))
	}
	return name, nil
}

// pluginEvents checks an event-type filter: [] or ["*"] is every type.
// Types are not checked against the known list: a plugin may see types an
// earlier plugin made up.
func pluginEvents(types []string) ([]string, error) {
	if len(types) > maxPluginEventTypes {
		return nil, validationError("events", fmt.Sprintf("events may list at most %d event types", maxPluginEventTypes))
	}
	out := []string{}
	for _, t := range types {
		if t != "*" && !scripting.ValidEventType(t) {
			return nil, validationError("events", fmt.Sprintf(`events: %q is not an event type (lowercase letters, digits, ".", "_" or "-") nor "*"`, t))
		}
		if t == "*" {
			return []string{}, nil
		}
		out = append(out, t)
	}
	return out, nil
}

// pluginConfig checks that config is absent, null or a JSON object, and
// stores it compact.
func pluginConfig(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil
	}
	if raw[0] != '{' {
		return nil, validationError("config", "config must be a JSON object")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, validationError("config", "config must be a JSON object")
	}
	return compact.Bytes(), nil
}

func pluginPosition(pos int64) (int64, error) {
	if pos < 1 {
		return 0, validationError("position", "position must be a positive integer")
	}
	return pos, nil
}

// listPlugins lists the workspace's plugins in the order they run: one
// page, since a workspace has at most 50.
func (s *Server) listPlugins(c *fiber.Ctx) error {
	p, err := pluginCaller(c)
	if err != nil {
		return err
	}
	list, err := s.workspacePlugins(p.WorkspaceID)
	if err != nil {
		return err
	}
	items := make([]pluginDTO, 0, len(list))
	for _, plugin := range list {
		items = append(items, newPluginDTO(plugin))
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

// listBundledPlugins lists the plugins shipped with the gateway.
func (s *Server) listBundledPlugins(c *fiber.Ctx) error {
	items := []bundledPluginDTO{}
	for _, b := range plugins.List() {
		dto := bundledPluginDTO{Name: b.Name, Summary: b.Summary, Events: b.Events, Config: b.Config}
		if dto.Events == nil {
			dto.Events = []string{}
		}
		if dto.Config == nil {
			dto.Config = json.RawMessage("{}")
		}
		items = append(items, dto)
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

func (s *Server) getPlugin(c *fiber.Ctx) error {
	_, plugin, err := s.pluginParam(c)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newPluginDTO(plugin))
}

type updatePluginRequest struct {
	Name    *string   `json:"name"`
	Source  *string   `json:"source"`
	Bundled *string   `json:"bundled"`
	Events  *[]string `json:"events"`
	// DeviceID and Config are raw to tell null (every device; {}) from
	// absent (unchanged).
	DeviceID json.RawMessage `json:"deviceId"`
	Enabled  *bool           `json:"enabled"`
	Config   json.RawMessage `json:"config"`
	Position *int64          `json:"position"`
}

// updatePlugin changes the fields given and compiles the result; nothing
// is stored if it does not compile. Enabling clears the reason the
// gateway disabled it for.
func (s *Server) updatePlugin(c *fiber.Ctx) error {
	p, plugin, err := s.pluginParam(c)
	if err != nil {
		return err
	}
	var req updatePluginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var patch []func(*storage.Plugin)
	if req.Name != nil {
		name, err := pluginName(*req.Name)
		if err != nil {
			return err
		}
		patch = append(patch, func(p *storage.Plugin) { p.Name = name })
	}
	if req.Source != nil || req.Bundled != nil {
		bundled, source, err := pluginCode(req.Source, req.Bundled, false)
		if err != nil {
			return err
		}
		patch = append(patch, func(p *storage.Plugin) { p.Bundled, p.Source = bundled, source })
	}
	if req.Events != nil {
		events, err := pluginEvents(*req.Events)
		if err != nil {
			return err
		}
		patch = append(patch, func(p *storage.Plugin) { p.Events = events })
	}
	if req.DeviceID != nil {
		var id flexID
		if err := id.UnmarshalJSON(req.DeviceID); err != nil {
			return validationError("deviceId", "deviceId must be a device id (a positive integer) or null")
		}
		device, err := s.filterDevice(c, p, id)
		if err != nil {
			return err
		}
		patch = append(patch, func(p *storage.Plugin) { p.DeviceID = device })
	}
	if req.Config != nil {
		config, err := pluginConfig(req.Config)
		if err != nil {
			return err
		}
		patch = append(patch, func(p *storage.Plugin) { p.Config = config })
	}
	if req.Position != nil {
		pos, err := pluginPosition(*req.Position)
		if err != nil {
			return err
		}
		patch = append(patch, func(p *storage.Plugin) { p.Position = pos })
	}
	if req.Enabled != nil {
		enabled := *req.Enabled
		patch = append(patch, func(p *storage.Plugin) {
			p.Enabled = enabled
			if enabled {
				p.DisabledReason = ""
			}
		})
	}
	now := s.now().UTC()
	updated, err := s.db.UpdatePlugin(p.WorkspaceID, plugin.ID, func(stored *storage.Plugin) error {
		for _, change := range patch {
			change(stored)
		}
		stored.UpdatedAt = now
		return checkPlugin(*stored)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return errPluginNotFound
	}
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, newPluginDTO(updated))
}

func (s *Server) deletePlugin(c *fiber.Ctx) error {
	p, plugin, err := s.pluginParam(c)
	if err != nil {
		return err
	}
	if err := s.db.DeletePlugin(p.WorkspaceID, plugin.ID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errPluginNotFound
		}
		return fmt.Errorf("delete plugin: %w", err)
	}
	return respond(c, fiber.StatusOK, deletedDTO{Deleted: true})
}

type testPluginRequest struct {
	Source  *string         `json:"source"`
	Bundled *string         `json:"bundled"`
	Config  json.RawMessage `json:"config"`
	Event   json.RawMessage `json:"event"`
	// Now is the time of the call (ctx.now), RFC 3339; default now.
	Now string `json:"now"`
}

// testEventRequest is the sample event: the envelope, every field but type
// optional.
type testEventRequest struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"createdAt"`
	DeviceID  flexID          `json:"deviceId"`
	Data      json.RawMessage `json:"data"`
}

type testPluginDTO struct {
	Events     []testEventDTO `json:"events"`
	Replies    []replyDTO     `json:"replies"`
	Logs       []string       `json:"logs"`
	DurationMs float64        `json:"durationMs"`
	Error      *callErrorDTO  `json:"error,omitempty"`
}

// testEventDTO is an event out of a dry run: the envelope without seq
// (nothing was stored); id is null for events a split added.
type testEventDTO struct {
	ID          *string         `json:"id"`
	Type        string          `json:"type"`
	CreatedAt   nullTime        `json:"createdAt"`
	WorkspaceID int64           `json:"workspaceId"`
	DeviceID    *int64          `json:"deviceId"`
	Data        json.RawMessage `json:"data"`
}

type replyDTO struct {
	DeviceID  int64  `json:"deviceId"`
	Chat      string `json:"chat"`
	Text      string `json:"text"`
	InReplyTo string `json:"inReplyTo,omitempty"`
}

// callErrorDTO is a failed call: what kind of failure, the script's
// message, and where in the source.
type callErrorDTO struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Line    *int   `json:"line"`
	Column  *int   `json:"column"`
}

// callErrorKinds names the kinds of call failure on the wire.
var callErrorKinds = []struct {
	kind error
	name string
}{
	{scripting.ErrException, "exception"},
	{scripting.ErrTimeout, "timeout"},
	{scripting.ErrStackOverflow, "stack_overflow"},
	{scripting.ErrMemory, "memory"},
	{scripting.ErrOutput, "invalid_result"},
	{scripting.ErrInput, "invalid_event"},
}

func newCallErrorDTO(e *scripting.Error) *callErrorDTO {
	dto := &callErrorDTO{Kind: "exception", Message: e.Message}
	for _, k := range callErrorKinds {
		if errors.Is(e, k.kind) {
			dto.Kind = k.name
			break
		}
	}
	if e.Line > 0 {
		line, col := e.Line, e.Column
		dto.Line, dto.Column = &line, &col
	}
	return dto
}

// testPlugin runs a plugin once on a sample event and stores nothing: the
// events it would let through, the replies it would send, its logs and
// how long it took. A failing call answers 200 with error set and the
// event unchanged, as the pipeline would pass it on.
func (s *Server) testPlugin(c *fiber.Ctx) error {
	p := principalOf(c)
	var req testPluginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	bundled, source, err := pluginCode(req.Source, req.Bundled, true)
	if err != nil {
		return err
	}
	config, err := pluginConfig(req.Config)
	if err != nil {
		return err
	}
	ev, err := testEvent(req.Event, p.WorkspaceID, s.now())
	if err != nil {
		return err
	}
	now, err := optionalTime("now", req.Now, s.now())
	if err != nil {
		return err
	}
	name := "test"
	if bundled != "" {
		name = bundled
	}
	plugin, err := plugins.Compile(plugins.Definition{Name: name, Bundled: bundled, Source: source, Config: config, Enabled: true}, pluginLimits)
	if err != nil {
		return err
	}
	out := plugin.Call(ev, now)
	dto := testPluginDTO{
		Events:     make([]testEventDTO, 0, len(out.Events)),
		Replies:    make([]replyDTO, 0, len(out.Replies)),
		Logs:       out.Logs,
		DurationMs: float64(out.Duration.Microseconds()) / 1000,
	}
	if dto.Logs == nil {
		dto.Logs = []string{}
	}
	for _, e := range out.Events {
		te := testEventDTO{ID: nullString(e.ID), Type: e.Type, CreatedAt: nullTime(e.CreatedAt), WorkspaceID: e.WorkspaceID, Data: e.Data}
		if e.DeviceID != 0 {
			id := e.DeviceID
			te.DeviceID = &id
		}
		dto.Events = append(dto.Events, te)
	}
	for _, r := range out.Replies {
		dto.Replies = append(dto.Replies, replyDTO{DeviceID: r.DeviceID, Chat: r.Chat, Text: r.Text, InReplyTo: r.InReplyTo})
	}
	if out.Err != nil {
		dto.Error = newCallErrorDTO(out.Err)
	}
	return respond(c, fiber.StatusOK, dto)
}

// testEvent reads the sample event of a dry run.
func testEvent(raw json.RawMessage, ws int64, now time.Time) (scripting.Event, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return scripting.Event{}, validationError("event", "event is required: an event envelope with at least type and data")
	}
	if raw[0] != '{' {
		return scripting.Event{}, validationError("event", "event must be an object")
	}
	var req testEventRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return scripting.Event{}, validationError("event."+te.Field, "event."+te.Field+" must be "+jsonTypeName(te.Type))
		}
		return scripting.Event{}, validationError("event", "event is not a valid event envelope")
	}
	switch {
	case req.Type == "":
		return scripting.Event{}, validationError("event.type", "event.type is required")
	case !scripting.ValidEventType(req.Type):
		return scripting.Event{}, validationError("event.type", "event.type is not an event type")
	case req.DeviceID.Present && !req.DeviceID.Valid:
		return scripting.Event{}, validationError("event.deviceId", "event.deviceId must be a positive integer")
	}
	data := bytes.TrimSpace(req.Data)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	if data[0] != '{' {
		return scripting.Event{}, validationError("event.data", "event.data must be an object")
	}
	createdAt, err := optionalTime("event.createdAt", req.CreatedAt, now)
	if err != nil {
		return scripting.Event{}, err
	}
	ev := scripting.Event{ID: req.ID, Type: req.Type, CreatedAt: createdAt.UTC(), WorkspaceID: ws, DeviceID: req.DeviceID.Value, Data: data}
	if ev.ID == "" {
		ev.ID = "evt_test"
	}
	return ev, nil
}

// optionalTime reads an RFC 3339 time field; empty is def.
func optionalTime(field, raw string, def time.Time) (time.Time, error) {
	if raw == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, validationError(field, field+" must be an RFC 3339 time")
	}
	return t, nil
}
