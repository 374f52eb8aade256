package pacing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Profile names a preset of Settings.
type Profile string

// The pacing profiles. doc.go gives each default and its reason.
const (
	// ProfileOff sends as fast as the queue allows: no gap, no typing, no
	// spacing, no caps, no number checks. For tests and benchmarks.
	ProfileOff Profile = "off"
	// ProfileBalanced is the default: human-like gaps and typing, per-chat
	// spacing, a daily cap with a warm-up ramp and a first-contact budget.
	ProfileBalanced Profile = "balanced"
	// ProfileCareful is slower and tighter, for new or once-restricted numbers.
	ProfileCareful Profile = "careful"
)

// DefaultProfile is the profile of a device that never chose one.
const DefaultProfile = ProfileBalanced

// Profiles lists the profiles in the order the API documents them.
var Profiles = []Profile{ProfileOff, ProfileBalanced, ProfileCareful}

// ParseProfile reads a profile name. Errors wrap ErrBadSettings.
func ParseProfile(s string) (Profile, error) {
	for _, p := range Profiles {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: profile %q is not off, balanced or careful", ErrBadSettings, s)
}

// Preset returns the Settings of profile p. It panics on a profile that is
// not one of Profiles: names come from ParseProfile or the constants.
func Preset(p Profile) Settings {
	switch p {
	case ProfileOff:
		return Settings{Profile: ProfileOff}
	case ProfileBalanced:
		return Settings{
			Profile:             ProfileBalanced,
			GapMin:              Duration(5 * time.Second),
			GapMax:              Duration(30 * time.Second),
			TypingWPM:           40,
			TypingJitter:        0.3,
			TypingMin:           Duration(time.Second),
			TypingMax:           Duration(15 * time.Second),
			ChatSpacing:         Duration(30 * time.Second),
			ChatSpacingReplied:  Duration(10 * time.Second),
			GroupSpacing:        Duration(60 * time.Second),
			ReplyWindow:         Duration(24 * time.Hour),
			DailyCap:            500,
			FirstContactsPerDay: 50,
			WarmupDays:          10,
			WarmupStartPercent:  10,
			CheckNumbers:        true,
			CheckTTL:            Duration(7 * 24 * time.Hour),
			PauseRateLimited:    Duration(15 * time.Minute),
			PauseReachOut:       Duration(24 * time.Hour),
			PauseBan:            Duration(24 * time.Hour),
		}
	case ProfileCareful:
		return Settings{
			Profile:             ProfileCareful,
			GapMin:              Duration(30 * time.Second),
			GapMax:              Duration(90 * time.Second),
			TypingWPM:           30,
			TypingJitter:        0.3,
			TypingMin:           Duration(2 * time.Second),
			TypingMax:           Duration(25 * time.Second),
			ChatSpacing:         Duration(60 * time.Second),
			ChatSpacingReplied:  Duration(20 * time.Second),
			GroupSpacing:        Duration(120 * time.Second),
			ReplyWindow:         Duration(24 * time.Hour),
			DailyCap:            200,
			FirstContactsPerDay: 20,
			WarmupDays:          14,
			WarmupStartPercent:  10,
			CheckNumbers:        true,
			CheckTTL:            Duration(7 * 24 * time.Hour),
			PauseRateLimited:    Duration(time.Hour),
			PauseReachOut:       Duration(48 * time.Hour),
			PauseBan:            Duration(48 * time.Hour),
		}
	}
	panic(fmt.Sprintf("pacing: unknown profile %q", p))
}

// Settings are every knob of a device's Pacer. A zero knob turns its rule
// off (no gap, no cap, no pause…). Profiles are presets of Settings; Profile
// names the preset the other fields started from. The JSON form is what the
// device stores and what PATCH /api/devices/{id} merges into (see Apply);
// durations are written as Go durations ("30s", "1m30s", "24h").
type Settings struct {
	Profile Profile `json:"profile"`

	// GapMin and GapMax bound the random time from one send of the device
	// to the next (uniform). The gap of a send is drawn when it goes out.
	GapMin Duration `json:"gapMin"`
	GapMax Duration `json:"gapMax"`

	// TypingWPM is the typing speed (a word is five characters) that turns
	// a text's length into the time "typing…" shows before it is sent; 0
	// shows no presence at all. The time is jittered by ±TypingJitter (a
	// fraction) and kept within [TypingMin, TypingMax]. Voice notes show
	// "recording…" for about the recording's length, within the same bounds.
	TypingWPM    int      `json:"typingWpm"`
	TypingJitter float64  `json:"typingJitter"`
	TypingMin    Duration `json:"typingMin"`
	TypingMax    Duration `json:"typingMax"`

	// ChatSpacing is the least time between two sends to the same chat;
	// ChatSpacingReplied replaces it while the contact wrote to us within
	// ReplyWindow. Groups use GroupSpacing and never relax.
	ChatSpacing        Duration `json:"chatSpacing"`
	ChatSpacingReplied Duration `json:"chatSpacingReplied"`
	GroupSpacing       Duration `json:"groupSpacing"`
	ReplyWindow        Duration `json:"replyWindow"`

	// DailyCap bounds the sends of any 24 hours; FirstContactsPerDay bounds
	// the new numbers reached in any 24 hours (numbers never messaged that
	// never wrote to us, counted when checked or first sent to). 0 means
	// no limit. For WarmupDays after the device's start both limits ramp
	// up geometrically from WarmupStartPercent of their value.
	DailyCap            int `json:"dailyCap"`
	FirstContactsPerDay int `json:"firstContactsPerDay"`
	WarmupDays          int `json:"warmupDays"`
	WarmupStartPercent  int `json:"warmupStartPercent"`

	// CheckNumbers asks for an on-WhatsApp check before the first message
	// to a number; answers are cached for CheckTTL.
	CheckNumbers bool     `json:"checkNumbers"`
	CheckTTL     Duration `json:"checkTtl"`

	// How long sending pauses after WhatsApp's rate-limit error, its
	// reach-out timelock (first contacts only) and a temporary ban, when
	// WhatsApp does not say until when. Repeats within a day double it.
	PauseRateLimited Duration `json:"pauseRateLimited"`
	PauseReachOut    Duration `json:"pauseReachOut"`
	PauseBan         Duration `json:"pauseBan"`
}

// Bounds of valid Settings. They keep a typo from parking a queue for years
// and every product of the pacer's arithmetic far from overflow.
const (
	MaxGap           = time.Hour
	MaxTyping        = 30 * time.Second
	MaxTypingWPM     = 1000
	MaxTypingJitter  = 0.9
	MaxSpacing       = 24 * time.Hour
	MaxReplyWindow   = 7 * 24 * time.Hour
	MaxDailyCap      = 100_000
	MaxWarmupDays    = 90
	MinCheckTTL      = time.Minute
	MaxCheckTTL      = 90 * 24 * time.Hour
	MaxPauseDefault  = 30 * 24 * time.Hour
	maxEscalatedWait = 7 * 24 * time.Hour
)

// Validate reports the first knob out of range, by its JSON name. Errors
// wrap ErrBadSettings.
func (s Settings) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadSettings}, args...)...)
	}
	if _, err := ParseProfile(string(s.Profile)); err != nil {
		return err
	}
	within := func(name string, d Duration, lo, hi time.Duration) error {
		if time.Duration(d) < lo || time.Duration(d) > hi {
			return bad("%s %s is not within [%s, %s]", name, d, Duration(lo), Duration(hi))
		}
		return nil
	}
	for _, c := range []struct {
		name   string
		d      Duration
		lo, hi time.Duration
	}{
		{"gapMin", s.GapMin, 0, MaxGap},
		{"gapMax", s.GapMax, 0, MaxGap},
		{"typingMin", s.TypingMin, 0, MaxTyping},
		{"typingMax", s.TypingMax, 0, MaxTyping},
		{"chatSpacing", s.ChatSpacing, 0, MaxSpacing},
		{"chatSpacingReplied", s.ChatSpacingReplied, 0, MaxSpacing},
		{"groupSpacing", s.GroupSpacing, 0, MaxSpacing},
		{"replyWindow", s.ReplyWindow, 0, MaxReplyWindow},
		{"checkTtl", s.CheckTTL, 0, MaxCheckTTL},
		{"pauseRateLimited", s.PauseRateLimited, 0, MaxPauseDefault},
		{"pauseReachOut", s.PauseReachOut, 0, MaxPauseDefault},
		{"pauseBan", s.PauseBan, 0, MaxPauseDefault},
	} {
		if err := within(c.name, c.d, c.lo, c.hi); err != nil {
			return err
		}
	}
	switch {
	case s.GapMax < s.GapMin:
		return bad("gapMax %s is below gapMin %s", s.GapMax, s.GapMin)
	case s.TypingWPM < 0 || s.TypingWPM > MaxTypingWPM:
		return bad("typingWpm %d is not within [0, %d]", s.TypingWPM, MaxTypingWPM)
	case math.IsNaN(s.TypingJitter) || s.TypingJitter < 0 || s.TypingJitter > MaxTypingJitter:
		return bad("typingJitter %v is not within [0, %v]", s.TypingJitter, MaxTypingJitter)
	case s.TypingMax < s.TypingMin:
		return bad("typingMax %s is below typingMin %s", s.TypingMax, s.TypingMin)
	case s.TypingWPM > 0 && s.TypingMax == 0:
		return bad("typingMax must be above 0 when typingWpm is set")
	case s.ChatSpacingReplied > s.ChatSpacing:
		return bad("chatSpacingReplied %s is above chatSpacing %s: replies relax the spacing, never tighten it",
			s.ChatSpacingReplied, s.ChatSpacing)
	case s.DailyCap < 0 || s.DailyCap > MaxDailyCap:
		return bad("dailyCap %d is not within [0, %d]", s.DailyCap, MaxDailyCap)
	case s.FirstContactsPerDay < 0 || s.FirstContactsPerDay > MaxDailyCap:
		return bad("firstContactsPerDay %d is not within [0, %d]", s.FirstContactsPerDay, MaxDailyCap)
	case s.WarmupDays < 0 || s.WarmupDays > MaxWarmupDays:
		return bad("warmupDays %d is not within [0, %d]", s.WarmupDays, MaxWarmupDays)
	case s.WarmupDays > 0 && (s.WarmupStartPercent < 1 || s.WarmupStartPercent > 100):
		return bad("warmupStartPercent %d is not within [1, 100]", s.WarmupStartPercent)
	case s.WarmupDays == 0 && (s.WarmupStartPercent < 0 || s.WarmupStartPercent > 100):
		return bad("warmupStartPercent %d is not within [0, 100]", s.WarmupStartPercent)
	case s.CheckNumbers && time.Duration(s.CheckTTL) < MinCheckTTL:
		return bad("checkTtl %s is below %s", s.CheckTTL, Duration(MinCheckTTL))
	}
	return nil
}

