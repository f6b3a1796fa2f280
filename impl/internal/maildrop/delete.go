package maildrop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pingcap/failpoint"

	"powermail/impl/fault"
	"powermail/impl/msgid"
)

// ErrTooFewTombstones is returned when a delete could not be made to stick
// on R backends.
var ErrTooFewTombstones = errors.New("maildrop: delete not acknowledged by enough backends")

// maxParallelDeletes bounds the messages whose tombstones are being written
// at once by one Delete: enough that a slow backend does not make a large
// UPDATE take minutes, few enough that one session does not flood a backend.
const maxParallelDeletes = 8

// Delete applies the deletes of messages is (indexes into Messages). It
// returns nil only when every message has a tombstone on at least R
// backends, one of them a home backend that every later login lists. A holder that failed keeps its copy, hidden by the tombstones,
// until repair removes it.
//
// Every DELETE has its own IOTimeout, all within ctx, which bounds the
// whole UPDATE. A backend whose DELETE failed is not asked again in this
// call, and its tombstones go to other reachable backends: a dead backend
// costs one IOTimeout, not one per message, and does not make deletes fail
// while R other backends can take the tombstones.
func (d *Maildrop) Delete(ctx context.Context, is []int) error {
	run := &deletion{d: d, failed: map[string]bool{}}
	errs := make([]error, len(is))
	slots := make(chan struct{}, maxParallelDeletes)
	var wg sync.WaitGroup
	for k, i := range is {
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			errs[k] = run.deleteOne(ctx, d.msgs[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// deletion is one Delete call: the backends that failed in it.
type deletion struct {
	d      *Maildrop
	mu     sync.Mutex
	failed map[string]bool
}

// deleteOne sends DELETE to every holder of msg and to spares (non-holders,
// in the order of tombstoneCandidates) until R have acknowledged a
// tombstone, one of them at home, a new spare for each one that fails, as
// long as reachable backends are left.
func (r *deletion) deleteOne(ctx context.Context, msg Message) error {
	want := r.d.m.cfg.Redundancy
	holders, spares := r.d.tombstoneCandidates(msg)
	targets := r.usable(holders)
	acks, homeAcks := 0, 0
	for ctx.Err() == nil {
		var more []Backend
		needHome := homeAcks == 0 && !slices.ContainsFunc(targets, r.d.isHome)
		more, spares = r.take(spares, want-acks-len(targets), needHome)
		targets = append(targets, more...)
		if len(targets) == 0 {
			break
		}
		a, h := r.wave(ctx, msg, targets)
		if acks, homeAcks = acks+a, homeAcks+h; acks >= want && homeAcks > 0 {
			return nil
		}
		targets = nil
	}
	return fmt.Errorf("%w: %s: %d tombstones (%d at home), need %d, one at home",
		ErrTooFewTombstones, msg.ID, acks, homeAcks, want)
}

// wave sends DELETE of msg to targets at once and returns how many
// acknowledged, and how many of those are home backends; a backend that
// failed is remembered for the rest of the run.
func (r *deletion) wave(ctx context.Context, msg Message, targets []Backend) (acks, homeAcks int) {
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, r.d.m.cfg.IOTimeout)
			defer cancel()
			err := t.Delete(dctx, r.d.box, msg.ID)
			r.mu.Lock()
			defer r.mu.Unlock()
			if err != nil {
				r.failed[t.Name()] = true
				backendErrors.WithLabelValues(t.Name(), "delete").Inc()
				r.d.m.log.Warn("delete not applied on backend", "backend", t.Name(), "id", msg.ID, "err", err)
				return
			}
			acks++
			if r.d.isHome(t) {
				homeAcks++
			}
			failpoint.Inject("afterTombstone", func(val failpoint.Value) { fault.Crash(val) }) // P9: delete partly applied
		}()
	}
	wg.Wait()
	return acks, homeAcks
}

// usable returns the backends of bs that have not failed in this run.
func (r *deletion) usable(bs []Backend) []Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Backend
	for _, b := range bs {
		if !r.failed[b.Name()] {
			out = append(out, b)
		}
	}
	return out
}

// take returns usable backends from the front of bs, n of them and, if
// needHome, at least one home backend (passing over others once n are
// taken), and what is left of bs.
func (r *deletion) take(bs []Backend, n int, needHome bool) (taken, rest []Backend) {
	var passed []Backend
	for len(bs) > 0 && (len(taken) < n || needHome) {
		b := bs[0]
		bs = bs[1:]
		switch {
		case len(r.usable([]Backend{b})) == 0:
		case len(taken) >= n && !r.d.isHome(b):
			passed = append(passed, b)
		default:
			taken = append(taken, b)
			needHome = needHome && !r.d.isHome(b)
		}
	}
	return taken, append(passed, bs...)
}

// isHome reports whether a tombstone on b is one every later login sees.
func (d *Maildrop) isHome(b Backend) bool {
	return d.loc.Home == nil || slices.Contains(d.loc.Home, b.Name())
}

// tombstoneCandidates returns the holders of msg, and the other backends
// in the order tombstones go to them: the Location's order (home first)
// under a placement that has one, or else the backends reachable at open
// in a per-message rotation, so that the tombstones of many messages
// spread over the cluster.
func (d *Maildrop) tombstoneCandidates(msg Message) (holders, others []Backend) {
	isHolder := func(b Backend) bool {
		return slices.ContainsFunc(msg.holders, func(h Backend) bool { return h.Name() == b.Name() })
	}
	if d.loc.Order != nil {
		return msg.holders, slices.DeleteFunc(slices.Clone(d.loc.Order), isHolder)
	}
	others = slices.DeleteFunc(slices.Clone(d.backends), isHolder)
	start := rotation(msg.ID, len(others))
	return msg.holders, append(others[start:len(others):len(others)], others[:start]...)
}

// rotation derives a start index from the id's random part.
func rotation(id msgid.ID, n int) int {
	if n == 0 {
		return 0
	}
	h := 0
	for i := len(id) - 8; i < len(id); i++ {
		h = h*16 + hexVal(id[i])
	}
	return h % n
}

func hexVal(c byte) int {
	if c >= 'a' {
		return int(c-'a') + 10
	}
	return int(c - '0')
}
