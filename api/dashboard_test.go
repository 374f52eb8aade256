package api

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts a headless Chromium for the test. Where none is installed
// the test is skipped, except in CI, whose script installs one.
func browser(t *testing.T) context.Context {
	t.Helper()
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium on PATH; .ci/run installs it")
		}
		t.Skip("no Chromium on PATH: install Debian's chromium to run the dashboard test")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// shot saves a screenshot when WA_GATEWAY_SCREENSHOTS names a directory,
// so a person can look at what the test saw.
func shot(name string) chromedp.Action {
	dir := os.Getenv("WA_GATEWAY_SCREENSHOTS")
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if dir == "" {
			return nil
		}
		var png []byte
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	})
}

// TestDashboard walks a new user through the dashboard in a real browser:
// sign up, see the API key once, create a sandbox device, connect, see the
// QR code, scan, send and receive a message.
func TestDashboard(t *testing.T) {
	ts := newTestServer(t)
	ctx := browser(t)

	var key, deviceKey, status, names string
	steps := []chromedp.Action{
		chromedp.Navigate(ts.base + "/#/register"),
		chromedp.WaitVisible(`#register-form`),
		chromedp.SendKeys(`#register-form input[name=name]`, "Ana"),
		chromedp.SendKeys(`#register-form input[name=email]`, "ana@example.com"),
		chromedp.SendKeys(`#register-form input[name=password]`, "a long password"),
		chromedp.SendKeys(`#register-form input[name=workspace]`, "Acme"),
		chromedp.Click(`#register-form button[type=submit]`),
		chromedp.WaitVisible(`#api-key`),
		chromedp.Text(`#api-key`, &key),
		shot("1-settings"),
		chromedp.Navigate(ts.base + "/#/devices"),
		chromedp.WaitVisible(`#device-form`),
		chromedp.SendKeys(`#device-form input[name=name]`, `<img src=x onerror=alert(1)>`),
		chromedp.SetValue(`#device-form select[name=engine]`, "sim"),
		chromedp.Click(`#device-form button[type=submit]`),
		chromedp.WaitVisible(`#device-key`),
		chromedp.Text(`#device-key`, &deviceKey),
		chromedp.Click(`a[href^="#/devices/"]`),
		chromedp.WaitVisible(`#btn-connect`),
		chromedp.Click(`#btn-connect`),
		chromedp.WaitVisible(`#qr img`),
		shot("2-qr"),
		chromedp.Click(`#btn-sandbox-scan`),
		chromedp.WaitVisible(`h1 [data-status=CONNECTED]`),
		chromedp.Text(`h1 [data-status]`, &status),
		chromedp.SendKeys(`#send-form input[name=to]`, "628111222333"),
		chromedp.SendKeys(`#send-form textarea[name=text]`, "Halo from the dashboard"),
		chromedp.Click(`#send-form button[type=submit]`),
		chromedp.WaitVisible(`#messages`),
		chromedp.Poll(`[...document.querySelectorAll("#messages tr")].some(r => r.textContent.includes("Halo from the dashboard") && r.querySelector(".msg-status").textContent === "read")`, nil),
		chromedp.SetValue(`#inbound-form input[name=text]`, "hello back"),
		chromedp.Click(`#inbound-form button[type=submit]`),
		chromedp.Poll(`[...document.querySelectorAll("#messages tr")].some(r => r.textContent.includes("hello back") && r.textContent.includes("in"))`, nil),
		shot("3-device"),
		chromedp.Navigate(ts.base + "/#/devices"),
		chromedp.WaitVisible(`#devices`),
		chromedp.Text(`#devices`, &names),
	}
	// One step at a time, so that a failure names the step. The first Run
	// starts the browser and must use the long-lived context.
	for i, step := range steps {
		if err := chromedp.Run(ctx, step); err != nil {
			t.Fatalf("browser step %d of %d (%T): %v\nserver log:\n%s", i+1, len(steps), step, err, ts.logs.String())
		}
	}
	if !strings.HasPrefix(key, "gw_live_") {
		t.Errorf("settings showed %q, want the first live key", key)
	}
	if !strings.HasPrefix(deviceKey, "dev_") {
		t.Errorf("new device showed %q, want its device key", deviceKey)
	}
	if status != "CONNECTED" {
		t.Errorf("status %q after the scan", status)
	}
	// A name that looks like HTML is shown as text, not run.
	if !strings.Contains(names, `<img src=x onerror=alert(1)>`) {
		t.Errorf("device list does not show the name as text: %q", names)
	}

	// The key the page showed works against the API.
	r := ts.do("GET", "/api/auth/me", nil, apiKey(key))
	if r.Status != 200 {
		t.Fatalf("the key the dashboard showed does not work: %d", r.Status)
	}
}
