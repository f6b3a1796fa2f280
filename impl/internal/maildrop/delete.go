package maildrop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pingcap/failpoint"

	"powermail/impl/internal/fault"
	"powermail/impl/msgid"
)

// ErrTooFewTombstones is returned when a delete could not be made to stick
// on R backends.
var ErrTooFewTombstones = errors.New("maildrop: delete not acknowledged by enough backends")

// Delete applies the deletes of messages is (indexes into Messages). It
// returns nil only when every message has a tombstone on at least R
// backends. A holder that failed keeps its copy, hidden by the tombstones,
// until repair removes it.
func (d *Maildrop) Delete(ctx context.Context, is []int) error {
	var firstErr error
	for _, i := range is {
		if err := d.deleteOne(ctx, d.msgs[i]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (d *Maildrop) deleteOne(ctx context.Context, msg Message) error {
	targets := d.tombstoneTargets(msg)
	acks, homeAcks := 0, 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dctx, cancel := context.WithTimeout(ctx, d.m.cfg.IOTimeout)
			defer cancel()
			err := t.Delete(dctx, d.box, msg.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				backendErrors.WithLabelValues(t.Name(), "delete").Inc()
				d.m.log.Warn("delete not applied on backend", "backend", t.Name(), "id", msg.ID, "err", err)
				return
			}
			acks++
			if d.isHome(t) {
				homeAcks++
			}
			failpoint.Inject("afterTombstone", func(val failpoint.Value) { fault.Crash(val) }) // P9: delete partly applied
		}()
	}
	wg.Wait()
	if acks < d.m.cfg.Redundancy || homeAcks == 0 {
		return fmt.Errorf("%w: %s: %d tombstones (%d at home), need %d, one at home",
			ErrTooFewTombstones, msg.ID, acks, homeAcks, d.m.cfg.Redundancy)
	}
	return nil
}

// isHome reports whether a tombstone on b is one every later login sees.
func (d *Maildrop) isHome(b Backend) bool {
	return d.loc.Home == nil || slices.Contains(d.loc.Home, b.Name())
}

// tombstoneTargets is every holder, then other backends until R are named,
// one of them at home: those of the Location's order (home first), or
// else the backends listed, in a per-message rotation so that tombstones
// of many messages spread over the cluster.
func (d *Maildrop) tombstoneTargets(msg Message) []Backend {
	out := slices.Clone(msg.holders)
	named := func(b Backend) bool {
		return slices.ContainsFunc(out, func(o Backend) bool { return o.Name() == b.Name() })
	}
	home := slices.ContainsFunc(out, d.isHome)
	for _, b := range d.others(msg) {
		if len(out) >= d.m.cfg.Redundancy && home {
			break
		}
		if !named(b) {
			out = append(out, b)
			home = home || d.isHome(b)
		}
	}
	return out
}

// others is where tombstones go after the holders, in order.
func (d *Maildrop) others(msg Message) []Backend {
	if d.loc.Order != nil {
		return d.loc.Order
	}
	start := rotation(msg.ID, len(d.backends))
	return append(slices.Clone(d.backends[start:]), d.backends[:start]...)
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
