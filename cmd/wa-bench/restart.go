package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// measureRestart pairs n sandbox devices on a gateway of its own, restarts
// it on the same data, and measures how long the new process takes to
// serve (/readyz answers) and to have every device connected again.
func measureRestart(ctx context.Context, bin string, n int, stderr io.Writer) ([]row, error) {
	gw, err := startGateway(ctx, bin, stderr)
	if err != nil {
		return nil, err
	}
	c := newClient(gw.base)
	key, err := c.register(ctx)
	if err == nil {
		fmt.Fprintf(stderr, "pairing %d sandbox devices, then restarting the gateway\n", n)
		_, err = c.pairedDevices(ctx, key, n)
	}
	if err != nil {
		gw.stop()
		return nil, err
	}
	gw.halt()
	start := time.Now()
	gw, err = startGatewayIn(ctx, bin, gw.dir, stderr)
	if err != nil {
		return nil, err
	}
	defer gw.stop()
	serving := time.Since(start)
	c = newClient(gw.base)
	for {
		list, err := c.do(ctx, http.MethodGet, "/api/devices", key, nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		items, _ := list["items"].([]any)
		connected := 0
		for _, it := range items {
			if d, ok := it.(map[string]any); ok && d["status"] == "CONNECTED" {
				connected++
			}
		}
		if connected == n {
			break
		}
		if time.Since(start) > 2*time.Minute {
			return nil, fmt.Errorf("restart: %d of %d devices connected after 2 minutes", connected, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	all := time.Since(start)
	what := fmt.Sprintf("restart with %d paired devices", n)
	return []row{
		{what + ": serving", ms(serving), "ms", "≤ 2000 ms", 2000 / max(ms(serving), 1e-3)},
		{what + ": all connected again", ms(all), "ms", "(spread)", 0},
	}, nil
}
