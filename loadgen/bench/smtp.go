package bench

import (
	"context"
	"fmt"
	"maps"
	"time"

	"powermail/loadgen/limits"
	"powermail/loadgen/load"
)

// smtpRunDuration is the length of each SMTP throughput run (issue 17:
// >= 5 s, so that a run's figure is stable on this machine).
const smtpRunDuration = 6 * time.Second

// smtpPoint is one point of the SMTP throughput sweep: R=W=r, conc
// sessions, messages of size bytes.
type smtpPoint struct {
	name          string
	r, size, conc int
}

// smtpThroughput measures R=W=r with conc sessions; the name of the 16
// session run of 4 KiB messages (the one the simulator is calibrated on)
// has no suffix, others end in -c<conc>. The points run interleaved
// (runSweep): run i of every point before run i+1 of any.
func smtpThroughput(r, size, conc int) scenario {
	name := fmt.Sprintf("smtp-throughput-r%d-%dk", r, size>>10)
	if size <= 64<<10 && conc != 16 {
		name += fmt.Sprintf("-c%d", conc)
	}
	desc := fmt.Sprintf("closed loop SMTP accept rate, R=W=%d, %d KiB messages, one per connection, %d sessions, %s runs, "+
		"each on a fresh cluster after an unmeasured warm-up, interleaved with the other throughput points",
		r, size>>10, conc, smtpRunDuration)
	return scenario{name: name, desc: desc, point: &smtpPoint{name, r, size, conc}}
}

// smtpWarmup is the unmeasured load before each run: the mailboxes'
// directories and the pooled backend connections exist when it starts.
const smtpWarmup = time.Second

// once measures one run of p on a fresh cluster.
func (p *smtpPoint) once(ctx context.Context, e *env, i int) (sample, any, error) {
	c, err := e.startCluster(ctx, p.name, p.r, smtpMailboxes, false)
	if err != nil {
		return nil, nil, err
	}
	defer stopCluster(c)
	count, conc := p.count(e), p.sessions(e)
	if !e.opt.Quick {
		warm := smtpLoad(c.SMTPAddr, p.size, conc, 0, fmt.Sprintf("%s-%d-warmup", p.name, i))
		warm.Duration = smtpWarmup
		if _, err := load.RunSMTP(ctx, warm); err != nil {
			return nil, nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	cfg := smtpLoad(c.SMTPAddr, p.size, conc, count, fmt.Sprintf("%s-%d", p.name, i))
	if count == 0 {
		cfg.Duration = smtpRunDuration
	}
	meter, err := startMeter(c)
	if err != nil {
		return nil, nil, err
	}
	res, err := load.RunSMTP(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	s := smtpSample(res)
	cost, err := meter.perMessage(res.Messages)
	if err != nil {
		return nil, nil, err
	}
	maps.Copy(s, cost)
	return s, res, nil
}

// sessions is the concurrency a run uses: 8 when the suite runs quick.
func (p *smtpPoint) sessions(e *env) int { return pick(e, p.conc, 8) }

// count is the messages per run: 0 (a timed run) unless quick.
func (p *smtpPoint) count(e *env) int64 {
	if p.size > 64<<10 {
		return int64(pick(e, 0, 24))
	}
	return int64(pick(e, 0, 300))
}

// result aggregates p's runs.
func (p *smtpPoint) result(e *env, samples []sample, raw []any) *Result {
	res := aggregate(map[string]any{"redundancy": p.r, "write_quorum": p.r, "backends": 3,
		"size_bytes": p.size, "concurrency": p.sessions(e), "messages_per_run": p.count(e), "messages_per_conn": 1,
		"run_seconds": smtpRunDuration.Seconds()}, samples, raw)
	e.bindSMTP(res, p.r, p.size, p.sessions(e))
	return res
}

// bindSMTP relates the accept rate to the machine: every message is R
// durable file creations, and crosses loopback R+1 times (client to
// powersmtp, powersmtp to each backend). The first limit is the backends'
// own path, group-committed creations with conc x R copies in flight; the
// second the same creations with a flush of their own each.
func (e *env) bindSMTP(res *Result, r, size, conc int) {
	l := e.limits
	if g, ok := groupLimit(l.GroupCommit, conc*r); ok && size <= 64<<10 {
		res.bind("msgs_per_sec", fmt.Sprintf("group_commit_4k %d writers / R (%d copies per message)", g.Parallel, r),
			g.OpsPerSec/float64(r))
	}
	if len(l.Fsync) > 1 {
		res.bind("msgs_per_sec", fmt.Sprintf("fsync_4k_create 8 writers / R (%d copies per message)", r),
			l.Fsync[1].OpsPerSec/float64(r))
	}
	if len(l.Loopback) > 1 {
		res.bind("mb_per_sec", fmt.Sprintf("loopback TCP 8 streams / (R+1) (%d transfers per message)", r+1),
			l.Loopback[1].MBPerSec/float64(r+1))
	}
}

// groupLimit is the group-commit measurement with the most writers not
// above inFlight (else the one with the fewest).
func groupLimit(rates []limits.Rate, inFlight int) (limits.Rate, bool) {
	var best limits.Rate
	found := false
	for _, g := range rates {
		fits, bestFits := g.Parallel <= inFlight, best.Parallel <= inFlight
		better := !found || fits && (!bestFits || g.Parallel > best.Parallel) ||
			!fits && !bestFits && g.Parallel < best.Parallel
		if better {
			best, found = g, true
		}
	}
	return best, found
}
