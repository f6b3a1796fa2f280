package bench

import (
	"context"
	"fmt"

	"github.com/montanaflynn/stats"

	"powermail/loadgen/load"
)

// comparison is one workload measured on both sides.
type comparison struct {
	name   string
	metric string // compared as ours / theirs
	run    func(context.Context, side, side) (*PeerRatio, error)
}

// PeerRatio is one comparison in peers.json.
type PeerRatio struct {
	Metric string   `json:"metric"`
	Ours   Stat     `json:"ours"`
	Theirs Stat     `json:"theirs"`
	Ratio  float64  `json:"ratio"` // median ours / median theirs
	Raw    []any    `json:"raw"`
	Params any      `json:"params"`
	Notes  []string `json:"notes,omitempty"`
	values [2][]float64
}

func peerComparisons(e *env) []comparison {
	runs := e.opt.Runs
	return []comparison{
		{"smtp_4k_accept", "msgs_per_sec", func(ctx context.Context, a, b side) (*PeerRatio, error) {
			const perRun = 2000
			return alternate(runs, "msgs_per_sec", a, b, func(s side, i int) (*load.Result, float64, error) {
				cfg := smtpLoad(s.smtp, 4<<10, popSessions, perRun, fmt.Sprintf("peer-%s-%d", s.name, i))
				res, err := load.RunSMTP(ctx, cfg)
				if err == nil && res.Failed > 0 {
					err = fmt.Errorf("%s: %d failed: %v", s.name, res.Failed, res.Errors)
				}
				// Postfix delivers after its 250: let it finish before the
				// next run, so that neither side pays for the other's backlog.
				if err == nil {
					err = s.settle(ctx, "user", (i+1)*perRun)
				}
				if err != nil {
					return nil, 0, err
				}
				return res, res.MessagesPerSec, nil
			})
		}},
		popComparison("pop3_retr_4k", "msgs_per_sec", "pop", 40, 50, 4<<10, runs),
		popComparison("pop3_retr_512k", "mb_per_sec", "pbig", 16, 8, 512<<10, runs),
	}
}

// popComparison fills mailboxes prefix0..n-1 with perUser messages through
// each side's SMTP, then alternates POP3 retrieval runs.
func popComparison(name, metric, prefix string, n, perUser, size, runs int) comparison {
	return comparison{name, metric, func(ctx context.Context, a, b side) (*PeerRatio, error) {
		for _, s := range []side{a, b} {
			cfg := smtpLoad(s.smtp, size, popSessions, int64(n*perUser), "fill-"+prefix+"-"+s.name)
			cfg.PerConn, cfg.Mailboxes.N, cfg.RcptFormat = 50, n, prefix+"%d@example.com"
			res, err := load.RunSMTP(ctx, cfg)
			if err == nil && res.Failed > 0 {
				err = fmt.Errorf("filling %s: %v", s.name, res.Errors)
			}
			if err == nil {
				err = s.settle(ctx, prefix, n*perUser)
			}
			if err != nil {
				return nil, err
			}
			// One unmeasured pass: first logins (password hashing) and
			// Dovecot's index creation happen here, not in the runs.
			if _, err := load.RunPOP(ctx, peerPOP(s, prefix, n)); err != nil {
				return nil, err
			}
		}
		r, err := alternate(runs, metric, a, b, func(s side, _ int) (*load.Result, float64, error) {
			cfg := peerPOP(s, prefix, n)
			cfg.Sessions = int64(n * retrPasses)
			res, err := load.RunPOP(ctx, cfg)
			if err == nil && (res.Failed > 0 || res.Verify.Corrupt > 0) {
				err = fmt.Errorf("%s: errors %v, corrupt %d", s.name, res.Errors, res.Verify.Corrupt)
			}
			if err != nil {
				return nil, 0, err
			}
			if metric == "mb_per_sec" {
				return res, res.MBPerSec, nil
			}
			return res, res.MessagesPerSec, nil
		})
		if r != nil {
			r.Params = map[string]any{"mailboxes": n, "messages_per_mailbox": perUser, "passes_per_run": retrPasses, "size_bytes": size, "sessions": popSessions}
		}
		return r, err
	}}
}

func peerPOP(s side, prefix string, n int) load.POPConfig {
	return load.POPConfig{Addr: s.pop, Concurrency: popSessions, Users: n, UserFormat: prefix + "%d@example.com",
		PassFormat: passFormat, Retr: true, Verify: true}
}

// alternate runs ours, theirs, ours, theirs... and compares medians.
func alternate(runs int, metric string, a, b side, one func(side, int) (*load.Result, float64, error)) (*PeerRatio, error) {
	r := &PeerRatio{Metric: metric}
	for i := range runs {
		for k, s := range []side{a, b} {
			res, v, err := one(s, i)
			if err != nil {
				return nil, err
			}
			r.values[k] = append(r.values[k], v)
			r.Raw = append(r.Raw, map[string]any{"side": s.name, "run": i, "result": res})
		}
	}
	r.Ours, r.Theirs = statOf(r.values[0]), statOf(r.values[1])
	if r.Theirs.Median > 0 {
		r.Ratio = r.Ours.Median / r.Theirs.Median
	}
	return r, nil
}

func statOf(v []float64) Stat {
	s := Stat{Values: v}
	s.Median, _ = stats.Median(v)
	s.Min, _ = stats.Min(v)
	s.Max, _ = stats.Max(v)
	if s.Median != 0 {
		s.SpreadPct = 100 * (s.Max - s.Min) / s.Median
	}
	return s
}
