package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/wa-gateway/wa-gateway"

type goPackage struct {
	ImportPath string
	Doc        string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(out)
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func within(pkg string, roots ...string) bool {
	for _, r := range roots {
		if pkg == r || strings.HasPrefix(pkg, r+"/") {
			return true
		}
	}
	return false
}

// TestArchitecture keeps the dependency rules of the architecture: which
// packages may import the big libraries, and which way our packages point.
func TestArchitecture(t *testing.T) {
	// library → the only packages (and their subpackages) that may import it.
	libraries := map[string][]string{
		"github.com/gofiber/fiber":          {"api"},
		"github.com/valyala/fasthttp":       {"api"},
		"github.com/dop251/goja":            {"scripting"},
		"go.mau.fi/whatsmeow":               {"actors/engine/live", "actors/engine/fakewa", "storage/wastore"},
		"github.com/asynkron/protoactor-go": {"actors"},
		"github.com/cockroachdb/pebble":     {"storage"},
		"github.com/coder/websocket":        {"api", "actors/engine/fakewa"}, // fakewa serves WhatsApp's WebSocket
	}
	// package → the packages of ours it may import (directly). Packages not
	// listed (commands) may import anything. Go forbids cycles, so this table
	// fixes the direction: cmd → api → actors → {pacing, engine, scripting, storage}.
	mayImport := map[string][]string{
		"actors/engine":            {},
		"actors/engine/sim":        {"actors/engine"},
		"actors/engine/live":       {"actors/engine", "storage", "storage/wastore"},
		"actors/engine/fakewa":     {"actors/engine"},
		"actors/engine/enginetest": {"actors/engine"},
		"actors/pacing":            {},
		"actors/egress":            {},
		"storage":                  {},
		"storage/wastore":          {"storage"},
		"scripting":                {},
		"plugins":                  {"scripting"},
		"web":                      {},
		"actors":                   {"actors/engine", "actors/pacing", "actors/egress", "scripting", "plugins", "storage"},
		"api/auth":                 {},
		"api":                      {"actors", "actors/engine", "actors/pacing", "actors/egress", "api/auth", "storage", "web", "plugins", "scripting"},
	}
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		for _, imp := range p.Imports {
			for lib, allowed := range libraries {
				if (imp == lib || strings.HasPrefix(imp, lib+"/")) && !within(name, allowed...) {
					t.Errorf("%s imports %s; only %v may", name, imp, allowed)
				}
			}
			if name == "actors/engine" && strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("actors/engine imports %s; the seam uses the standard library only", imp)
			}
			allowed, listed := mayImport[name]
			if listed && strings.HasPrefix(imp, module+"/") && !slices.Contains(allowed, rel(imp)) {
				t.Errorf("%s imports %s; it may import only %v", name, rel(imp), allowed)
			}
		}
		if _, listed := mayImport[name]; !listed && !strings.HasPrefix(name, "cmd/") {
			t.Errorf("package %s is not in the dependency table of this test", name)
		}
	}
}

// TestServerNeverLinksTheFakeServer: fakewa rewrites whatsmeow's root
// certificate key, so it must never be part of the real binary.
func TestServerNeverLinksTheFakeServer(t *testing.T) {
	for _, p := range listPackages(t) {
		if rel(p.ImportPath) == "cmd/wa-gateway" {
			if slices.Contains(p.Deps, module+"/actors/engine/fakewa") {
				t.Fatal("cmd/wa-gateway links actors/engine/fakewa")
			}
			return
		}
	}
	t.Fatal("cmd/wa-gateway not found")
}

// TestEveryPackageHasADoc: each package says what it is.
func TestEveryPackageHasADoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no package doc comment", rel(p.ImportPath))
		}
	}
}
