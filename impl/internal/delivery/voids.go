package delivery

import (
	"context"
	"errors"
	"slices"
	"time"

	"powermail/impl/mailbox"
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

// voidOne tries VOID of e until every mailbox of e is hidden, that is has
// a tombstone on one of its home candidates (see Target), trying the
// backend that holds the stray copy first.
func (d *Deliverer) voidOne(ctx context.Context, e orphanlog.Entry) bool {
	targets, err := d.picker.Pick(e.Boxes, d.cfg.Redundancy)
	if err != nil || len(targets) != len(e.Boxes) {
		return false
	}
	hidden := map[mailbox.Name]bool{}
	for _, b := range homesOf(targets, e.Backend) {
		var boxes []mailbox.Name
		for i, box := range e.Boxes {
			if !hidden[box] && targets[i].home(b) {
				boxes = append(boxes, box)
			}
		}
		if len(boxes) == 0 {
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, d.cfg.BackendTimeout)
		err := b.Void(vctx, e.ID, boxes)
		cancel()
		replicaOutcome(b.Name(), "void", err)
		if err != nil {
			continue
		}
		for _, box := range boxes {
			hidden[box] = true
		}
		if len(hidden) == len(e.Boxes) {
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

// homesOf is every home candidate of targets, once, the one named first
// first, at most maxVoidTargets.
func homesOf(targets []Target, first string) []Backend {
	var out []Backend
	for _, t := range targets {
		for _, b := range t.Candidates[:t.Home] {
			if !slices.ContainsFunc(out, func(o Backend) bool { return o.Name() == b.Name() }) {
				out = append(out, b)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Backend) int {
		return boolRank(a.Name() != first) - boolRank(b.Name() != first)
	})
	return out[:min(len(out), maxVoidTargets)]
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
