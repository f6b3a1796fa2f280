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

// VoidPending completes the refusals that fewer than R backends took the
// VOID of when they happened (orphanlog.Pending: backends down, a power
// cut of the whole cluster): each gets VOID on more up backends, those
// that may hold a stray copy first, until R hold its tombstones, each
// success recorded in the log. It returns how many it completed.
// powersmtp runs it before it accepts mail and then periodically
// (SweepVoids), so that a copy left before such an outage is hidden as
// soon as backends are back.
func (d *Deliverer) VoidPending(ctx context.Context) (int, error) {
	if d.orphans == nil {
		return 0, nil
	}
	entries, err := orphanlog.Read(d.orphans.Path())
	if err != nil && !errors.Is(err, orphanlog.ErrTornLast) {
		return 0, err
	}
	done := 0
	for _, p := range orphanlog.Pending(entries, d.cfg.Redundancy) {
		if ctx.Err() != nil {
			break
		}
		if d.voidMore(ctx, p) {
			done++
		}
	}
	return done, ctx.Err()
}

// voidMore sends VOID of p to up backends that hold no tombstone of it yet,
// strays first, until R do; it reports whether R do.
func (d *Deliverer) voidMore(ctx context.Context, p orphanlog.PendingVoid) bool {
	chosen, spares, err := d.picker.Pick(maxVoidTargets)
	if err != nil {
		return false
	}
	targets := slices.DeleteFunc(append(chosen, spares...), func(b Backend) bool { return slices.Contains(p.Voided, b.Name()) })
	slices.SortStableFunc(targets, func(a, b Backend) int {
		return boolRank(!slices.Contains(p.Strays, a.Name())) - boolRank(!slices.Contains(p.Strays, b.Name()))
	})
	have := len(p.Voided)
	for _, b := range targets {
		if have >= d.cfg.Redundancy {
			break
		}
		vctx, cancel := context.WithTimeout(ctx, d.cfg.BackendTimeout)
		err := b.Void(vctx, p.ID, p.Boxes)
		cancel()
		replicaOutcome(b.Name(), "void", err)
		if err == nil {
			have++
			d.recordOrphan(orphanlog.Entry{Backend: b.Name(), ID: p.ID, Boxes: p.Boxes, Voided: true}, nil)
		}
	}
	if have > len(p.Voided) {
		d.log.Info("pending refusal voided on more backends", "id", p.ID, "backends", have)
	}
	return have >= d.cfg.Redundancy
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
