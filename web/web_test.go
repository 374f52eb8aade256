package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// Every asset the explorer page references is embedded.
func TestAPIExplorerAssets(t *testing.T) {
	f := APIExplorer()
	page, err := fs.ReadFile(f, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:src|href)="/api/docs/([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d assets", len(refs))
	}
	for _, r := range refs {
		b, err := fs.ReadFile(f, r[1])
		if err != nil || len(b) == 0 {
			t.Errorf("asset %s: %v", r[1], err)
		}
	}
	init, _ := fs.ReadFile(f, "swagger-init.js")
	if !strings.Contains(string(init), "/api/openapi.json") {
		t.Error("the explorer does not load this server's OpenAPI document")
	}
}
