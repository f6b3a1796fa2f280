package chaos

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckerCatchesBrokenQuorum runs the acceptance schedule twice: the
// real build passes it, and a build whose powersmtp answers 250 with one
// copy fewer than W (a failpoint: a test-only switch) loses mail that the
// checker reports.
func TestCheckerCatchesBrokenQuorum(t *testing.T) {
	bin := failpointBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()

	good, err := Run(ctx, Acceptance(1, bin, work, ""))
	require.NoError(t, err)
	good.Summary(os.Stdout)
	require.True(t, good.Pass, "the real build: %v", good.Violations)
	require.Positive(t, good.Counts.Acked)

	broken, err := Run(ctx, Acceptance(1, bin, work, BrokenQuorum))
	require.NoError(t, err)
	broken.Summary(os.Stdout)
	require.False(t, broken.Pass, "the checker must catch a 250 below W")
	require.Positive(t, broken.Counts.Lost)
}

// TestCheckerCatchesAckBeforeFsync: backends that acknowledge without
// fsync lose acknowledged mail in a power cut, and the checker says so;
// the real build loses nothing in the same schedule.
func TestCheckerCatchesAckBeforeFsync(t *testing.T) {
	bin := failpointBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()

	good, err := Run(ctx, AcceptanceFsync(1, bin, work, ""))
	require.NoError(t, err)
	good.Summary(os.Stdout)
	require.True(t, good.Pass, "the real build: %v", good.Violations)

	broken, err := Run(ctx, AcceptanceFsync(1, bin, work, BrokenFsync))
	require.NoError(t, err)
	broken.Summary(os.Stdout)
	require.False(t, broken.Pass, "the checker must catch an acknowledgement before fsync")
	require.Positive(t, broken.Counts.Lost)
}
