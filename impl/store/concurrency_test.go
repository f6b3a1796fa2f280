package store

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

const (
	raceWriters           = 8
	raceMessagesPerWriter = 15
)

func TestConcurrentCommitsAndDeletes(t *testing.T) {
	s, dir := openTemp(t)
	boxes := []mailbox.Name{alice, bob, carol}
	var mu sync.Mutex
	var kept []msgid.ID
	var wg sync.WaitGroup
	for w := range raceWriters {
		wg.Go(func() {
			for i := range raceMessagesPerWriter {
				id, err := tryDeliver(s, body(100+w), boxes[i%3], boxes[(i+w)%3])
				if !assert.NoError(t, err) {
					return
				}
				if i%5 == 0 {
					assert.NoError(t, s.Delete(boxes[i%3], id, t0))
					assert.NoError(t, s.Delete(boxes[(i+w)%3], id, t0))
					continue
				}
				mu.Lock()
				kept = append(kept, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	seen := map[msgid.ID]bool{}
	for _, b := range boxes {
		l, err := s.List(b)
		require.NoError(t, err)
		for _, m := range l.Messages {
			seen[m.ID] = true
		}
	}
	assert.Len(t, seen, len(kept))
	for _, id := range kept {
		assert.True(t, seen[id], id)
	}
	st, _ := s.Status()
	assert.EqualValues(t, len(kept), st.Messages)
	assert.Empty(t, tmpNames(t, dir))
	s.Close()
	s = openAt(t, dir, Options{})
	st, _ = s.Status()
	assert.EqualValues(t, len(kept), st.Messages, "recounted at Open")
}

// A commit racing a delete of the same id never leaves the message visible
// next to its tombstone.
func TestCommitRacingDeleteNeverResurrects(t *testing.T) {
	s, _ := openTemp(t)
	for range 20 {
		id := msgid.New(time.Now())
		prepare(t, s, id, body(10))
		var wg sync.WaitGroup
		wg.Go(func() { assert.NoError(t, s.Commit(id, []mailbox.Name{alice})) })
		wg.Go(func() { assert.NoError(t, s.Delete(alice, id, t0)) })
		wg.Wait()
		_, _, err := s.OpenMessage(alice, id)
		assert.ErrorIs(t, err, ErrNotFound)
	}
}

// waitJoined blocks until the next round of c has n callers.
func waitJoined(c *coalescer, n int) {
	for {
		c.mu.Lock()
		ok := c.next != nil && c.next.joined == n
		c.mu.Unlock()
		if ok {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCoalescerSharesOneRunAmongWaiters(t *testing.T) {
	const waiters = 5
	var c coalescer
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	first := func() error { runs.Add(1); close(started); <-release; return nil }
	later := func() error { runs.Add(1); return errors.New("fsync: EIO") }

	var wg sync.WaitGroup
	wg.Go(func() {
		led, err := c.do(first)
		assert.True(t, led)
		assert.NoError(t, err)
	})
	<-started
	var shared atomic.Int32
	for range waiters {
		wg.Go(func() {
			led, err := c.do(later)
			assert.EqualError(t, err, "fsync: EIO", "every caller of a failed run fails")
			if !led {
				shared.Add(1)
			}
		})
	}
	waitJoined(&c, waiters)
	close(release)
	wg.Wait()
	assert.EqualValues(t, 2, runs.Load(), "waiters share one run")
	assert.EqualValues(t, waiters-1, shared.Load())
}

func TestDirSyncFailureIsNotRetried(t *testing.T) {
	s, _ := openTemp(t)
	// Syncing a descriptor that is not open fails; the error reaches the
	// caller, and the coalescer state is clean for the next caller.
	err := s.syncDir(&dirHandle{fd: -1, path: "mbox/zz"})
	require.Error(t, err)
	assert.False(t, s.dirSyncs.has("mbox/zz"))
	require.NoError(t, s.syncDir(s.tmp))
}

// Every caller returns only after a run that started after its change:
// the property that makes a shared fsync cover everybody's writes.
func TestCoalescerRunCoversEveryCallersChange(t *testing.T) {
	const callers, callsEach = 16, 50
	var c coalescer
	var changes, covered atomic.Int64
	fn := func() error {
		upTo := changes.Load() // what an fsync starting now would cover
		time.Sleep(50 * time.Microsecond)
		covered.Store(upTo) // runs never overlap, so this only grows
		return nil
	}
	var runs atomic.Int32
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for range callsEach {
				mine := changes.Add(1)
				if led, _ := c.do(fn); led {
					runs.Add(1)
				}
				if covered.Load() < mine {
					t.Errorf("change %d returned before a run covered it (covered %d)", mine, covered.Load())
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d calls, %d runs", callers*callsEach, runs.Load())
	assert.Less(t, int(runs.Load()), callers*callsEach, "some calls shared a run")
}
