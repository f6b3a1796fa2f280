package bench

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"powermail/loadgen/limits"
)

// RunInfo ties a result file to the run and the code it came from, so
// that a reader (and the paper's consistency test) can tell files of one
// run from those of another.
type RunInfo struct {
	ID      string    `json:"id"`     // the start time of the pmbench run
	Commit  string    `json:"commit"` // git HEAD, "+dirty" with local changes
	Started time.Time `json:"started"`
}

func newRunInfo() RunInfo {
	now := time.Now().UTC()
	return RunInfo{ID: now.Format("20060102T150405Z"), Commit: gitCommit(), Started: now}
}

func gitCommit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		c += "+dirty"
	}
	return c
}

// Quiet-machine discipline: every scenario waits until the machine has
// been at least MinIdlePct idle over quietWindow, for at most QuietWait.
const (
	defaultMinIdlePct = 85
	defaultQuietWait  = 3 * time.Minute
	quietWindow       = 2 * time.Second
)

// waitQuiet returns the machine's state before a measurement. A busy
// machine is an error for a run of record unless Force is set; a quick
// run (not of record) only records it.
func (e *env) waitQuiet(ctx context.Context, what string) (limits.Quiet, error) {
	wait := e.opt.QuietWait
	if e.opt.Quick {
		wait = 0 // not a run of record: one sample, recorded
	}
	q, err := limits.WaitQuiet(ctx, limits.QuietConfig{MinIdlePct: e.opt.MinIdlePct, Window: quietWindow, MaxWait: wait})
	if err != nil {
		return q, err
	}
	if !q.Quiet {
		e.busy = true
		e.logf("%s: machine busy (%.0f%% idle, load %.2f) after waiting %s", what, q.IdlePct, q.Load1, q.Waited)
		if !e.opt.Force && !e.opt.Quick {
			return q, fmt.Errorf("%s: machine busy: %.0f%% idle (load %.2f) after waiting %s; "+
				"results of record need >= %.0f%% idle (-force writes them anyway, marked)",
				what, q.IdlePct, q.Load1, q.Waited, e.opt.MinIdlePct)
		}
	}
	return q, nil
}