// Apply merges a JSON patch into s and validates the result, the way
// PATCH /api/devices/{id} changes a device's pacing: fields the patch
// names replace those of s, the others stay. A patch that names a profile
// starts from that profile's preset instead of s, so {"profile":"careful"}
// resets every knob and {"profile":"careful","dailyCap":50} is careful with
// a lower cap. Unknown fields are refused. Errors wrap ErrBadSettings.
func (s Settings) Apply(patch []byte) (Settings, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil {
		return s, fmt.Errorf("%w: want a JSON object: %w", ErrBadSettings, err)
	}
	next := s
	if raw, ok := fields["profile"]; ok {
		var name string
		if err := json.Unmarshal(raw, &name); err != nil {
			return s, fmt.Errorf("%w: profile is not a string", ErrBadSettings)
		}
		p, err := ParseProfile(name)
		if err != nil {
			return s, err
		}
		next = Preset(p)
	}
	if err := decodeStrict(patch, &next); err != nil {
		return s, fmt.Errorf("%w: %w", ErrBadSettings, fieldError(fields, err))
	}
	if err := next.Validate(); err != nil {
		return s, err
	}
	return next, nil
}

func decodeStrict(b []byte, s *Settings) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(s)
}

// fieldError names the field that err is about when encoding/json did not:
// it decodes the fields one by one and blames the first that fails.
func fieldError(fields map[string]json.RawMessage, err error) error {
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		one, merr := json.Marshal(map[string]json.RawMessage{k: fields[k]})
		if merr != nil {
			continue
		}
		var scratch Settings
		if ferr := decodeStrict(one, &scratch); ferr != nil {
			if strings.Contains(ferr.Error(), strconv.Quote(k)) {
				return ferr // encoding/json named it (unknown field, wrong type)
			}
			return fmt.Errorf("%s: %w", k, ferr)
		}
	}
	return err
}

// Duration is a time.Duration written in JSON as a Go duration string:
// "30s", "1m30s", "24h".
type Duration time.Duration

// String writes d as ParseDuration reads it, without trailing zero units.
func (d Duration) String() string {
	s := time.Duration(d).String()
	// Duration.String writes 2m as "2m0s" and 2h as "2h0m0s".
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes d as a JSON string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads a JSON string in time.ParseDuration's form. null
// leaves d as it is.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration %s is not a string like \"30s\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q is not like \"30s\", \"1m30s\" or \"24h\"", s)
	}
	*d = Duration(v)
	return nil
}
