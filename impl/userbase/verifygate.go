package userbase

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
)

// ErrVerifyBusy is the cause of the temporary error a login gets when the
// password checks are saturated (full queue, or the wait ran out); a front
// end tells it apart so as not to answer a guessing flood at once.
var ErrVerifyBusy = errors.New("too many password checks in progress")

// verifyGate bounds the password verifications that run at once. One
// argon2id check costs about 55 ms of CPU and 19 MiB (password.DefaultArgon2),
// and a failed login always pays it (failures are not cached), so without a
// bound a password-guessing flood takes every core and delays whatever else
// runs on the machine, SMTP deliveries included. A check that finds every
// slot busy waits in a queue of at most maxWaiting, for at most wait; beyond
// either it fails at once with a temporary error (POP3 "-ERR [SYS/TEMP]",
// RFC 2449 section 8.1.2): a retry later is cheap, a stalled machine is not.
//
// After a FAILED check the slot also rests, so that failed checks keep it
// busy at most busyPercent of the time. Measured on two shared cores, one
// slot hashing wrong passwords without rest (~20 checks/s) still raised
// SMTP delivery p99 3-5 times; at 5 checks/s it hardly did. Successful
// checks do not rest: a burst of real logins (a restart, a benchmark) runs
// at full speed, and a flood cannot avoid the rest without knowing the
// passwords. The rest delays no reply. It is counted from the check's wall
// time: argon2id computes on goroutines of its own, whose CPU time cannot
// be told apart, and a check slowed by a busy machine then rests longer,
// which throttles a flood the more when delivery needs the CPU.
type verifyGate struct {
	slots      chan struct{} // one token per check running or resting
	maxWaiting int
	wait       time.Duration
	restFactor float64 // rest after a failed check, per unit of its duration

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
func (g *verifyGate) enter(ctx context.Context) (leave func(failed time.Duration), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	default:
	}
	if !g.queue() {
		return nil, ErrVerifyBusy
	}
	defer g.unqueue()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.leave, nil
	case <-t.C:
		return nil, ErrVerifyBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// leave frees a slot: at once after a successful check (failed 0), or
// after the rest that a failed check of that duration earns.
func (g *verifyGate) leave(failed time.Duration) {
	rest := time.Duration(float64(failed) * g.restFactor)
	if rest <= 0 {
		<-g.slots
		return
	}
	time.AfterFunc(rest, func() { <-g.slots })
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
