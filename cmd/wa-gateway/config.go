package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/pacing"
)

// config is every setting of the server. Each one is a flag and an
// environment variable (WA_GATEWAY_ + the flag in upper case, dashes as
// underscores); a flag wins over the environment, which wins over the default.
type config struct {
	Addr             string
	DataDir          string
	PublicURL        string
	LogLevel         string
	LogFormat        string
	Signup           string
	AllowPrivateURLs bool
	TrustedProxies   string // comma-separated IPs or CIDRs
	RateLimit        string
	BodyLimit        int
	ShutdownTimeout  time.Duration
	SandboxQREvery   time.Duration
	EventRetention   time.Duration // logged events and webhook deliveries
	MediaLimit       int64         // bytes: images, video, audio, voice, stickers
	DocumentLimit    int64         // bytes: documents and uploads
	FileRetention    time.Duration // uploads, media of sends, cached inbound media

	rate      pacing.Rate       // parsed RateLimit
	effective map[string]string // option name → value in force, for dump
}

// option is one row of the configuration table.
type option struct {
	name   string
	usage  string
	def    string
	secret bool
	bind   func(fs *flag.FlagSet, c *config, def string)
}

func str(p func(*config) *string) func(*flag.FlagSet, *config, string) {
	return func(fs *flag.FlagSet, c *config, def string) { fs.StringVar(p(c), "", def, "") }
}

// options is the configuration table (API.md §0).
var options = []option{
	{name: "addr", def: ":8080", usage: "address to listen on (host:port)",
		bind: str(func(c *config) *string { return &c.Addr })},
	{name: "data-dir", def: "./data", usage: "directory of the embedded database",
		bind: str(func(c *config) *string { return &c.DataDir })},
	{name: "public-url", def: "", usage: "URL clients reach the gateway at (for links in events); empty: derived from requests",
		bind: str(func(c *config) *string { return &c.PublicURL })},
	{name: "log-level", def: "info", usage: "debug, info, warn or error",
		bind: str(func(c *config) *string { return &c.LogLevel })},
	{name: "log-format", def: "text", usage: "text or json",
		bind: str(func(c *config) *string { return &c.LogFormat })},
	{name: "signup", def: "open", usage: "open: anyone may register in the dashboard; closed: only `wa-gateway workspace create`",
		bind: str(func(c *config) *string { return &c.Signup })},
	{name: "allow-private-urls", def: "false", usage: "let webhook and media URLs resolve to loopback, private and link-local addresses (tests, local development)",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			fs.BoolVar(&c.AllowPrivateURLs, "", def == "true", "")
		}},
	{name: "trusted-proxies", def: "", usage: "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For names the client (login throttle, access log); empty: the connection's address",
		bind: str(func(c *config) *string { return &c.TrustedProxies })},
	{name: "rate-limit", def: "30/m", usage: "default admission limit per device (N/s, N/m, N/h or N/<duration>)",
		bind: str(func(c *config) *string { return &c.RateLimit })},
	{name: "body-limit", def: "1048576", usage: "largest request body in bytes (larger: 413)",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			n, _ := strconv.Atoi(def)
			fs.IntVar(&c.BodyLimit, "", n, "")
		}},
	{name: "shutdown-timeout", def: "15s", usage: "how long a graceful shutdown may take",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			d, _ := time.ParseDuration(def)
			fs.DurationVar(&c.ShutdownTimeout, "", d, "")
		}},
	{name: "media-limit", def: "16777216", usage: "largest image, video, audio, voice note or sticker in bytes (send-media)",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			n, _ := strconv.ParseInt(def, 10, 64)
			fs.Int64Var(&c.MediaLimit, "", n, "")
		}},
	{name: "document-limit", def: "104857600", usage: "largest document or uploaded file in bytes (send-media, POST /api/files)",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			n, _ := strconv.ParseInt(def, 10, 64)
			fs.Int64Var(&c.DocumentLimit, "", n, "")
		}},
	{name: "file-retention", def: "24h", usage: "how long uploaded files, the media of sends and downloaded inbound media are kept",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			d, _ := time.ParseDuration(def)
			fs.DurationVar(&c.FileRetention, "", d, "")
		}},
	{name: "event-retention", def: "72h", usage: "how long logged events (the resume window of streams) and webhook deliveries are kept; at least 24h",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			d, _ := time.ParseDuration(def)
			fs.DurationVar(&c.EventRetention, "", d, "")
		}},
	{name: "sandbox-qr-interval", def: "20s", usage: "how often a sandbox device's QR code rotates",
		bind: func(fs *flag.FlagSet, c *config, def string) {
			d, _ := time.ParseDuration(def)
			fs.DurationVar(&c.SandboxQREvery, "", d, "")
		}},
}

