package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestDocs(t *testing.T) {
	ts := newTestServer(t)

	code, ctype, body := get(t, ts.base+"/llms.txt")
	if code != 200 || !strings.HasPrefix(ctype, "text/plain") || !strings.Contains(body, "## Core flow") {
		t.Fatalf("llms.txt: %d %s %.80q", code, ctype, body)
	}

	// The full reference names every route of the OpenAPI document.
	code, _, full := get(t, ts.base+"/llms-full.txt")
	if code != 200 || !strings.HasPrefix(full, body) {
		t.Fatalf("llms-full.txt: %d, does not start with llms.txt", code)
	}
	for _, r := range ts.srv.routes() {
		line := "### " + r.method + " " + fiberParam.ReplaceAllString(r.path, "{$1}") + "\n"
		if !strings.Contains(full, line) {
			t.Errorf("llms-full.txt lacks %q", line)
		}
	}
	if !strings.Contains(full, "- `text` (string, required)") {
		t.Error("llms-full.txt does not list send-text's body fields")
	}

	code, ctype, page := get(t, ts.base+"/api/docs")
	if code != 200 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(page, "swagger-ui") {
		t.Fatalf("/api/docs: %d %s", code, ctype)
	}
	code, ctype, _ = get(t, ts.base+"/api/docs/swagger-ui-bundle.js")
	if code != 200 || !strings.HasPrefix(ctype, "text/javascript") {
		t.Fatalf("explorer bundle: %d %s", code, ctype)
	}
	for _, bad := range []string{"/api/docs/nope.js", "/api/docs/..%2Fweb.go", "/api/docs/%2e%2e%2fdoc.go"} {
		if code, _, _ := get(t, ts.base+bad); code != 404 {
			t.Errorf("%s: %d, want 404", bad, code)
		}
	}
}
