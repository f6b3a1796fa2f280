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

// smtpThroughput measures R=W=r with conc sessions; the name of the 16
// session run of 4 KiB messages (the one the simulator is calibrated on)
// has no suffix, others end in -c<conc>.
func smtpThroughput(r, size, conc int) scenario {
	name := fmt.Sprintf("smtp-throughput-r%d-%dk", r, size>>10)
	if size <= 64<<10 && conc != 16 {
		name += fmt.Sprintf("-c%d", conc)
	}
	desc := fmt.Sprintf("closed loop SMTP accept rate, R=W=%d, %d KiB messages, one per connection, %d sessions, %s runs",
		r, size>>10, conc, smtpRunDuration)
	return scenario{name, desc, func(ctx context.Context, e *env) (*Result, error) {
		c, err := e.startCluster(ctx, name, r, smtpMailboxes, false)
		if err != nil {
			return nil, err
		}
		defer stopCluster(c)
		count := int64(pick(e, 0, 300))
		if size > 64<<10 {
			count = int64(pick(e, 0, 24))
		}
		conc := pick(e, conc, 8)
		var samples []sample
		var raw []any
		for i := range e.opt.Runs {
			cfg := smtpLoad(c.SMTPAddr, size, conc, count, fmt.Sprintf("%s-%d", name, i))
			if count == 0 {
				cfg.Duration = smtpRunDuration
			}
			meter, err := startMeter(c)
			if err != nil {
				return nil, err
			}
			res, err := load.RunSMTP(ctx, cfg)
			if err != nil {
				return nil, err
			}
			s := smtpSample(res)
			cost, err := meter.perMessage(res.Messages)
			if err != nil {
				return nil, err
			}
			maps.Copy(s, cost)
			samples = append(samples, s)
			raw = append(raw, res)
		}
		res := aggregate(map[string]any{"redundancy": r, "write_quorum": r, "backends": 3,
			"size_bytes": size, "concurrency": conc, "messages_per_run": count, "messages_per_conn": 1,
			"run_seconds": smtpRunDuration.Seconds()}, samples, raw)
		e.bindSMTP(res, r, size, conc)
		return res, nil
	}}
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
