package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"powermail/impl/orphanlog"
	"powermail/impl/placement"
	"powermail/impl/repair"
)

// repairFlags are repair's own flags, next to the cluster flags.
type repairFlags struct {
	cluster      clusterFlags
	dryRun       bool
	drain        string
	markReadOnly bool
	orphanLog    string
	metricsFile  string
	concurrency  int
	seed         uint64
	verbose      bool
	rebalance    bool
	settleAfter  time.Duration
}

// defaultSettleAfter: how long the newest placement epoch must have been
// in force before a rebalance may drop the older ones. It must exceed
// the longest any front end places by an older view (cluster's
// maxHistoryAge, 10 min) plus the longest delivery (powersmtp's
// session-timeout, 30 min): mail placed by an older epoch after the
// rebalance scanned would otherwise be left where no login looks.
const defaultSettleAfter = time.Hour

func (f *repairFlags) register(fs *flag.FlagSet) {
	f.cluster.register(fs)
	fs.BoolVar(&f.dryRun, "dry-run", false, "plan and report, change nothing")
	fs.StringVar(&f.drain, "drain", "", "host:port of a backend being retired: copy what it holds until R copies exist elsewhere")
	fs.BoolVar(&f.markReadOnly, "mark-readonly", false, "with -drain: first mark the backend read-only (table and backend), so no new mail lands there")
	fs.StringVar(&f.orphanLog, "orphan-log", "", "powersmtp's orphan log: copies of refused deliveries to remove")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "also write the counts for Prometheus (node_exporter textfile collector), e.g. /var/lib/prometheus/node-exporter/powermail.prom")
	fs.IntVar(&f.concurrency, "concurrency", repair.DefaultConcurrency, "mailboxes repaired at once")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the placement choices (the same seed makes the same plan)")
	fs.BoolVar(&f.verbose, "v", false, "log every action to stderr")
	fs.BoolVar(&f.rebalance, "rebalance", false, "with -placement rendezvous: move every copy to its home backends, then drop the placement epochs no login needs any more")
	fs.DurationVar(&f.settleAfter, "settle-after", defaultSettleAfter, "with -rebalance: drop older epochs only when the newest is older than this (longer than any front end's view of the history and any delivery)")
}

// cmdRepair runs powermail/impl/repair over the cluster. It exits 1 when
// the run left work undone (errors, messages below R, a backend not
// listed, copies away from home after -rebalance), so that cron can
// alert; a second run is always safe.
func cmdRepair(e *env, args []string) error {
	var f repairFlags
	fs := e.flags("repair")
	f.register(fs)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if f.markReadOnly && f.drain == "" {
		return usagef("-mark-readonly needs -drain")
	}
	if f.rebalance && f.cluster.placement != string(placement.Rendezvous) {
		return usagef("-rebalance needs -placement rendezvous")
	}
	opt, err := f.options(e)
	if err != nil {
		return err
	}
	backends, err := e.connect(f.cluster)
	if err != nil {
		return err
	}
	defer closeAll(backends)
	if f.markReadOnly && !f.dryRun {
		if err := e.markReadOnly(backends, f.drain, f.cluster.backends == ""); err != nil {
			return err
		}
	}
	rep, err := e.runRepair(f, backends, opt)
	if err != nil {
		return err
	}
	if !rep.Clean() {
		return fmt.Errorf("incomplete: %d errors, %d messages below R=%d, %d backends not listed, %d away from home",
			rep.Errors, rep.BelowTarget, rep.Redundancy, len(rep.Unreachable), rep.StillAway)
	}
	return nil
}

// runRepair reads the placement history (after any change to the table),
// runs repair, reports, settles the history and writes the metrics file.
func (e *env) runRepair(f repairFlags, backends []repair.Node, opt repair.Options) (*repair.Report, error) {
	var hist placement.History
	var err error
	if opt.Homes, hist, err = e.homes(f.cluster); err != nil {
		return nil, err
	}
	started := time.Now()
	rep, err := repair.Run(e.ctx, backends, opt)
	if err != nil {
		return nil, err
	}
	if err := e.printReport(rep); err != nil {
		return nil, err
	}
	if err := e.settle(f, rep, hist, started); err != nil {
		return nil, err
	}
	if f.metricsFile != "" {
		if err := writeMetricsFile(f.metricsFile, rep, time.Now()); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// settle drops the placement epochs before the newest once a rebalance has
// moved every message home under it (package placement), if the newest
// has been in force for -settle-after when the run started.
func (e *env) settle(f repairFlags, rep *repair.Report, h placement.History, started time.Time) error {
	if !f.rebalance || rep.DryRun || !rep.Clean() {
		return nil
	}
	cur := h.Current()
	if age := started.Sub(cur.Started); age < f.settleAfter {
		fmt.Fprintf(e.stderr, "placement history kept: epoch %d has been in force %s, less than -settle-after %s\n",
			cur.Number, age.Round(time.Second), f.settleAfter)
		return nil
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	if err := db.SettleHistory(e.ctx, cur.Number); err != nil {
		return fmt.Errorf("settling the placement history: %w", err)
	}
	if !e.json {
		fmt.Fprintf(e.stdout, "placement history settled at epoch %d\n", cur.Number)
	}
	return nil
}

func (f *repairFlags) options(e *env) (repair.Options, error) {
	opt := repair.Options{Redundancy: f.cluster.redundancy, Concurrency: f.concurrency, DryRun: f.dryRun,
		Drain: f.drain, Seed: f.seed, Rebalance: f.rebalance, Log: slog.New(slog.DiscardHandler)}
	if f.verbose {
		opt.Log = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	if f.orphanLog == "" {
		return opt, nil
	}
	recs, err := orphanlog.Read(f.orphanLog)
	if errors.Is(err, orphanlog.ErrTornLast) {
		fmt.Fprintln(e.stderr, "warning:", err)
		err = nil
	}
	opt.Orphans = recs
	return opt, err
}

// markReadOnly stops new mail to addr at once (READONLY on the backend)
// and for good (the table, when the list came from it; the daemons poll
// it).
func (e *env) markReadOnly(backends []repair.Node, addr string, inTable bool) error {
	for _, b := range backends {
		if b.Addr != addr {
			continue
		}
		if err := b.Client.SetReadOnly(e.ctx, true); err != nil {
			return fmt.Errorf("READONLY on %s: %w", addr, err)
		}
		if !inTable {
			return nil
		}
		db, err := e.open()
		if err != nil {
			return err
		}
		row, err := findBackend(e, db, addr)
		if err != nil {
			return err
		}
		row.ReadOnly = true
		return db.UpdateBackend(e.ctx, row)
	}
	return fmt.Errorf("%w: %s", repair.ErrDrainUnknown, addr)
}

func (e *env) printReport(rep *repair.Report) error {
	if e.json {
		return e.print(rep, "")
	}
	return rep.WriteText(e.stdout)
}
