package delivery

import (
	"context"
	"errors"
	"slices"
	"time"

	"powermail/impl/orphanlog"
)

// maxVoidTargets bounds the backends one pending VOID is tried on.
const maxVoidTargets = 16

// VoidPending applies the refusals that no backend could take when they
// happened (orphanlog.Pending: every backend was down, a power cut of the
// whole cluster say): each id gets VOID on the first backend that takes
// it, the one that holds the stray copy first, and a Voided record in the
// log. It returns how many it voided. powersmtp runs it before it accepts
// mail and then periodically (SweepVoids), so that a copy committed before
// such an outage is hidden as soon as a backend is back.
func (d *Deliverer) VoidPending(ctx context.Context) (int, error) {
	if d.orphans == nil {
		return 0, nil
	}
	entries, err := orphanlog.Read(d.orphans.Path())
	if err != nil && !errors.Is(err, orphanlog.ErrTornLast) {
		return 0, err
	}
	voided := 0
	for _, e := range orphanlog.Pending(entries) {
		if ctx.Err() != nil {
			break
		}
		if d.voidOne(ctx, e) {
			voided++
		}
	}
	return voided, ctx.Err()
}

// voidOne tries VOID of e on the up backends, the one named by e first.
func (d *Deliverer) voidOne(ctx context.Context, e orphanlog.Entry) bool {
	chosen, spares, err := d.picker.Pick(maxVoidTargets)
	if err != nil {
		return false
	}
	targets := append(chosen, spares...)
	slices.SortStableFunc(targets, func(a, b Backend) int {
		return boolRank(a.Name() != e.Backend) - boolRank(b.Name() != e.Backend)
	})
	for _, b := range targets {
		vctx, cancel := context.WithTimeout(ctx, d.cfg.BackendTimeout)
		err := b.Void(vctx, e.ID, e.Boxes)
		cancel()
		replicaOutcome(b.Name(), "void", err)
		if err == nil {
			d.log.Info("pending refusal voided", "id", e.ID, "backend", b.Name())
			rec := orphanlog.Entry{Time: d.now(), Backend: b.Name(), ID: e.ID, Boxes: e.Boxes, Voided: true}
			if err := d.orphans.Append(rec); err != nil {
				d.log.Error("orphan log append failed", "err", err)
			}
			return true
		}
	}
	return false
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SweepVoids runs VoidPending every interval until ctx ends.
func (d *Deliverer) SweepVoids(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := d.VoidPending(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("pending refusals not voided", "err", err)
			}
		}
	}
}
