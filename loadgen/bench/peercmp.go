package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/montanaflynn/stats"

	"powermail/loadgen/limits"
	"powermail/loadgen/load"
)

// comparison is one workload measured on every side.
type comparison struct {
	name   string
	metric string // compared as ours / theirs
	run    func(context.Context, *env, []side) (*PeerRatio, error)
}

// PeerRatio is one comparison in peers.json: ours (PowerMail with powerpop
// reading over the network), theirs (Postfix + Dovecot) and, for POP3,
// ours with local-stores (powerpop reading the co-located stores).
type PeerRatio struct {
	Metric     string   `json:"metric"`
	Ours       Stat     `json:"ours"`
	Theirs     Stat     `json:"theirs"`
	Ratio      float64  `json:"ratio"` // median ours / median theirs
	OursLocal  *Stat    `json:"ours_local_stores,omitempty"`
	RatioLocal float64  `json:"ratio_local_stores,omitempty"`
	CPU        CPUPerOp `json:"server_cpu_us_per_msg"` // median per side
	Raw        []any    `json:"raw"`
	Params     any      `json:"params"`
	Notes      []string `json:"notes,omitempty"`
}

// CPUPerOp is the servers' CPU per message (the machine's, less the load
// generator's own), median over the runs, per side.
type CPUPerOp struct {
	Ours      float64 `json:"ours"`
	Theirs    float64 `json:"theirs"`
	OursLocal float64 `json:"ours_local_stores,omitempty"`
}

// peerRunSeconds is the length of every measured run: long enough that a
// run's figure is stable on this machine (issue 17: >= 5 s each).
const peerRunSeconds = 6 * time.Second

func peerComparisons() []comparison {
	return []comparison{
		smtpComparison("smtp_4k_c16", 4<<10, 16),
		smtpComparison("smtp_4k_c32", 4<<10, 32),
		smtpComparison("smtp_512k_c8", 512<<10, 8),
		popComparison("pop3_retr_4k", "msgs_per_sec", "pop", 40, 50, 4<<10),
		popComparison("pop3_retr_512k", "mb_per_sec", "pbig", 16, 8, 512<<10),
	}
}

// smtpComparison: closed loop, one message per connection, timed end to
// end: until Postfix's Maildirs hold every accepted message (its 250 only
// means queued; ours means stored on W backends). Small messages compare
// messages/s, large ones MB/s.
func smtpComparison(name string, size, conc int) comparison {
	metric := "msgs_per_sec"
	if size > 64<<10 {
		metric = "mb_per_sec"
	}
	return comparison{name, metric, func(ctx context.Context, e *env, sides []side) (*PeerRatio, error) {
		sides = sides[:2] // SMTP does not depend on the POP3 reader
		r, err := alternate(ctx, e, metric, sides, func(s side, i int) (runResult, error) {
			cfg := smtpLoad(s.smtp, size, conc, 0, fmt.Sprintf("peer-%s-%s-%d", name, s.name, i))
			cfg.Duration = peerRunSeconds
			return measured(func() (*load.Result, error) {
				res, err := load.RunSMTP(ctx, cfg)
				if err == nil && res.Failed > 0 {
					err = fmt.Errorf("%s: %d failed: %v", s.name, res.Failed, res.Errors)
				}
				if err == nil {
					*s.userMessages += int(res.Messages)
					err = s.settle(ctx, "user", *s.userMessages)
				}
				return res, err
			}, func(res *load.Result, took time.Duration) float64 {
				if metric == "mb_per_sec" {
					return float64(res.Bytes) / 1e6 / took.Seconds()
				}
				return float64(res.Messages) / took.Seconds()
			})
		})
		if r != nil {
			r.Params = map[string]any{"size_bytes": size, "concurrency": conc, "run_seconds": peerRunSeconds.Seconds(),
				"timed": "end to end: from the first connection until every accepted message is in a mailbox"}
		}
		return r, err
	}}
}

