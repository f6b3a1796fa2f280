package limits

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMeasureSmall(t *testing.T) {
	l, err := Measure(context.Background(), Config{Dir: t.TempDir(), Duration: 100 * time.Millisecond,
		Writers: []int{1, 2}, Streams: []int{1}, Conns: 2})
	require.NoError(t, err)
	require.Empty(t, l.Errors)
	require.Len(t, l.Fsync, 2)
	for _, r := range l.Fsync {
		require.Greater(t, r.OpsPerSec, 0.0)
	}
	require.Greater(t, l.Loopback[0].MBPerSec, 0.0)
	require.Len(t, l.Sendfile, 2)
	require.Len(t, l.TwoHop, 2)
	for _, s := range append(l.Sendfile, l.TwoHop...) {
		require.Greater(t, s.ReqPerSec, 0.0)
		require.InDelta(t, s.ReqPerSec*float64(s.FileBytes)/1e6, s.MBPerSec, 1e-6)
	}
	require.NotZero(t, l.Machine.CPUs)
	require.NotEmpty(t, l.Machine.FSType)
}

func TestWaitQuietMeasuresIdle(t *testing.T) {
	q, err := WaitQuiet(context.Background(), QuietConfig{MinIdlePct: 0, Window: 100 * time.Millisecond})
	require.NoError(t, err)
	require.True(t, q.Quiet, "a threshold of 0 is always met")
	require.GreaterOrEqual(t, q.IdlePct, 0.0)
	require.LessOrEqual(t, q.IdlePct, 100.0)
	q, err = WaitQuiet(context.Background(), QuietConfig{MinIdlePct: 101, Window: 50 * time.Millisecond, MaxWait: 120 * time.Millisecond})
	require.NoError(t, err)
	require.False(t, q.Quiet, "101% idle is never reached; the wait is bounded")
}

func TestGroupCommitRateMakesDurableCopies(t *testing.T) {
	dir := t.TempDir()
	ops, err := groupCommitRate(context.Background(), dir, 4, 200*time.Millisecond)
	if err != nil || ops <= 0 {
		t.Fatalf("groupCommitRate: %v ops/s, %v", ops, err)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	linked, _ := os.ReadDir(filepath.Join(dir, "box"))
	if len(left) != 0 || len(linked) == 0 {
		t.Fatalf("tmp holds %d names, box %d: every copy must end linked, its tmp name gone", len(left), len(linked))
	}
}

// withHostCPU charges the machine's busy time to the operations: 200 ms of
// one core spinning for 100 operations is about 2 ms per operation (more
// if other programs ran, never nothing).
func TestWithHostCPUChargesBusyTime(t *testing.T) {
	const d = 200 * time.Millisecond
	r, err := withHostCPU(d, func() (float64, error) {
		for start := time.Now(); time.Since(start) < d; {
		}
		return 100 / d.Seconds(), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.HostCPUUsPerOp < 1000 || r.HostCPUUsPerOp > 10000 {
		t.Fatalf("%.0f us of CPU per operation, want about 2,000", r.HostCPUUsPerOp)
	}
}
