package ppserver_test

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/internal/ppserver"
	"powermail/impl/internal/wallclock"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// jumpyClock is a machine whose wall clock is off the true time by shift,
// while the monotonic clock runs true; it is read by other goroutines.
type jumpyClock struct {
	start          time.Time
	elapsed, shift atomic.Int64 // nanoseconds
}

func (j *jumpyClock) clock() *wallclock.Clock {
	return wallclock.NewWith(
		func() time.Time { return j.start.Add(time.Duration(j.elapsed.Load() + j.shift.Load())) },
		func() time.Duration { return time.Duration(j.elapsed.Load()) })
}

// trueNow is the true time: what the wall clock would read without a jump.
func (j *jumpyClock) trueNow() time.Time { return j.start.Add(time.Duration(j.elapsed.Load())) }

func (j *jumpyClock) set(elapsed, shift time.Duration) {
	j.elapsed.Store(int64(elapsed))
	j.shift.Store(int64(shift))
}

var clockStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestAJumpForwardDoesNotExpireEarly: ten seconds after start the wall
// clock jumps three hours ahead. An expiry round that believed it would
// remove every tombstone younger than three hours (and every upload in
// flight); it must use the ten seconds that really passed.
func TestAJumpForwardDoesNotExpireEarly(t *testing.T) {
	j := &jumpyClock{start: clockStart}
	st := newFakeStore(t.TempDir())
	st.expiries, st.uploadCutoffs = make(chan time.Time, 1), make(chan time.Time, 1)
	srv := newServer(t, st, func(c *ppserver.Config) { c.Clock, c.ExpireInterval = j.clock(), 5*time.Millisecond })
	j.set(10*time.Second, 3*time.Hour)
	require.Equal(t, j.trueNow(), firstExpiry(t, srv, st), "tombstones expire by the time that passed")
	require.Equal(t, j.trueNow().Add(-ppserver.UploadTTL), <-st.uploadCutoffs)
}

// firstExpiry serves srv on a loopback port and returns the time its first
// expiry round gave st.
func firstExpiry(t *testing.T, srv *ppserver.Server, st *fakeStore) time.Time {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	select {
	case now := <-st.expiries:
		return now
	case <-time.After(testTimeout):
		t.Fatal("no expiry round")
	}
	return time.Time{}
}

// TestAJumpBackDoesNotBackdateTombstones: a delete while the wall clock is
// three hours behind is dated by the time that really passed since start,
// not three hours early (which a later round, with the clock set right,
// would take for three hours of age).
func TestAJumpBackDoesNotBackdateTombstones(t *testing.T) {
	j := &jumpyClock{start: clockStart}
	st := newFakeStore(t.TempDir())
	c, _ := newPipeClient(t, newServer(t, st, func(c *ppserver.Config) { c.Clock = j.clock() }), testSecret)
	j.set(10*time.Second, -3*time.Hour)
	box, id := mailbox.Name("a@example.com"), msgid.New(clockStart)
	require.NoError(t, c.Delete(ctxT(t), box, id))
	l, err := c.List(ctxT(t), box)
	require.NoError(t, err)
	require.Len(t, l.Tombstones, 1)
	require.Equal(t, j.trueNow(), l.Tombstones[0].Deleted.UTC())
}

// TestAClockAheadAtStartDoesNotExpireEarly: pplistener starts on a machine
// whose clock is 40 days ahead (a bad RTC before NTP, or a jump while the
// backend was down). Expiry counts from the store's last write, so the
// tombstones on disk are not all taken for 40 days old.
func TestAClockAheadAtStartDoesNotExpireEarly(t *testing.T) {
	j := &jumpyClock{start: clockStart}
	j.set(0, 40*24*time.Hour)
	st := newFakeStore(t.TempDir())
	st.expiries = make(chan time.Time, 1)
	lastWrite := clockStart.Add(-time.Minute)
	srv := newServer(t, st, func(c *ppserver.Config) {
		c.Clock, c.LastWrite, c.ExpireInterval = j.clock(), lastWrite, 5*time.Millisecond
	})
	j.set(10*time.Second, 40*24*time.Hour)
	require.Equal(t, lastWrite.Add(10*time.Second), firstExpiry(t, srv, st))
}
