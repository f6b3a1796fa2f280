package chaos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/chaos/powercut"
)

// needFUSE skips a test on a machine without FUSE, except under CI, where
// a skip would let the run pass having tested nothing.
func needFUSE(t *testing.T) {
	t.Helper()
	if err := powercut.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skip(err)
	}
}

// runPowerCut plays AcceptancePowerCut against the failpoint build with
// broken (GO_FAILPOINTS, "" for the real build).
func runPowerCut(t *testing.T, broken string) *Report {
	t.Helper()
	bin := failpointBin(t)
	needFUSE(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, AcceptancePowerCut(1, bin, t.TempDir(), broken))
	require.NoError(t, err)
	rep.Summary(os.Stdout)
	return rep
}

// TestPowerCutLosesNothing: the backends' stores on powercut disks, the
// power of all of them cut twice mid-traffic and once at the end. Every
// acknowledged message survives exactly once, nothing deleted comes back,
// and tmp/ is empty after recovery.
func TestPowerCutLosesNothing(t *testing.T) {
	rep := runPowerCut(t, "")
	require.True(t, rep.Pass, "the real build: %v", rep.Violations)
	require.Positive(t, rep.Counts.Acked)
	require.Positive(t, rep.Counts.DeletesAcked, "deletes must cross the cuts too")
	require.Len(t, rep.Disks, 3)
	for _, d := range rep.Disks {
		require.Equal(t, 3, d.Cuts)
		require.Positive(t, d.DirSyncs, "the store ran on the disk and fsynced its directories")
	}
}

// TestPowerCutCatchesSkippedDirFsync: a store that fsyncs its files but
// never its directories acknowledges mail whose names a power cut takes;
// the same run must report it lost.
func TestPowerCutCatchesSkippedDirFsync(t *testing.T) {
	rep := runPowerCut(t, BrokenDirFsync)
	require.False(t, rep.Pass, "the checker must catch a store that skips directory fsyncs")
	require.Positive(t, rep.Counts.Lost)
}
