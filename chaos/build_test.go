package chaos

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// daemons are the binaries that carry failpoint markers.
var daemons = []string{"pplistener", "powersmtp", "powerpop"}

// failpointEvals counts the failpoint.Eval symbols of a binary: failpoint
// code only calls Eval where failpoint-toolexec rewrote a marker.
func failpointEvals(t *testing.T, bin string) int {
	t.Helper()
	out, err := exec.Command("go", "tool", "nm", bin).Output()
	require.NoError(t, err, "go tool nm %s", bin)
	return strings.Count(string(out), "failpoint.Eval")
}

// TestReleaseBuildHasNoFailpoints builds the daemons exactly as `make
// build` does and checks that no failpoint can fire in them.
func TestReleaseBuildHasNoFailpoints(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", dir + "/"}
	for _, d := range daemons {
		args = append(args, "powermail/impl/cmd/"+d)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	for _, d := range daemons {
		require.Zero(t, failpointEvals(t, filepath.Join(dir, d)), "%s: release build holds failpoint code", d)
	}
}

// failpointBin is the directory of failpoint builds (make build-failpoints
// sets FAILPOINT_BIN). Without it the tests that need failpoints skip,
// unless REQUIRE_FAILPOINTS=1: then they fail, so that CI cannot pass by
// silently testing nothing.
func failpointBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FAILPOINT_BIN")
	if dir == "" {
		if os.Getenv("REQUIRE_FAILPOINTS") == "1" {
			t.Fatal("REQUIRE_FAILPOINTS=1 but FAILPOINT_BIN is not set (run make chaos-smoke)")
		}
		t.Skip("FAILPOINT_BIN not set: run make chaos-smoke")
	}
	return dir
}

// TestFailpointBuildHasFailpoints is the probe: markers that were not
// rewritten are no-ops, and every chaos fault would quietly not happen.
func TestFailpointBuildHasFailpoints(t *testing.T) {
	dir := failpointBin(t)
	for _, d := range daemons {
		require.NotZero(t, failpointEvals(t, filepath.Join(dir, d)), "%s in %s has no failpoint code", d, dir)
	}
}
