package powermail

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The line between public and internal packages (README, "Code layout"):
// a package under impl/ is public (not under impl/internal/) only because
// sim/, loadgen/ or chaos/ need it, and a public package never imports an
// internal one, in its code or its tests. Go itself keeps sim/, loadgen/
// and chaos/ from importing impl/internal/ directly; this test keeps them
// from reaching it through a public package, which Go allows.

const (
	module   = "powermail/"
	internal = "powermail/impl/internal/"
	// harnesses are the test harnesses (real daemons, in-process or as
	// processes): a public package's tests may use them, its code may not.
	harnesses = "powermail/impl/internal/e2e/"
)

// crossing lists the public packages allowed to import internal ones for
// now, and why. An entry that is no longer needed fails the test, so the
// list only shrinks.
var crossing = map[string]string{}

// listedPackage is what go list -json says of one package.
type listedPackage struct {
	ImportPath, Name                   string
	Imports, TestImports, XTestImports []string
	Deps                               []string
}

func TestPublicPackagesImportNothingInternal(t *testing.T) {
	used := map[string]bool{}
	for _, p := range listPackages(t, "./impl/...") {
		if strings.HasPrefix(p.ImportPath, internal) || p.Name == "main" {
			continue // internal, or a daemon's or tool's main: may import anything under impl/
		}
		tests := slices.DeleteFunc(slices.Concat(p.TestImports, p.XTestImports), func(i string) bool { return strings.HasPrefix(i, harnesses) })
		bad := slices.DeleteFunc(slices.Concat(p.Imports, tests), func(i string) bool { return !strings.HasPrefix(i, internal) })
		if _, allowed := crossing[p.ImportPath]; allowed {
			used[p.ImportPath] = len(bad) > 0
			continue
		}
		for _, i := range slices.Compact(slices.Sorted(slices.Values(bad))) {
			t.Errorf("public package %s imports %s: make the imported package public (it must then import nothing internal) or the importer internal", p.ImportPath, i)
		}
	}
	for path, why := range crossing {
		if !used[path] {
			t.Errorf("%s no longer imports an internal package (or is gone): remove it from crossing (%s)", path, why)
		}
	}
}

func TestToolsReachNothingInternal(t *testing.T) {
	for _, p := range listPackages(t, "./sim/...", "./loadgen/...", "./chaos/...") {
		for _, d := range p.Deps {
			if strings.HasPrefix(d, internal) {
				t.Errorf("%s depends on %s: sim/, loadgen/ and chaos/ use public packages only", p.ImportPath, d)
			}
		}
	}
}

// listPackages runs go list on patterns. Go puts its own bin directory
// first on the PATH of a test, so "go" is the go that runs the test.
func listPackages(t *testing.T, patterns ...string) []listedPackage {
	t.Helper()
	args := append([]string{"list", "-json=ImportPath,Name,Imports,TestImports,XTestImports,Deps"}, patterns...)
	var stderr bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p listedPackage
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if !strings.HasPrefix(p.ImportPath, module) {
			t.Fatalf("go list: unexpected package %q", p.ImportPath)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v: no packages", patterns)
	}
	return pkgs
}
