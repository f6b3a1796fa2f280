package groupcommit

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// waitJoined blocks until the next round of c has n callers.
func waitJoined(c *Coalescer, n int) {
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
	var c Coalescer
	var runs atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	first := func() error { runs.Add(1); close(started); <-release; return nil }
	later := func() error { runs.Add(1); return errors.New("fsync: EIO") }

	var wg sync.WaitGroup
	wg.Go(func() {
		led, err := c.Do(first)
		assert.True(t, led)
		assert.NoError(t, err)
	})
	<-started
	var shared atomic.Int32
	for range waiters {
		wg.Go(func() {
			led, err := c.Do(later)
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

// Every caller returns only after a run that started after its change:
// the property that makes a shared fsync cover everybody's writes.
func TestCoalescerRunCoversEveryCallersChange(t *testing.T) {
	const callers, callsEach = 16, 50
	var c Coalescer
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
				if led, _ := c.Do(fn); led {
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
