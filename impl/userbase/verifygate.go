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
//
// After a FAILED check the slot also rests, so that failed checks use at
// most busyPercent of its CPU time. Measured on two shared cores, one
// slot hashing wrong passwords without rest (~20 checks/s) still raised
// SMTP delivery p99 3-5 times although the checks ran at the lowest
// priority (argon2id's memory traffic is not scheduled by priority); at 5
// checks/s it hardly did. Successful checks do not rest: a burst of real
// logins (a restart, a benchmark) runs at full speed, and a flood cannot
// avoid the rest without knowing the passwords. The rest delays no reply.
type verifyGate struct {
	slots      chan struct{} // one token per check running or resting
	maxWaiting int
	wait       time.Duration
	restFactor float64 // rest after a failed check, per unit of its CPU time

	mu      sync.Mutex
	waiting int
}

// newVerifyGate returns the gate that the auth-verify-* keys of c describe.
func newVerifyGate(c Config) *verifyGate {
	concurrency := c.AuthVerifyConcurrency
	if concurrency <= 0 {
		concurrency = max(1, runtime.NumCPU()/2)
	}
	return &verifyGate{slots: make(chan struct{}, concurrency), maxWaiting: c.AuthVerifyQueue,
		wait: c.AuthVerifyWait, restFactor: 100/float64(c.AuthVerifyBusyPercent) - 1}
}

// enter takes a slot, waiting in the queue if need be. On success the
// caller must call leave once its check is done.
func (g *verifyGate) enter(ctx context.Context) (leave func(failedWork time.Duration), err error) {
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

// leave frees a slot: at once after a successful check (failedWork 0), or
// after the rest that failedWork, the CPU time of a failed check, earns.
func (g *verifyGate) leave(failedWork time.Duration) {
	rest := time.Duration(float64(failedWork) * g.restFactor)
	if rest <= 0 {
		<-g.slots
		return
	}
	time.AfterFunc(rest, func() { <-g.slots })
}

// atLowPriority runs f on an OS thread of its own at the lowest scheduling
// priority, waits for it, and returns the CPU time it used (the wall time
// where a thread's CPU time cannot be read). The bound on concurrent checks limits how many
// cores a flood of wrong passwords can take; the priority makes them yield
// the CPU to SMTP delivery whenever it wants it (it cannot keep argon2id's
// memory traffic from slowing others: that is what the rest is for). The thread
// is discarded afterwards: the goroutine exits still locked to it, which
// ends the thread (runtime.LockOSThread), since an unprivileged process
// could not raise its priority again. A thread per check costs some tens
// of microseconds, against the ~55 ms of an argon2id check.
func atLowPriority(f func()) (work time.Duration) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		lowerThreadPriority()
		start, cpu := time.Now(), threadCPU()
		f()
		if work = threadCPU() - cpu; work <= 0 {
			work = time.Since(start)
		}
		close(done)
	}()
	<-done
	return work
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
