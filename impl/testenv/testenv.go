// Package testenv holds what tests across the module share about their
// environment: which external programs they need and how a missing one is
// reported.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool returns the path of an external program a test needs (promtool,
// systemd-analyze, ...). Missing, it fails the test under CI (CI=true:
// .ci/run installs debianPkg, so absence is a bug there) and skips it
// elsewhere, saying what to install.
func NeedTool(t testing.TB, tool, debianPkg string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI (.ci/run installs Debian package %s)", tool, debianPkg)
	}
	t.Skipf("%s not installed (apt-get install %s); CI fails instead of skipping", tool, debianPkg)
	return ""
}
