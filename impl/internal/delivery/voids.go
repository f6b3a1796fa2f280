package delivery

import (
	"context"
	"errors"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/orphanlog"
)

// maxVoidTargets bounds the backends one pending VOID is tried on.
const maxVoidTargets = 16

// VoidPending completes the refusals that too few backends took the VOID
// of when they happened (orphanlog.Pending: backends down, a power cut of
// the whole cluster): each gets VOID on more of its candidates, those that
// may hold a stray copy first, until every mailbox has its tombstones
// (see tombstones), each success recorded in the log. It returns how many it completed.
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

// voidMore sends VOID of p to more of its mailboxes' candidates, strays
// first, until every mailbox has its tombstones (see tombstones); it
// reports whether every one does.
func (d *Deliverer) voidMore(ctx context.Context, p orphanlog.PendingVoid) bool {
	targets, err := d.picker.Pick(p.Boxes, d.cfg.Redundancy)
	if err != nil || len(targets) != len(p.Boxes) {
		return false
	}
	ts := newTombstones(d.cfg.Redundancy, p.Boxes, targets, p.Voided)
	added := 0
	order := ts.order(p.Strays)
	ts.fill(order[:min(len(order), maxVoidTargets)], nil, func(b Backend, boxes []mailbox.Name) bool {
		vctx, cancel := context.WithTimeout(ctx, d.cfg.BackendTimeout)
		err := b.Void(vctx, p.ID, boxes)
		cancel()
		replicaOutcome(b.Name(), "void", err)
		if err == nil {
			added++
			d.recordOrphan(orphanlog.Entry{Backend: b.Name(), ID: p.ID, Boxes: boxes, Voided: true}, nil)
		}
		return err == nil
	})
	if added > 0 {
		d.log.Info("pending refusal voided on more backends", "id", p.ID, "backends", added)
	}
	return len(ts.short()) == 0
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
