package store

import (
	"sync/atomic"
	"time"
)

// What a front end needs to spread new mail by load (Status.Uploads and
// Status.FlushWait, reported by STATUS):
//
//   - uploads in flight: between Begin and the end of Finish or Cancel,
//     messages being received or waiting for their file's flush. A slow
//     sender or a slow disk keeps the count up.
//   - the flush wait: a moving average of how long a delivery waited for
//     durability, at Finish (the file) and at Commit (the directories).
//     Under group commit it includes the wait for the flush already
//     running, which is exactly what a busy or slow disk costs a writer.

// flushWeightShift sets the weight of the newest observation in the average
// (1/8: about the last eight deliveries).
const flushWeightShift = 3

// movingAverage is an exponentially weighted moving average of durations,
// safe for concurrent use.
type movingAverage struct{ nanos atomic.Int64 }

func (m *movingAverage) observe(d time.Duration) {
	for {
		old := m.nanos.Load()
		next := old + (int64(d)-old)>>flushWeightShift
		if old == 0 {
			next = int64(d) // the first observation, not an eighth of it
		}
		if m.nanos.CompareAndSwap(old, next) {
			return
		}
	}
}

func (m *movingAverage) get() time.Duration { return time.Duration(m.nanos.Load()) }

// timeFlush runs a durability step of a delivery and feeds its duration
// to the average.
func (s *Store) timeFlush(f func() error) error {
	start := time.Now()
	err := f()
	s.flushWait.observe(time.Since(start))
	return err
}
