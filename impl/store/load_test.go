package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/msgid"
)

// TestUploadsInFlight: Status counts an upload from Begin until Finish or
// Cancel ends it, once, whichever way it ends.
func TestUploadsInFlight(t *testing.T) {
	s, _ := openTemp(t)
	inFlight := func() int64 {
		st, err := s.Status()
		require.NoError(t, err)
		return st.Uploads
	}
	data := body(100)
	ok, err := s.Begin(msgid.New(t0))
	require.NoError(t, err)
	bad, err := s.Begin(msgid.New(t0.Add(time.Millisecond)))
	require.NoError(t, err)
	dropped, err := s.Begin(msgid.New(t0.Add(2 * time.Millisecond)))
	require.NoError(t, err)
	require.Equal(t, int64(3), inFlight())

	_, err = ok.Write(data)
	require.NoError(t, err)
	require.NoError(t, ok.Finish(int64(len(data)), Checksum(data)))
	require.Error(t, bad.Finish(1, Checksum(nil)), "wrong size")
	require.Equal(t, int64(1), inFlight())
	dropped.Cancel()
	dropped.Cancel()
	ok.Cancel() // after Finish: nothing
	bad.Cancel()
	require.Equal(t, int64(0), inFlight())
}

// TestFlushWaitFollowsDeliveries: a delivery leaves a positive flush wait.
func TestFlushWaitFollowsDeliveries(t *testing.T) {
	s, _ := openTemp(t)
	st, err := s.Status()
	require.NoError(t, err)
	require.Zero(t, st.FlushWait, "no delivery yet")
	deliver(t, s, body(100), alice)
	st, err = s.Status()
	require.NoError(t, err)
	require.Positive(t, st.FlushWait)
}

func TestMovingAverage(t *testing.T) {
	var m movingAverage
	m.observe(8 * time.Millisecond)
	require.Equal(t, 8*time.Millisecond, m.get(), "the first observation is taken whole")
	m.observe(0)
	require.Equal(t, 7*time.Millisecond, m.get(), "then each weighs an eighth")
	for range 40 {
		m.observe(time.Millisecond)
	}
	require.InDelta(t, float64(time.Millisecond), float64(m.get()), float64(100*time.Microsecond))
}