func envName(flagName string) string {
	return "WA_GATEWAY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads the flags of a command after applying the environment.
// extra binds the command's own flags (may be nil).
func parseConfig(name string, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (config, error) {
	var c config
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, o := range options {
		def := o.def
		if v := getenv(envName(o.name)); v != "" {
			def = v
		}
		// Bind under a throwaway name, then rename: flag.FlagSet has no
		// other way to set a name and a computed default in one table.
		tmp := flag.NewFlagSet("", flag.ContinueOnError)
		o.bind(tmp, &c, def)
		f := tmp.Lookup("")
		if err := f.Value.Set(def); err != nil {
			return c, fmt.Errorf("%s=%q: %w", envName(o.name), def, err)
		}
		fs.Var(f.Value, o.name, fmt.Sprintf("%s (env %s)", o.usage, envName(o.name)))
	}
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wa-gateway %s [flags]\n\nFlags:\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.effective = make(map[string]string, len(options))
	for _, o := range options {
		c.effective[o.name] = fs.Lookup(o.name).Value.String()
	}
	return c, c.validate()
}

// validate checks every setting and parses the derived ones.
func (c *config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("public-url %q: must be an absolute http(s) URL", c.PublicURL))
		}
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: must be text or json", c.LogFormat))
	}
	if c.Signup != "open" && c.Signup != "closed" {
		errs = append(errs, fmt.Errorf("signup %q: must be open or closed", c.Signup))
	}
	for _, p := range c.proxies() {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				errs = append(errs, fmt.Errorf("trusted-proxies: %q is not an IP address or a CIDR", p))
			}
		}
	}
	r, err := pacing.ParseRate(c.RateLimit)
	if err != nil {
		errs = append(errs, fmt.Errorf("rate-limit: %w", err))
	}
	c.rate = r
	if c.BodyLimit < 1024 {
		errs = append(errs, fmt.Errorf("body-limit %d: must be at least 1024 bytes", c.BodyLimit))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown-timeout must be positive"))
	}
	if c.MediaLimit < 1024 || c.DocumentLimit < 1024 {
		errs = append(errs, errors.New("media-limit and document-limit must be at least 1024 bytes"))
	}
	if c.FileRetention < time.Minute {
		errs = append(errs, errors.New("file-retention must be at least 1m"))
	}
	if c.EventRetention < 24*time.Hour {
		errs = append(errs, errors.New("event-retention must be at least 24h"))
	}
	if c.SandboxQREvery < time.Second {
		errs = append(errs, errors.New("sandbox-qr-interval must be at least 1s"))
	}
	return errors.Join(errs...)
}

// proxies is TrustedProxies as a list.
func (c *config) proxies() []string {
	var out []string
	for _, p := range strings.Split(c.TrustedProxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dump writes the effective configuration, one option a line, with secret
// values redacted.
func (c *config) dump(w io.Writer) {
	for _, o := range options {
		v := c.effective[o.name]
		if o.secret && v != "" {
			v = "[redacted]"
		}
		fmt.Fprintf(w, "%-22s %-34s %s\n", o.name, envName(o.name), v)
	}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("log-level %q: must be debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(c config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
