// Package bench is PowerMail's reproducible benchmark suite (`make bench`,
// `make bench-quick`): it measures the machine's limits (package limits),
// starts real clusters on loopback with the bin/ daemons (package
// devcluster), drives them with loadgen (package load) and writes
// results/: one JSON file per scenario (every metric as median, min, max
// and spread over the runs, and as a fraction of the limit that binds it),
// machine.json, limits.json, SVG plots and summary.md.
//
// Scenarios (see scenarios() for the parameters of each):
//
//	smtp-throughput-rR-SIZE  closed loop accept rate, R = 1, 2, 3; 4 KiB (16 and 32
//	                         sessions, -c32), 512 KiB; per-process CPU and flushes per message
//	smtp-latency             open loop: accept latency against offered load, R=2
//	smtp-100-rcpts           one message to 100 recipients: files, inodes, bytes
//	pop3-retr-4k, -512k      RETR of every message: messages/s and MB/s
//	pop3-logins              USER/PASS/STAT/QUIT sessions per second
//	userbase-lookup          recipient lookups/s: embedded SQLite vs MariaDB
//	pop3-login-cost          login latency and backend requests per login, 3-24 backends, both placements
//	smtp-copies              copies per message of multi-recipient mail, both placements
//	smtp-under-auth-flood    SMTP latency with and without a flood of wrong POP3 passwords
package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"powermail/loadgen/limits"
)

// Options configure a suite run.
type Options struct {
	BinDir  string    // pplistener, powersmtp, powerpop
	OutDir  string    // results/
	WorkDir string    // cluster data (on the data disk); removed afterwards
	Quick   bool      // small counts: a smoke run in CI time
	Runs    int       // repetitions of each scenario (0: 3, or 1 when Quick)
	Only    []string  // scenario names (prefixes) to run; empty: all
	MySQL   string    // MariaDB DSN for userbase-lookup; empty skips it
	Note    string    // added to machine.json (e.g. "machine shared with other jobs")
	Log     io.Writer // progress lines
	// MinIdlePct and QuietWait: before each scenario the suite waits until
	// the machine is this idle, for at most this long (0: 85%, 3 min).
	MinIdlePct float64
	QuietWait  time.Duration
	// Force writes results of record although the machine was busy; every
	// file and table says so.
	Force bool
	// BackendFlags are added to every pplistener's command line (an
	// experiment, e.g. "-flush fsync"); machine.json records them.
	BackendFlags []string
}

// env is what scenarios share during a run.
type env struct {
	opt     Options
	limits  *limits.Limits
	results map[string]*Result
	run     RunInfo
	busy    bool // some measurement ran on a busy machine (with Force or Quick)
}

func (e *env) logf(format string, args ...any) {
	if e.opt.Log != nil {
		fmt.Fprintf(e.opt.Log, time.Now().Format("15:04:05 ")+format+"\n", args...)
	}
}

// pick returns full, or quick when the suite runs quick.
func pick[T any](e *env, full, quick T) T {
	if e.opt.Quick {
		return quick
	}
	return full
}

