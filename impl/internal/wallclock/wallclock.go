// Package wallclock is the wall clock of one daemon: every read of the
// time of day that a promise depends on goes through one Clock per
// daemon, so that a failpoint can make it jump (chaos fault F9) and so
// that the rules that keep a jump harmless are in one place.
//
// Go's time.Now carries two readings: the wall clock, which NTP, an
// operator or a badly set RTC can step forwards or backwards, and a
// monotonic clock, which only runs forward. Durations and deadlines
// within one process (timeouts, penalties, cache ages) compare monotonic
// readings and never see a jump; they do not come here. What comes here
// is the wall reading that leaves the process or outlives it: a time
// written to disk, put into an id, or compared with a file's date.
package wallclock

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// JumpThreshold is the smallest change of the wall clock against the
// monotonic one that counts as a jump. NTP slews both clocks alike, so
// only a step (or a suspended machine) moves one against the other.
const JumpThreshold = time.Second

var metricJumps = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "powermail_wall_clock_jumps_total",
	Help: "Steps of the wall clock against the monotonic clock (more than 1 s between two reads), by direction.",
}, []string{"direction"})

// Clock reads the wall clock of one daemon process.
type Clock struct {
	read    func() time.Time     // the wall clock, as the daemon reads it
	elapsed func() time.Duration // monotonic time since the Clock was made
	start   time.Time            // read() when the Clock was made, wall only
	resume  time.Time            // cut-offs count elapsed time from here: start, or earlier
	skew    atomic.Int64         // nanoseconds of read() - (start + elapsed()) at the last read
}

// New returns the clock of this process: time.Now passed through adjust,
// which is where a daemon puts its failpoint marker (in a release build
// the marker is a no-op and adjust returns its argument).
func New(adjust func(time.Time) time.Time) *Clock {
	mono := time.Now()
	return NewWith(func() time.Time { return adjust(time.Now()) }, func() time.Duration { return time.Since(mono) })
}

// NewWith returns a clock over explicit sources, for tests: read is the
// wall clock and elapsed the monotonic time since NewWith was called.
func NewWith(read func() time.Time, elapsed func() time.Duration) *Clock {
	start := read().Round(0)
	return &Clock{read: read, elapsed: elapsed, start: start, resume: start}
}

// Resume makes Earliest count the monotonic time from last when last is
// before the wall clock at start: last is when the process's data was
// last written (a store's newest date), and a clock that says much more
// time has passed since may have jumped while nothing ran. Time that
// really passed while the process was down is not counted either, which
// only keeps tombstones longer. A zero last changes nothing. Call it
// before the Clock is shared.
func (c *Clock) Resume(last time.Time) {
	if !last.IsZero() && last.Before(c.start) {
		c.resume = last.Round(0)
	}
}

// Now is the wall clock as read.
func (c *Clock) Now() time.Time {
	t, _ := c.observe()
	return t
}

// Latest is the later of the wall clock and the wall clock at start plus
// the monotonic time since: the date of something whose age will decide
// when a protection ends (a tombstone). A clock that jumped back cannot
// backdate it, so it cannot make it look older than it is.
func (c *Clock) Latest() time.Time {
	t, el := c.observe()
	return later(t.Round(0), c.start.Add(el))
}

// Earliest is the earlier of the wall clock and the wall clock at start
// (or when Resume says) plus the monotonic time since: the "now" of a
// cut-off that ends a protection (tombstone expiry). A clock that jumped
// forward cannot bring the cut-off nearer.
func (c *Clock) Earliest() time.Time {
	t, el := c.observe()
	return earlier(t.Round(0), c.resume.Add(el))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// observe reads both clocks, counts a jump since the last read, and
// returns the wall reading and the monotonic time since start.
func (c *Clock) observe() (time.Time, time.Duration) {
	t, el := c.read(), c.elapsed()
	skew := t.Round(0).Sub(c.start.Add(el))
	switch d := skew - time.Duration(c.skew.Swap(int64(skew))); {
	case d > JumpThreshold:
		metricJumps.WithLabelValues("forward").Inc()
	case d < -JumpThreshold:
		metricJumps.WithLabelValues("backward").Inc()
	}
	return t, el
}
