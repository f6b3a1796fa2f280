package wallclock

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// fakeTime is a machine whose wall clock is the true time plus shift: a
// jump is a change of shift, while elapsed (the monotonic clock) runs on.
type fakeTime struct {
	start   time.Time     // true time when the clock was made
	elapsed time.Duration // true (monotonic) time since
	shift   time.Duration // wall clock minus true time
}

func (f *fakeTime) clock() *Clock {
	return NewWith(func() time.Time { return f.start.Add(f.elapsed + f.shift) },
		func() time.Duration { return f.elapsed })
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func jumps(direction string) float64 {
	return testutil.ToFloat64(metricJumps.WithLabelValues(direction))
}

func TestNowCountsJumps(t *testing.T) {
	f := &fakeTime{start: t0}
	c := f.clock()
	fwd, back := jumps("forward"), jumps("backward")
	f.elapsed = time.Minute
	require.Equal(t, t0.Add(time.Minute), c.Now())
	f.shift = 500 * time.Millisecond // within the threshold: NTP-sized
	c.Now()
	f.shift = -2 * time.Hour
	require.Equal(t, t0.Add(time.Minute-2*time.Hour), c.Now(), "Now is the wall clock as read")
	require.Equal(t, back+1, jumps("backward"))
	f.elapsed += time.Hour
	c.Now() // no new jump: both clocks ran an hour
	f.shift = 0
	c.Now()
	require.Equal(t, fwd+1, jumps("forward"))
	require.Equal(t, back+1, jumps("backward"))
}

// TestLatestAndEarliestThroughJumps: whatever the wall clock does, dates
// (Latest) are never before the true time and cut-offs (Earliest) never
// after it, when the clock was right at start.
func TestLatestAndEarliestThroughJumps(t *testing.T) {
	f := &fakeTime{start: t0}
	c := f.clock()
	for _, shift := range []time.Duration{0, -3 * time.Hour, 3 * time.Hour, -time.Millisecond, 40 * 24 * time.Hour} {
		f.elapsed += 10 * time.Second
		f.shift = shift
		truth := t0.Add(f.elapsed)
		require.Equal(t, later(truth, truth.Add(shift)), c.Latest(), "shift %v", shift)
		require.Equal(t, earlier(truth, truth.Add(shift)), c.Earliest(), "shift %v", shift)
	}
}

// TestAWrongClockAtStartStaysConsistent: a clock that was already wrong
// at start cannot be told from a right one, but a tombstone dated by it
// still lives its whole TTL in this process: date and cut-off are off
// alike, and a correction later moves neither towards an early expiry.
func TestAWrongClockAtStartStaysConsistent(t *testing.T) {
	const ttl = time.Hour
	for _, wrong := range []time.Duration{-3 * time.Hour, 3 * time.Hour} {
		f := &fakeTime{start: t0, shift: wrong}
		c := f.clock()
		f.elapsed = time.Minute
		dated := c.Latest()
		f.shift = 0 // NTP sets the clock right
		f.elapsed += ttl - time.Second
		require.False(t, dated.Before(c.Earliest().Add(-ttl)), "clock %v at start: expired after %v", wrong, ttl-time.Second)
		f.elapsed += 2 * time.Second
		if wrong < 0 {
			require.True(t, dated.Before(c.Earliest().Add(-ttl)), "expires once the TTL has passed")
		}
	}
}

// TestResumeCountsFromTheLastWrite: a backend starts with a clock 40 days
// ahead of its data's newest date. Cut-offs count from that date, so the
// 30-day tombstones on disk do not all look expired at once; dates still
// follow the clock (later is the safe side for them).
func TestResumeCountsFromTheLastWrite(t *testing.T) {
	f := &fakeTime{start: t0, shift: 40 * 24 * time.Hour}
	c := f.clock()
	last := t0.Add(-time.Minute)
	c.Resume(last)
	f.elapsed = time.Hour
	require.Equal(t, last.Add(time.Hour), c.Earliest())
	require.Equal(t, t0.Add(40*24*time.Hour+time.Hour), c.Latest())
	c.Resume(time.Time{})
	require.Equal(t, last.Add(time.Hour), c.Earliest(), "a zero date changes nothing")

	g := &fakeTime{start: t0}
	d := g.clock()
	d.Resume(t0.Add(time.Hour)) // data newer than the clock: the clock is behind, and Earliest follows it anyway
	g.elapsed = time.Minute
	require.Equal(t, t0.Add(time.Minute), d.Earliest())
}