// Run runs the suite and writes every file; it returns the results.
func Run(ctx context.Context, opt Options) (map[string]*Result, error) {
	if opt.Runs <= 0 {
		opt.Runs = pick(&env{opt: opt}, 3, 1)
	}
	if err := os.MkdirAll(opt.OutDir, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(opt.WorkDir, "pmbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	opt.WorkDir = work
	if opt.MinIdlePct == 0 {
		opt.MinIdlePct = defaultMinIdlePct
	}
	if opt.QuietWait == 0 {
		opt.QuietWait = defaultQuietWait
	}
	e := &env{opt: opt, results: map[string]*Result{}, run: newRunInfo()}
	if err := e.measureLimits(ctx); err != nil {
		return nil, err
	}
	var sweep []scenario
	for _, s := range scenarios() {
		if !e.selected(s.name) {
			continue
		}
		if s.point != nil {
			sweep = append(sweep, s)
			continue
		}
		if len(sweep) > 0 { // the sweep runs where its points are listed
			if err := e.runSweep(ctx, sweep); err != nil {
				return e.results, err
			}
			sweep = nil
		}
		if err := e.runScenario(ctx, s); err != nil {
			return e.results, err
		}
	}
	if err := e.runSweep(ctx, sweep); err != nil {
		return e.results, err
	}
	return e.results, e.writeSummary()
}

// runSweep measures the points of the SMTP throughput sweep in rounds: run
// i of every point, each after its own wait for a quiet machine, before
// run i+1 of any. This VM's speed drifts by tens of percent over the
// minutes a sweep takes; measured one point after another, the drift
// would show as a difference between points (between R = 1, 2 and 3, say)
// that the code does not make. Interleaved, every point sees the same
// drift, and the spread of each point's runs shows its size.
func (e *env) runSweep(ctx context.Context, points []scenario) error {
	if len(points) == 0 {
		return nil
	}
	samples := make([][]sample, len(points))
	raws := make([][]any, len(points))
	states := make([]limits.Quiet, len(points))
	for i := range e.opt.Runs {
		for k, s := range points {
			q, err := e.waitQuiet(ctx, s.name)
			if err != nil {
				return err
			}
			if i == 0 || q.IdlePct < states[k].IdlePct {
				states[k] = q // the least quiet before any of its runs
			}
			e.logf("scenario %s, run %d of %d (%.0f%% idle): %s", s.name, i+1, e.opt.Runs, q.IdlePct, s.desc)
			smp, raw, err := s.point.once(ctx, e, i)
			if err != nil {
				return fmt.Errorf("scenario %s: %w", s.name, err)
			}
			samples[k], raws[k] = append(samples[k], smp), append(raws[k], raw)
		}
	}
	for k, s := range points {
		if err := e.record(s, s.point.result(e, samples[k], raws[k]), states[k]); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) selected(name string) bool {
	if len(e.opt.Only) == 0 {
		return true
	}
	return slices.ContainsFunc(e.opt.Only, func(p string) bool { return strings.HasPrefix(name, p) })
}

func (e *env) measureLimits(ctx context.Context) error {
	q, err := e.waitQuiet(ctx, "limits")
	if err != nil {
		return err
	}
	e.logf("measuring machine limits (%.0f%% idle)", q.IdlePct)
	l, err := limits.Measure(ctx, limits.Config{Dir: e.opt.WorkDir,
		Duration: pick(e, 3*time.Second, 500*time.Millisecond),
		Writers:  []int{1, 8}, Group: []int{16, 32, 64}, Streams: []int{1, 8}, Conns: 8})
	if err != nil {
		return err
	}
	l.Machine.Note = e.opt.Note
	l.Machine.BackendFlags = e.opt.BackendFlags
	l.Run, l.State = e.run, q
	e.limits = l
	if err := writeJSON(filepath.Join(e.opt.OutDir, "limits.json"), l); err != nil {
		return err
	}
	return writeJSON(filepath.Join(e.opt.OutDir, "machine.json"), l.Machine)
}

func (e *env) runScenario(ctx context.Context, s scenario) error {
	q, err := e.waitQuiet(ctx, s.name)
	if err != nil {
		return err
	}
	e.logf("scenario %s (%.0f%% idle): %s", s.name, q.IdlePct, s.desc)
	r, err := s.run(ctx, e)
	if err != nil {
		return fmt.Errorf("scenario %s: %w", s.name, err)
	}
	return e.record(s, r, q)
}

// record completes result r of scenario s, measured after state q, and
// writes its file.
func (e *env) record(s scenario, r *Result, q limits.Quiet) error {
	r.Scenario, r.Description = s.name, s.desc
	r.Quick = e.opt.Quick
	r.Run, r.State, r.Forced = e.run, q, !q.Quiet
	e.results[s.name] = r
	e.logf("  %s", r.headline())
	return writeJSON(filepath.Join(e.opt.OutDir, s.name+".json"), r)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
