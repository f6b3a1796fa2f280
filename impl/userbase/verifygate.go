package userbase

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
)

// errVerifyBusy is the cause of the temporary error a login gets when the
// password checks are saturated (full queue, or the wait ran out).
var errVerifyBusy = errors.New("too many password checks in progress")

// verifyGate bounds the password verifications that run at once. One
// argon2id check costs about 55 ms of CPU and 19 MiB (password.DefaultArgon2),
// and a failed login always pays it (failures are not cached), so without a
// bound a password-guessing flood takes every core and delays whatever else
// runs on the machine, SMTP deliveries included. A check that finds every
// slot busy waits in a queue of at most maxWaiting, for at most wait; beyond
// either it fails at once with a temporary error (POP3 "-ERR [SYS/TEMP]",
// RFC 2449 section 8.1.2): a retry later is cheap, a stalled machine is not.
type verifyGate struct {
	slots      chan struct{} // one token per running check
	maxWaiting int
	wait       time.Duration

	mu      sync.Mutex
	waiting int
}

// newVerifyGate returns a gate for concurrency checks at once (0: half the
// CPUs, at least one), a queue of maxWaiting and a wait bound.
func newVerifyGate(concurrency, maxWaiting int, wait time.Duration) *verifyGate {
	if concurrency <= 0 {
		concurrency = max(1, runtime.NumCPU()/2)
	}
	return &verifyGate{slots: make(chan struct{}, concurrency), maxWaiting: maxWaiting, wait: wait}
}

// enter takes a slot, waiting in the queue if need be. On success the
// caller must call leave once its check is done.
func (g *verifyGate) enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	default:
	}
	if !g.queue() {
		return nil, errVerifyBusy
	}
	defer g.unqueue()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	case <-t.C:
		return nil, errVerifyBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *verifyGate) leave() { <-g.slots }

// atLowPriority runs f on an OS thread of its own at the lowest scheduling
// priority and waits for it. The bound on concurrent checks limits how many
// cores a flood of wrong passwords can take; the priority makes those
// cores yield to SMTP delivery at once whenever it needs them. The thread
// is discarded afterwards: the goroutine exits still locked to it, which
// ends the thread (runtime.LockOSThread), since an unprivileged process
// could not raise its priority again. A thread per check costs some tens
// of microseconds, against the ~55 ms of an argon2id check.
func atLowPriority(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		lowerThreadPriority()
		f()
		close(done)
	}()
	<-done
}

// queue counts one more waiter unless the queue is full.
func (g *verifyGate) queue() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.waiting >= g.maxWaiting {
		return false
	}
	g.waiting++
	return true
}

func (g *verifyGate) unqueue() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting--
}

// queued reports the waiters, for tests and metrics.
func (g *verifyGate) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}
