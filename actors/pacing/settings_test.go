package pacing

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPresetsAreValid(t *testing.T) {
	for _, p := range Profiles {
		s := Preset(p)
		if s.Profile != p {
			t.Errorf("Preset(%s).Profile = %q", p, s.Profile)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("Preset(%s).Validate() = %v", p, err)
		}
	}
	if DefaultProfile != ProfileBalanced {
		t.Errorf("DefaultProfile = %s, want balanced", DefaultProfile)
	}
	// careful is careful: never looser than balanced on any limit.
	b, c := Preset(ProfileBalanced), Preset(ProfileCareful)
	if c.GapMin < b.GapMin || c.GapMax < b.GapMax || c.ChatSpacing < b.ChatSpacing ||
		c.DailyCap > b.DailyCap || c.FirstContactsPerDay > b.FirstContactsPerDay || c.WarmupDays < b.WarmupDays {
		t.Errorf("careful is looser than balanced somewhere:\n%+v\n%+v", c, b)
	}
}

func TestParseProfile(t *testing.T) {
	for _, in := range []string{"off", "balanced", "careful"} {
		if p, err := ParseProfile(in); err != nil || string(p) != in {
			t.Errorf("ParseProfile(%q) = %q, %v", in, p, err)
		}
	}
	for _, in := range []string{"", "Balanced", "human", " off"} {
		if _, err := ParseProfile(in); !errors.Is(err, ErrBadSettings) {
			t.Errorf("ParseProfile(%q) error = %v, want ErrBadSettings", in, err)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	d := func(x time.Duration) Duration { return Duration(x) }
	tests := []struct {
		name   string
		change func(*Settings)
		field  string // in the error; "" when valid
	}{
		{"balanced", func(*Settings) {}, ""},
		{"no profile", func(s *Settings) { s.Profile = "" }, "profile"},
		{"negative gap", func(s *Settings) { s.GapMin = d(-time.Second) }, "gapMin"},
		{"gap max below min", func(s *Settings) { s.GapMin, s.GapMax = d(10*time.Second), d(5*time.Second) }, "gapMax"},
		{"gap over an hour", func(s *Settings) { s.GapMax = d(2 * time.Hour) }, "gapMax"},
		{"equal gaps", func(s *Settings) { s.GapMin, s.GapMax = d(7*time.Second), d(7*time.Second) }, ""},
		{"wpm negative", func(s *Settings) { s.TypingWPM = -1 }, "typingWpm"},
		{"wpm huge", func(s *Settings) { s.TypingWPM = MaxTypingWPM + 1 }, "typingWpm"},
		{"jitter over", func(s *Settings) { s.TypingJitter = 0.95 }, "typingJitter"},
		{"jitter negative", func(s *Settings) { s.TypingJitter = -0.1 }, "typingJitter"},
		{"typing max over", func(s *Settings) { s.TypingMax = d(MaxTyping + time.Second) }, "typingMax"},
		{"typing max below min", func(s *Settings) { s.TypingMin, s.TypingMax = d(5*time.Second), d(2*time.Second) }, "typingMax"},
		{"typing without max", func(s *Settings) { s.TypingMin, s.TypingMax = 0, 0 }, "typingMax"},
		{"no typing at all", func(s *Settings) { s.TypingWPM, s.TypingMin, s.TypingMax = 0, 0, 0 }, ""},
		{"replied above spacing", func(s *Settings) { s.ChatSpacingReplied = s.ChatSpacing + 1 }, "chatSpacingReplied"},
		{"spacing over a day", func(s *Settings) { s.ChatSpacing = d(25 * time.Hour) }, "chatSpacing"},
		{"group spacing negative", func(s *Settings) { s.GroupSpacing = -1 }, "groupSpacing"},
		{"reply window over a week", func(s *Settings) { s.ReplyWindow = d(8 * 24 * time.Hour) }, "replyWindow"},
		{"cap negative", func(s *Settings) { s.DailyCap = -1 }, "dailyCap"},
		{"cap huge", func(s *Settings) { s.DailyCap = MaxDailyCap + 1 }, "dailyCap"},
		{"no cap", func(s *Settings) { s.DailyCap = 0 }, ""},
		{"first contacts negative", func(s *Settings) { s.FirstContactsPerDay = -5 }, "firstContactsPerDay"},
		{"warmup too long", func(s *Settings) { s.WarmupDays = MaxWarmupDays + 1 }, "warmupDays"},
		{"warmup from 0 %", func(s *Settings) { s.WarmupStartPercent = 0 }, "warmupStartPercent"},
		{"warmup from 101 %", func(s *Settings) { s.WarmupStartPercent = 101 }, "warmupStartPercent"},
		{"no warmup", func(s *Settings) { s.WarmupDays, s.WarmupStartPercent = 0, 0 }, ""},
		{"check ttl too short", func(s *Settings) { s.CheckTTL = d(time.Second) }, "checkTtl"},
		{"no check, no ttl", func(s *Settings) { s.CheckNumbers, s.CheckTTL = false, 0 }, ""},
		{"check ttl too long", func(s *Settings) { s.CheckTTL = d(MaxCheckTTL + time.Hour) }, "checkTtl"},
		{"pause negative", func(s *Settings) { s.PauseRateLimited = -1 }, "pauseRateLimited"},
		{"pause too long", func(s *Settings) { s.PauseBan = d(MaxPauseDefault + 1) }, "pauseBan"},
		{"no pauses", func(s *Settings) { s.PauseBan, s.PauseReachOut, s.PauseRateLimited = 0, 0, 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Preset(ProfileBalanced)
			tt.change(&s)
			err := s.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrBadSettings) {
				t.Fatalf("Validate() = %v, want ErrBadSettings", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate() = %v, does not name %s", err, tt.field)
			}
		})
	}
}

func TestSettingsApply(t *testing.T) {
	balanced, careful := Preset(ProfileBalanced), Preset(ProfileCareful)
	withCap := func(s Settings, n int) Settings { s.DailyCap = n; return s }
	tests := []struct {
		name  string
		from  Settings
		patch string
		want  Settings
		err   string // substring of the error; "" for success
	}{
		{"empty patch keeps all", balanced, `{}`, balanced, ""},
		{"one knob", balanced, `{"dailyCap": 80}`, withCap(balanced, 80), ""},
		{"profile resets every knob", withCap(balanced, 80), `{"profile": "careful"}`, careful, ""},
		{"profile then knob", balanced, `{"dailyCap": 20, "profile": "careful"}`, withCap(careful, 20), ""},
		{"durations as strings", balanced, `{"gapMin": "1m", "gapMax": "1m30s"}`,
			func() Settings {
				s := balanced
				s.GapMin, s.GapMax = Duration(time.Minute), Duration(90*time.Second)
				return s
			}(), ""},
		{"null duration leaves it", balanced, `{"gapMin": null}`, balanced, ""},
		{"duration as a number", balanced, `{"gapMin": 5}`, balanced, "gapMin"},
		{"bad duration", balanced, `{"gapMin": "5 seconds"}`, balanced, "5 seconds"},
		{"unknown field", balanced, `{"dailyCapp": 5}`, balanced, "dailyCapp"},
		{"unknown profile", balanced, `{"profile": "fast"}`, balanced, "fast"},
		{"out of range result", balanced, `{"gapMin": "40s"}`, balanced, "gapMax"},
		{"not an object", balanced, `[1]`, balanced, "JSON object"},
		{"profile not a string", balanced, `{"profile": 1}`, balanced, "profile"},
		{"wrong type", balanced, `{"dailyCap": "many"}`, balanced, "dailyCap"},
		{"two values", balanced, `{} {}`, balanced, "after top-level value"},
		{"truncated", balanced, `{"dailyCap": `, balanced, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.from.Apply([]byte(tt.patch))
			if tt.err != "" {
				if !errors.Is(err, ErrBadSettings) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Apply(%s) error = %v, want ErrBadSettings mentioning %q", tt.patch, err, tt.err)
				}
				if got != tt.from {
					t.Fatalf("Apply(%s) failed but changed the settings: %+v", tt.patch, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply(%s): %v", tt.patch, err)
			}
			if got != tt.want {
				t.Fatalf("Apply(%s) =\n%+v\nwant\n%+v", tt.patch, got, tt.want)
			}
		})
	}
}

func TestSettingsJSON(t *testing.T) {
	for _, p := range Profiles {
		s := Preset(p)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var back Settings
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back != s {
			t.Fatalf("round trip of %s: %+v, want %+v", b, back, s)
		}
	}
	b, _ := json.Marshal(Preset(ProfileBalanced))
	for _, want := range []string{`"profile":"balanced"`, `"gapMin":"5s"`, `"replyWindow":"24h"`, `"checkTtl":"168h"`, `"pauseRateLimited":"15m"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("balanced JSON %s lacks %s", b, want)
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 5 * time.Second: "5s", 2 * time.Minute: "2m", 90 * time.Second: "1m30s",
		24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 1500 * time.Millisecond: "1.5s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", time.Duration(d), got, want)
		}
	}
}

// FuzzSettings checks that any patch either is refused with ErrBadSettings
// or gives settings that validate, survive a JSON round trip and drive a
// pacer whose decisions stay within their bounds.
func FuzzSettings(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"profile":"off"}`, `{"profile":"careful","dailyCap":3}`, `{"gapMin":"0s","gapMax":"1h"}`,
		`{"typingWpm":1,"typingMax":"30s","typingJitter":0.9}`, `{"warmupDays":90,"warmupStartPercent":1}`,
		`{"firstContactsPerDay":1,"checkTtl":"1m"}`, `{"gapMin":"-1s"}`, `{"typingJitter":1e309}`, `nul`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, patch string) {
		s, err := Preset(ProfileBalanced).Apply([]byte(patch))
		if err != nil {
			if !errors.Is(err, ErrBadSettings) {
				t.Fatalf("Apply(%q): error %v does not wrap ErrBadSettings", patch, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Apply(%q) = %+v, which does not validate: %v", patch, s, err)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Settings{}.Apply(b)
		if err != nil || !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip of %s: %+v, %v", b, back, err)
		}
		p, err := NewPacer(s, t0.Add(-48*time.Hour), rand.NewPCG(1, 2))
		if err != nil {
			t.Fatal(err)
		}
		now := t0
		for i := range 20 {
			m := Outgoing{ID: string(rune('a' + i)), Chat: "c" + string(rune('a'+i%3)), Phone: "49170", Kind: KindText, TextLen: i * 37}
			d := p.Plan(now, m)
			if d.Typing < 0 || d.Typing > time.Duration(s.TypingMax) || (d.Typing > 0 && d.Typing < time.Duration(s.TypingMin)) {
				t.Fatalf("typing %s outside [%s, %s]", d.Typing, s.TypingMin, s.TypingMax)
			}
			if d.Action == ActionWait && !d.At.After(now) {
				t.Fatalf("wait until %s at %s", d.At, now)
			}
			switch d.Action {
			case ActionSend:
				p.Sent(now, m)
			case ActionCheck:
				p.NumberChecked(now, m.Phone, true)
			case ActionWait, ActionType:
				now = d.At
			}
		}
	})
}
