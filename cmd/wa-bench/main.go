// Command wa-bench measures a real wa-gateway process on this machine and
// prints one table: each figure, its target and the ratio. It starts the
// gateway binary itself on a loopback port with a temporary data dir, so
// every request crosses a real TCP connection and every send a synced write.
//
//	go build -o bin/wa-gateway ./cmd/wa-gateway && go run ./cmd/wa-bench -gateway bin/wa-gateway
//
// Benchmarks are never tests: nothing here fails a build.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wa-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	gateway  string
	duration time.Duration
	devices  int
	// restartDevices is how many paired devices the restart measurement
	// restarts with.
	restartDevices int
	out            string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("wa-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.gateway, "gateway", "bin/wa-gateway", "the wa-gateway binary to measure")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long each load runs")
	fs.IntVar(&o.devices, "devices", 16, "sandbox devices the sends are spread over")
	fs.IntVar(&o.restartDevices, "restart-devices", 1000, "paired sandbox devices for the restart measurement (0: skip it)")
	fs.StringVar(&o.out, "out", "", "also write the table to this file (e.g. bench/latest.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	gw, err := startGateway(ctx, o.gateway, stderr)
	if err != nil {
		return err
	}
	defer gw.stop()

	fmt.Fprintf(stderr, "gateway %s: setting up %d sandbox devices\n", gw.base, o.devices)
	c := newClient(gw.base)
	key, err := c.register(ctx)
	if err != nil {
		return err
	}
	devices, err := c.pairedDevices(ctx, key, o.devices)
	if err != nil {
		return err
	}

	var rows []row
	fmt.Fprintln(stderr, "measuring GET /healthz at 64 clients")
	health := closedLoop(ctx, 64, o.duration, func(ctx context.Context, i int) error { return c.healthz(ctx) })
	rows = append(rows, row{"GET /healthz at 64 clients", health.rate(), "req/s", "(baseline)", 0})

	send := func(ctx context.Context, i int) error { return c.sendText(ctx, key, devices[i%len(devices)]) }
	fmt.Fprintln(stderr, "measuring durable sends at 64 clients")
	s64 := closedLoop(ctx, 64, o.duration, send)
	rows = append(rows, row{"durable sends at 64 clients", s64.rate(), "sends/s", "≥ 3000", s64.rate() / 3000})
	settle := func() error {
		start := time.Now()
		n, err := c.drain(ctx, key, devices, 3*time.Minute)
		fmt.Fprintf(stderr, "the devices sent the %d messages left queued in %s\n", n, time.Since(start).Round(100*time.Millisecond))
		return err
	}
	if err := settle(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "measuring durable sends at 256 clients")
	s256 := closedLoop(ctx, 256, o.duration, send)
	rows = append(rows, row{"durable sends at 256 clients vs 64", s256.rate(), "sends/s", "≥ 80 % of 64", s256.rate() / (0.8 * s64.rate())})
	rows = append(rows, row{"durable sends vs /healthz (64 clients)", 100 * s64.rate() / health.rate(), "%", "≥ 30 %", s64.rate() / health.rate() / 0.3})

	if err := settle(); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "measuring send latency at 1000 req/s")
	lat := openLoop(ctx, 1000, o.duration, send)
	rows = append(rows,
		row{"send latency p50 at 1000 req/s", ms(lat.quantile(0.50)), "ms", "≤ 2 ms", 2 / max(ms(lat.quantile(0.50)), 1e-3)},
		row{"send latency p99 at 1000 req/s", ms(lat.quantile(0.99)), "ms", "≤ 20 ms", 20 / max(ms(lat.quantile(0.99)), 1e-3)},
	)
	if err := settle(); err != nil {
		return err
	}
	hooks, err := measureWebhooks(ctx, c, key,
		func() error {
			r := closedLoop(ctx, 64, o.duration, send)
			if r.errors > 0 {
				return fmt.Errorf("load for the webhooks: %d sends failed (first: %v)", r.errors, r.firstErr)
			}
			return nil
		},
		func() error { _, err := c.drain(ctx, key, devices, 3*time.Minute); return err },
		stderr)
	if err != nil {
		return err
	}
	rows = append(rows, hooks...)
	gw.stop()
	if o.restartDevices > 0 {
		restart, err := measureRestart(ctx, o.gateway, o.restartDevices, stderr)
		if err != nil {
			return err
		}
		rows = append(rows, restart...)
	}
	for _, r := range []result{health, s64, s256, lat} {
		if r.errors > 0 {
			fmt.Fprintf(stderr, "warning: %d of %d requests failed in one load (first: %v)\n", r.errors, r.count+r.errors, r.firstErr)
		}
	}

	table := render(rows, o)
	fmt.Fprint(stdout, table)
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(o.out, []byte(table), 0o644)
	}
	return nil
}

type row struct {
	what   string
	value  float64
	unit   string
	target string
	ratio  float64 // ≥ 1 meets the target; 0: no target
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func render(rows []row, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# wa-bench %s (%d s per load, %d sandbox devices)\n\n", time.Now().UTC().Format(time.RFC3339), int(o.duration.Seconds()), o.devices)
	fmt.Fprintln(&b, "| what | measured | target | ratio |")
	fmt.Fprintln(&b, "|---|---|---|---|")
	for _, r := range rows {
		ratio := "–"
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
		}
		fmt.Fprintf(&b, "| %s | %.1f %s | %s | %s |\n", r.what, r.value, r.unit, r.target, ratio)
	}
	return b.String()
}