// popComparison fills mailboxes prefix0..n-1 with perUser messages through
// each side's SMTP, then alternates POP3 retrieval runs on every side.
func popComparison(name, metric, prefix string, n, perUser, size int) comparison {
	return comparison{name, metric, func(ctx context.Context, e *env, sides []side) (*PeerRatio, error) {
		if err := fillPOP(ctx, sides, prefix, n, perUser, size); err != nil {
			return nil, err
		}
		r, err := alternate(ctx, e, metric, sides, func(s side, _ int) (runResult, error) {
			cfg := peerPOP(s, prefix, n)
			cfg.Duration = peerRunSeconds
			return measured(func() (*load.Result, error) {
				res, err := load.RunPOP(ctx, cfg)
				if err == nil && (res.Failed > 0 || res.Verify.Corrupt > 0) {
					err = fmt.Errorf("%s: errors %v, corrupt %d", s.name, res.Errors, res.Verify.Corrupt)
				}
				return res, err
			}, func(res *load.Result, _ time.Duration) float64 {
				if metric == "mb_per_sec" {
					return res.MBPerSec
				}
				return res.MessagesPerSec
			})
		})
		if r != nil {
			r.Params = map[string]any{"mailboxes": n, "messages_per_mailbox": perUser, "size_bytes": size,
				"sessions": popSessions, "run_seconds": peerRunSeconds.Seconds()}
		}
		return r, err
	}}
}

// fillPOP delivers the POP3 mailboxes through each side's own SMTP (once
// per SMTP server) and runs one unmeasured pass on every side: first logins
// (password hashing) and Dovecot's index creation happen there.
func fillPOP(ctx context.Context, sides []side, prefix string, n, perUser, size int) error {
	filled := map[string]bool{}
	for _, s := range sides {
		if !filled[s.smtp] {
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
				return err
			}
			filled[s.smtp] = true
		}
		if _, err := load.RunPOP(ctx, peerPOP(s, prefix, n)); err != nil {
			return err
		}
	}
	return nil
}

func peerPOP(s side, prefix string, n int) load.POPConfig {
	return load.POPConfig{Addr: s.pop, Concurrency: popSessions, Users: n, UserFormat: prefix + "%d@example.com",
		PassFormat: passFormat, Retr: true, Verify: true}
}

// runResult is one measured run: its figure, the servers' CPU per message
// and loadgen's result.
type runResult struct {
	res    *load.Result
	value  float64
	cpuUs  float64
	idleOK bool
}

// measured runs one load, timing it and taking the machine's CPU around
// it; value turns the result and the elapsed time into the figure.
func measured(run func() (*load.Result, error), value func(*load.Result, time.Duration) float64) (runResult, error) {
	cpu0, err := limits.BusyCPUSec()
	if err != nil {
		return runResult{}, err
	}
	start := time.Now()
	res, err := run()
	took := time.Since(start)
	if err != nil {
		return runResult{}, err
	}
	cpu1, err := limits.BusyCPUSec()
	if err != nil || res.Messages == 0 {
		return runResult{}, fmt.Errorf("no message measured (%v)", err)
	}
	own := res.CPU.UserSec + res.CPU.SysSec
	return runResult{res: res, value: value(res, took), cpuUs: (cpu1 - cpu0 - own) * 1e6 / float64(res.Messages)}, nil
}

// alternate runs the sides in turn (ours, theirs, ours local...), runs
// times, each after the machine is quiet, and compares medians with theirs
// (sides[1]).
func alternate(ctx context.Context, e *env, metric string, sides []side, one func(side, int) (runResult, error)) (*PeerRatio, error) {
	values := make([][]float64, len(sides))
	cpu := make([][]float64, len(sides))
	r := &PeerRatio{Metric: metric}
	for i := range e.opt.Runs {
		for k, s := range sides {
			if _, err := e.waitQuiet(ctx, fmt.Sprintf("peers %s run %d", s.name, i)); err != nil {
				return nil, err
			}
			rr, err := one(s, i)
			if err != nil {
				return nil, err
			}
			values[k] = append(values[k], rr.value)
			cpu[k] = append(cpu[k], rr.cpuUs)
			r.Raw = append(r.Raw, map[string]any{"side": s.name, "run": i, "value": rr.value,
				"server_cpu_us_per_msg": rr.cpuUs, "result": rr.res})
		}
	}
	r.Ours, r.Theirs = statOf(values[0]), statOf(values[1])
	r.Ratio = ratio(r.Ours, r.Theirs)
	r.CPU.Ours, r.CPU.Theirs = median(cpu[0]), median(cpu[1])
	if len(sides) > 2 {
		local := statOf(values[2])
		r.OursLocal, r.RatioLocal, r.CPU.OursLocal = &local, ratio(local, r.Theirs), median(cpu[2])
	}
	return r, nil
}

func ratio(a, b Stat) float64 {
	if b.Median == 0 {
		return 0
	}
	return a.Median / b.Median
}

func median(v []float64) float64 {
	m, _ := stats.Median(v)
	return m
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
