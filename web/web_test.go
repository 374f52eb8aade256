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

// Every asset the dashboard page references is embedded.
func TestDashboardAssets(t *testing.T) {
	f := Dashboard()
	page, err := fs.ReadFile(f, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	refs := regexp.MustCompile(`(?:src|href)="/assets/([^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) != 2 {
		t.Fatalf("index.html references %d assets, want app.js and app.css", len(refs))
	}
	for _, r := range refs {
		if b, err := fs.ReadFile(f, r[1]); err != nil || len(b) == 0 {
			t.Errorf("asset %s: %v", r[1], err)
		}
	}
	// Server values go on the page as text only.
	js, _ := fs.ReadFile(f, "app.js")
	for _, unsafe := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"} {
		if strings.Contains(string(js), unsafe) {
			t.Errorf("app.js uses %s", unsafe)
		}
	}
}
