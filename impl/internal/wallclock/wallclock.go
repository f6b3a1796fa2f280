// Package wallclock is the wall clock of a daemon, and the rules that keep
// a jump of it (NTP stepping the clock, date -s, a VM restored from a
// snapshot, a machine that boots with a wrong RTC) from breaking a promise.
// Every read of the time of day that a promise depends on goes through one
// Clock per daemon, where a failpoint can make it jump (chaos fault F9).
//
// Go's time.Now carries two readings: the wall clock, which can be stepped
// either way, and a monotonic clock, which only runs forward. Durations and
// deadlines within one process compare monotonic readings and never see a
// jump; they do not come here. What comes here is a wall reading that
// leaves the process or outlives it: a time put into an id, written to
// disk, or compared with a file's date.
//
// # The rules
//
//   - A date that decides when a protection ends (a tombstone's) is Latest:
//     the later of the wall clock and start + monotonic time since.
//   - A cut-off that ends protections (tombstone expiry) is Earliest: the
//     earlier of the two, counted from the store's last write rather than
//     from start when the clock at start claims more (Resume).
//   - Ids order a mailbox, so powersmtp takes them from one msgid.Generator,
//     which never goes back whatever the clock says.
//
// # Every clock read of the daemons, and what a jump can do to it
//
// powersmtp: the message id and the Received: date (smtpd's stamp) read
// Now; the id comes from the Generator, the date shows the clock as it was
// (only people read it). Command, session and DATA deadlines, latencies,
// the keepalive interval, quota estimate ages (quota.Meter), userbase cache
// ages, backend pool ages and the health and membership tickers use
// monotonic readings: a jump cannot touch them. The orphan log's times are
// for people; repair does not read them.
//
// pplistener: tombstone dates (DELETE, VOID) are Latest; tombstone and
// abandoned-upload expiry use Earliest. The store's free-space reading ages
// on the monotonic clock, as do deadlines and latencies.
//
// powerpop: login penalties read Now and compare two readings, which Go
// does by their monotonic parts: a real jump does not change a penalty (the
// failpoint shifts both parts, a harsher test). Deadlines, health checks
// and caches are monotonic. It writes no time anywhere: a mailbox's order
// is its ids' (powersmtp's clock), tombstones are dated by the backends.
//
// All three: log timestamps show the jump; TLS session tickets may fail to
// resume once. Nothing else.
//
// # What a jump can and cannot do
//
// In one process whose clock was right at start, no jump of any size or
// direction lets a tombstone expire before it has existed for its TTL of
// real time: its date is never before, and the cut-off never after, the
// true time. A jump forward by D makes tombstones written meanwhile live up
// to D longer; a jump back by D delays expiry by up to D: space, not safety.
// If the clock was already wrong at start, dates and cut-offs are wrong
// alike, and in that process a tombstone still lives its TTL.
//
// Across a restart, a backend whose clock at start is ahead of its store's
// last write counts expiry from that write (its downtime is not counted
// either: tombstones only live longer). What no local rule can catch: a
// tombstone dated by a process whose clock was E behind for its whole life
// (so that nothing moved against the monotonic clock) can, after a restart
// with the clock set right, expire up to E early. Across machines, each
// backend dates and expires only its own tombstones, and a delete keeps R
// of them on R machines with their own clocks, so one wrong clock cannot
// bring a message back while the other R-1 tombstones hold. The defence
// for the rest is operational: a TTL (30 days) far above any plausible
// clock error, and NTP synchronised before the daemons start.
//
// For ids: in one powersmtp process, order follows delivery whatever the
// clock does. Across processes (two powersmtps, or one restarted after a
// forward jump was corrected) ids are ordered as their clocks are; see
// package msgid. Nothing is lost or duplicated by it.
//
// A step of more than JumpThreshold between two reads is counted in
// powermail_wall_clock_jumps_total{direction}; smaller ones are handled by
// the same rules.
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
