// Command wa-gateway is the WA Gateway server: a self-hosted, multi-tenant
// WhatsApp HTTP gateway. `wa-gateway serve` (the default) runs it; `wa-gateway
// help` lists the other commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, env{args: os.Args[1:], getenv: os.Getenv, stdout: os.Stdout, stderr: os.Stderr})
	stop()
	os.Exit(code)
}
