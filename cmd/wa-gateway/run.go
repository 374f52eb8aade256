package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/engine"
	"github.com/wa-gateway/wa-gateway/actors/engine/live"
	"github.com/wa-gateway/wa-gateway/actors/engine/sim"
	"github.com/wa-gateway/wa-gateway/api"
	"github.com/wa-gateway/wa-gateway/storage"
	"github.com/wa-gateway/wa-gateway/storage/wastore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is everything run needs from the process, so that tests can run the
// real server in-process.
type env struct {
	args   []string
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// ready, when set, is told the address the server listens on.
	ready func(addr net.Addr)
	// engines, when set, builds the engines instead of the production set
	// (tests point the whatsmeow engine at a fake WhatsApp).
	engines func(c config, db *storage.DB, log *slog.Logger) (map[string]engine.Engine, error)
}

const usage = `Usage: wa-gateway [command] [flags]

Commands:
  serve              run the gateway (the default)
  version            print the version
  healthcheck        exit 0 when the gateway at --addr is ready
  config             print the configuration in force (secrets redacted)
  workspace create   create a workspace and its owner; prints the first live key once

Run 'wa-gateway <command> -h' for a command's flags.
`

// run is the whole program; it returns the exit code.
func run(ctx context.Context, e env) int {
	cmd, args := "serve", e.args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, e, args)
	case "version":
		fmt.Fprintf(e.stdout, "wa-gateway %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	case "healthcheck":
		err = healthcheck(ctx, e, args)
	case "config":
		var c config
		if c, err = parseConfig("config", args, e.getenv, e.stderr, nil); err == nil {
			c.dump(e.stdout)
		}
	case "workspace":
		err = workspaceCommand(ctx, e, args)
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
	default:
		fmt.Fprintf(e.stderr, "wa-gateway: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(e.stderr, "wa-gateway %s: %v\n", cmd, err)
		return 1
	}
}

// serve runs the gateway until ctx ends, then shuts down in order: stop
// accepting requests and end streams, drain the actors, close the store.
func serve(ctx context.Context, e env, args []string) error {
	c, err := parseConfig("serve", args, e.getenv, e.stderr, nil)
	if err != nil {
		return err
	}
	log := newLogger(c, e.stderr)
	log.Info("starting", "version", version, "addr", c.Addr, "dataDir", c.DataDir)

	db, err := openStore(c, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	makeEngines := engines
	if e.engines != nil {
		makeEngines = e.engines
	}
	engs, err := makeEngines(c, db, log)
	if err != nil {
		return err
	}
	gw, err := actors.Start(ctx, actors.Config{
		Logger:           log,
		DB:               db,
		Engines:          engs,
		DefaultRateLimit: c.rate,
		EventRetention:   c.EventRetention,
		AllowPrivateURLs: c.AllowPrivateURLs,
		PublicURL:        c.PublicURL,
		MediaRetention:   c.FileRetention,
		MediaMaxBytes:    max(c.MediaLimit, c.DocumentLimit),
	})
	if err != nil {
		return err
	}
	stopActors := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
		defer cancel()
		if err := gw.Stop(sctx); err != nil {
			log.Error("stop actors", "err", err)
		}
	}

	srv, err := api.New(api.Config{
		Logger:           log,
		Gateway:          gw,
		DB:               db,
		BodyLimit:        c.BodyLimit,
		Signup:           c.Signup,
		PublicURL:        c.PublicURL,
		Version:          version,
		AllowPrivateURLs: c.AllowPrivateURLs,
		TrustedProxies:   c.proxies(),
		MediaMaxBytes:    c.MediaLimit,
		DocumentMaxBytes: c.DocumentLimit,
		FileRetention:    c.FileRetention,
	})
	if err != nil {
		stopActors()
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		stopActors()
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String())
	if e.ready != nil {
		e.ready(ln.Addr())
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-served:
		log.Error("server stopped", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("stop http server", "err", err)
	}
	stopActors()
	log.Info("stopped")
	return err
}

func openStore(c config, log *slog.Logger) (*storage.DB, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	db, err := storage.Open(filepath.Join(c.DataDir, "db"), storage.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store in %s: %w", c.DataDir, err)
	}
	return db, nil
}

// engines lists the WhatsApp engines this server offers, by name: the
// simulator and the real WhatsApp (whatsmeow).
func engines(c config, db *storage.DB, log *slog.Logger) (map[string]engine.Engine, error) {
	return newEngines(c, db, log, live.Config{})
}

// newEngines is engines with the whatsmeow engine's transport and version
// settings in lc (its logger and store are set here).
func newEngines(c config, db *storage.DB, log *slog.Logger, lc live.Config) (map[string]engine.Engine, error) {
	s := sim.New(sim.Config{Store: simStore{db}, Logger: log.With("engine", "sim"), QRInterval: c.SandboxQREvery})
	keys, err := wastore.New(db, log.With("component", "wastore"))
	if err != nil {
		return nil, fmt.Errorf("whatsmeow store: %w", err)
	}
	lc.Logger, lc.Store = log, keys
	l, err := live.New(context.Background(), lc)
	if err != nil {
		return nil, err
	}
	return map[string]engine.Engine{s.Name(): s, l.Name(): l}, nil
}

// simStore keeps the simulator's pairings in the gateway's store, so that a
// paired sandbox device reconnects after a restart like a real one.
type simStore struct{ db *storage.DB }

func (s simStore) Get(id int64) ([]byte, error) {
	v, err := s.db.GetEngineState(id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	return v, err
}
func (s simStore) Put(id int64, v []byte) error { return s.db.PutEngineState(id, v) }
func (s simStore) Delete(id int64) error        { return s.db.DeleteEngineState(id) }

// healthcheck exits 0 when /readyz of the gateway at --addr answers 200.
func healthcheck(ctx context.Context, e env, args []string) error {
	c, err := parseConfig("healthcheck", args, e.getenv, e.stderr, nil)
	if err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: /readyz answered %d", resp.StatusCode)
	}
	fmt.Fprintln(e.stdout, "ready")
	return nil
}

// workspaceCommand: `workspace create --name N --email E --password P`.
func workspaceCommand(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: wa-gateway workspace create --name N --email E --password P [--owner NAME]")
	}
	var name, email, password, owner string
	c, err := parseConfig("workspace create", args[1:], e.getenv, e.stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "workspace name (required)")
		fs.StringVar(&email, "email", "", "owner's e-mail, used to sign in to the dashboard (required)")
		fs.StringVar(&password, "password", "", "owner's password, 8 to 128 characters (required)")
		fs.StringVar(&owner, "owner", "", "owner's name (default: the e-mail)")
	})
	if err != nil {
		return err
	}
	if name == "" || email == "" || password == "" {
		return errors.New("--name, --email and --password are required")
	}
	if owner == "" {
		owner = email
	}
	log := newLogger(c, io.Discard)
	db, err := openStore(c, log)
	if err != nil {
		return err
	}
	defer db.Close()
	acct, err := api.CreateAccount(ctx, db, api.AccountSpec{Name: owner, Email: email, Password: password, Workspace: name})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "workspace %d %q created for %s\nAPI key (shown once, keep it safe): %s\n",
		acct.Workspace.ID, acct.Workspace.Name, acct.User.Email, acct.APIKey)
	return nil
}
