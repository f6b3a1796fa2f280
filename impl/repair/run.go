package repair

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"powermail/impl/mailbox"
	"powermail/impl/orphanlog"
	"powermail/impl/placement"
	"powermail/impl/ppclient"
)

// Options of a Run.
type Options struct {
	Redundancy int // R, the copies each message should have
	// Concurrency bounds the mailboxes worked on at once (each holds one
	// connection per backend at a time); 0 means DefaultConcurrency.
	Concurrency int
	DryRun      bool
	// Drain is the address of a backend being retired: its copies do not
	// count and it receives none. Make it read-only first, or new mail
	// keeps landing there.
	Drain   string
	Orphans []orphanlog.Entry // from powersmtp's orphan log
	Seed    uint64            // placement choices; the same seed makes the same plan
	// Homes is the placement history under rendezvous placement (nil:
	// PowerMail's placement); see rehome.go.
	Homes *placement.Homes
	// Rebalance moves every copy home (rendezvous placement only).
	Rebalance bool
	Log       *slog.Logger
}

// DefaultConcurrency is the number of mailboxes repaired at once.
const DefaultConcurrency = 4

// ErrDrainUnknown: the drained backend is not among the backends, or could
// not be asked what it holds.
var ErrDrainUnknown = errors.New("repair: backend to drain is not listed or not reachable")

// runner is the state of one Run.
type runner struct {
	opt     Options
	plan    planner
	clients map[string]*ppclient.Client
	ids     idLocks
	log     *slog.Logger

	mu  sync.Mutex
	rep *Report
}

// Run repairs every mailbox of the cluster and returns the report. The
// error is for a run that could not start; failures of single actions are
// counted in the report.
func Run(ctx context.Context, backends []Node, opt Options) (*Report, error) {
	if opt.Redundancy < 1 {
		return nil, fmt.Errorf("repair: redundancy %d: must be at least 1", opt.Redundancy)
	}
	if opt.Rebalance && opt.Homes == nil {
		return nil, errors.New("repair: rebalance needs rendezvous placement's history")
	}
	r := newRunner(Probe(ctx, backends), opt)
	if opt.Drain != "" && !r.drainable() {
		return nil, fmt.Errorf("%w: %s", ErrDrainUnknown, opt.Drain)
	}
	boxes, unreachable := Mailboxes(ctx, r.plan.states)
	r.rep.Mailboxes, r.rep.Unreachable = len(boxes), append(r.rep.Unreachable, unreachable...)
	forEach(len(boxes), cmp.Or(opt.Concurrency, DefaultConcurrency), func(i int) {
		if ctx.Err() == nil {
			r.mailbox(ctx, boxes[i])
		}
	})
	if err := ctx.Err(); err != nil {
		r.rep.fail(fmt.Errorf("interrupted: %w", err))
	}
	r.rep.DrainComplete = opt.Drain != "" && !opt.DryRun && r.rep.Errors == 0 && r.rep.BelowTarget == 0
	return r.rep, nil
}

func newRunner(states []State, opt Options) *runner {
	r := &runner{opt: opt, clients: map[string]*ppclient.Client{}, log: opt.Log,
		rep: &Report{DryRun: opt.DryRun, Redundancy: opt.Redundancy, Drain: opt.Drain, Backends: len(states),
			Rendezvous: opt.Homes != nil, Rebalance: opt.Rebalance, AwayCopies: map[string]int{},
			Unreachable: []string{}, ErrorSamples: []string{}, Actions: []Action{}}}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.plan = planner{states: states, r: opt.Redundancy, drain: opt.Drain, seed: opt.Seed, orphans: indexOrphans(opt.Orphans),
		homes: opt.Homes, rebalance: opt.Rebalance}
	for _, s := range states {
		r.clients[s.Addr] = s.Client
	}
	return r
}

func (r *runner) drainable() bool {
	i := slices.IndexFunc(r.plan.states, func(s State) bool { return s.Addr == r.opt.Drain })
	return i >= 0 && r.plan.states[i].Up
}

// indexOrphans lists, per (mailbox, id), the backends whose copy the log
// calls stray. Entries of accepted messages (Acked) name no stray copy:
// such a copy may be the last of mail the sender was told is stored.
func indexOrphans(orphans []orphanlog.Entry) map[boxID][]string {
	out := map[boxID][]string{}
	for _, o := range orphans {
		if o.Acked {
			continue
		}
		for _, b := range o.Boxes {
			k := boxID{b, o.ID}
			out[k] = append(out[k], o.Backend)
		}
	}
	return out
}

// mailbox scans one mailbox and applies the plan of each message.
func (r *runner) mailbox(ctx context.Context, box mailbox.Name) {
	ms := ScanMailbox(ctx, r.plan.states, box)
	if r.opt.Drain != "" && slices.Contains(ms.Unreachable, r.opt.Drain) {
		r.record(func(rep *Report) { rep.fail(fmt.Errorf("%s: drained backend could not be listed", box)) })
		return
	}
	for _, c := range ms.Messages {
		r.message(ctx, ms, c)
	}
}

// message plans and applies the repair of one message.
func (r *runner) message(ctx context.Context, ms MailboxState, c Copies) {
	d := r.plan.plan(ms, c)
	used := map[string]bool{}
	for _, a := range d.actions {
		used[a.Target] = true
	}
	failed := r.applyAll(ctx, d.actions, used)
	stillAway := len(d.away) > 0
	if failed == 0 && len(d.unhome) > 0 { // every home backend now holds it
		stillAway = r.applyAll(ctx, d.unhome, nil) > 0
	}
	r.record(func(rep *Report) {
		rep.Scanned++
		rep.OrphansKept += d.orphansKept
		if d.below {
			rep.BelowR++
		}
		if d.short {
			rep.BelowTarget++
		}
		if len(d.away) > 0 {
			rep.AwayFromHome++
		}
		for _, a := range d.away {
			rep.AwayCopies[a]++
		}
		if stillAway {
			rep.StillAway++
		}
	})
}

// applyAll applies actions in order (or, in a dry run, records them) and
// returns how many failed.
func (r *runner) applyAll(ctx context.Context, actions []Action, used map[string]bool) (failed int) {
	for _, a := range actions {
		var err error
		if !r.opt.DryRun {
			a, err = r.apply(ctx, a, used)
		}
		if err != nil {
			failed++
		}
		r.logAction(a, err)
		r.record(func(rep *Report) { rep.add(a, err) })
	}
	return failed
}

func (r *runner) record(f func(*Report)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r.rep)
}

func (r *runner) logAction(a Action, err error) {
	attrs := []any{"kind", a.Kind, "mailbox", a.Box, "id", a.ID, "target", a.Target, "dry_run", r.opt.DryRun}
	if a.Source != "" {
		attrs = append(attrs, "source", a.Source)
	}
	if err != nil {
		r.log.Warn("repair action failed", append(attrs, "err", err)...)
		return
	}
	r.log.Info("repair action", attrs...)
}
