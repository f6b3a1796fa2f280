package maildrop

import (
	"context"
	"errors"
	"fmt"
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
	acks := 0
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
			failpoint.Inject("afterTombstone", func(val failpoint.Value) { fault.Crash(val) }) // P9: delete partly applied
		}()
	}
	wg.Wait()
	if acks < d.m.cfg.Redundancy {
		return fmt.Errorf("%w: %s: %d tombstones, need %d",
			ErrTooFewTombstones, msg.ID, acks, d.m.cfg.Redundancy)
	}
	return nil
}

// tombstoneTargets is every holder, then other reachable backends until R
// are named (or none are left). The others are taken in a per-message rotation so that
// tombstones of many messages spread over the cluster.
func (d *Maildrop) tombstoneTargets(msg Message) []Backend {
	var out []Backend
	isHolder := map[string]bool{}
	for _, h := range msg.holders {
		isHolder[h.Name()] = true
		out = append(out, h)
	}
	others := make([]Backend, 0, len(d.backends))
	for _, b := range d.backends {
		if !isHolder[b.Name()] {
			others = append(others, b)
		}
	}
	start := rotation(msg.ID, len(others))
	for k := 0; k < len(others) && len(out) < d.m.cfg.Redundancy; k++ {
		out = append(out, others[(start+k)%len(others)])
	}
	return out
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
