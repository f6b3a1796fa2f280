// Package groupcommit shares one run of a flush among the callers that
// wait for it: the group commit of the store (impl/store) and of the
// benchmark's model of the store's write path (loadgen/limits).
package groupcommit

import "sync"

// Coalescer runs a sync function so that callers arriving while one run is
// in flight share the next run (group commit). A run started after a caller
// arrived covers that caller's changes, because the caller made them
// first. The zero value is ready to use.
type Coalescer struct {
	mu       sync.Mutex
	inflight *round // the run in progress, if any
	next     *round // the run that callers are joining
}

type round struct {
	done     chan struct{}
	finished bool // under Coalescer.mu
	joined   int  // callers in this round, for tests
	err      error
}

// Do returns fn's error of a run that started after Do was called; led
// reports whether this caller ran fn itself. Every caller of a failed run
// gets the error: a failed flush is never retried on anyone's behalf.
func (c *Coalescer) Do(fn func() error) (led bool, err error) {
	c.mu.Lock()
	if c.next == nil {
		c.next = &round{done: make(chan struct{})}
	}
	r := c.next
	r.joined++
	for !r.finished && c.inflight != nil {
		wait := c.inflight.done
		c.mu.Unlock()
		<-wait
		c.mu.Lock()
	}
	if r.finished {
		c.mu.Unlock()
		return false, r.err
	}
	c.inflight, c.next = r, nil
	c.mu.Unlock()

	err = fn()

	c.mu.Lock()
	r.err, r.finished, c.inflight = err, true, nil
	close(r.done)
	c.mu.Unlock()
	return true, err
}
