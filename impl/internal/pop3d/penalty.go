package pop3d

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Clock is the time source of the login penalty, replaceable in tests so that
// a 15-second delay costs nothing and can be observed.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, whichever comes first, and returns
	// ctx.Err() in the second case.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

// Now reads powerpop's clock. Penalties compare two of its readings, which
// Go does by their monotonic part, so a step of the wall clock does not
// shorten or lengthen a penalty; the failpoint (see shiftClock) moves both
// parts, which is harsher than a real jump.
func (realClock) Now() time.Time { return wall.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxPenaltyEntries bounds the memory of the penalty table: a scan of many
// IPs or logins cannot grow it without limit. When it is full, expired
// entries are dropped; if none expired, the new failure is not recorded
// (the per-IP connection limit still bounds what an attacker gains).
const maxPenaltyEntries = 100_000

// penalties counts recent failed logins per key and turns them into a
// delay: base, 2*base, 4*base, ... capped. This is Dovecot's auth penalty
// scheme (2, 4, 8, 15 s with the defaults). The keys of one attempt are in
// penaltyKeys; how each is applied is in session.login.
type penalties struct {
	clock  Clock
	base   time.Duration
	max    time.Duration
	forget time.Duration

	mu      sync.Mutex
	entries map[string]penalty
}

type penalty struct {
	failures int
	last     time.Time
}

func newPenalties(c Clock, base, max, forget time.Duration) *penalties {
	return &penalties{clock: c, base: base, max: max, forget: forget, entries: make(map[string]penalty)}
}

// delay returns how long a login attempt must wait given the recent failures
// of all keys (the worst key decides).
func (p *penalties) delay(keys ...string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	var worst time.Duration
	for _, k := range keys {
		e, ok := p.entries[k]
		if !ok || now.Sub(e.last) >= p.forget {
			continue
		}
		worst = max(worst, p.delayFor(e.failures))
	}
	return worst
}

func (p *penalties) delayFor(failures int) time.Duration {
	d := p.base
	for i := 1; i < failures && d < p.max; i++ {
		d *= 2
	}
	return min(d, p.max)
}

// fail records one failed login for every key.
func (p *penalties) fail(keys ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	for _, k := range keys {
		e, ok := p.entries[k]
		if !ok && len(p.entries) >= maxPenaltyEntries && !p.sweepLocked(now) {
			continue
		}
		if ok && now.Sub(e.last) >= p.forget {
			e.failures = 0
		}
		p.entries[k] = penalty{failures: e.failures + 1, last: now}
	}
}

// clear forgets the failures of key, after a successful login. Only the
// (address, login) pair is cleared: clearing the address would let an
// attacker with one valid account reset the address's penalty between
// guesses at others, and clearing the login would let the owner's own
// regular logins reset an attack on it from elsewhere.
func (p *penalties) clear(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.entries, key)
}

// penaltyKeys are the counters one login attempt reads and raises.
type penaltyKeys struct {
	pair  string // this client address with this login: slept before the check
	ip    string // every login from this client address: slept on failure only
	login string // this login from every address (a botnet): on failure only
}

// newPenaltyKeys names the counters of login (normalized) from the client
// key ip (see remoteIP). Logins differ only in case are one login.
func newPenaltyKeys(ip, login string) penaltyKeys {
	login = strings.ToLower(login)
	return penaltyKeys{pair: "pair:" + ip + " " + login, ip: "ip:" + ip, login: "login:" + login}
}

func (k penaltyKeys) all() []string { return []string{k.pair, k.ip, k.login} }

// sweepLocked drops expired entries and reports whether room was made.
func (p *penalties) sweepLocked(now time.Time) bool {
	for k, e := range p.entries {
		if now.Sub(e.last) >= p.forget {
			delete(p.entries, k)
		}
	}
	return len(p.entries) < maxPenaltyEntries
}
