package bench

import (
	"context"
	"fmt"
	"time"

	"powermail/loadgen/load"
)

// openLoopSessions serves the open-loop arrivals: enough that queueing
// comes from the server, not from loadgen running out of sessions.
const openLoopSessions = 64

// smtpLatency offers Poisson arrivals at fractions of the maximum closed
// loop rate at R=2 (measured by smtp-throughput-r2-4k in this run, or here).
func smtpLatency(ctx context.Context, e *env) (*Result, error) {
	c, err := e.startCluster(ctx, "smtp-latency", 2, smtpMailboxes, false)
	if err != nil {
		return nil, err
	}
	defer stopCluster(c)
	maxRate, err := e.maxRate(ctx, c.SMTPAddr)
	if err != nil {
		return nil, err
	}
	fractions := pick(e, []float64{0.1, 0.25, 0.5, 0.75, 0.9}, []float64{0.5})
	dur := pick(e, 8*time.Second, 2*time.Second)
	samples := make([]sample, e.opt.Runs)
	var raw []any
	for i := range samples {
		samples[i] = sample{}
		for _, f := range fractions {
			cfg := smtpLoad(c.SMTPAddr, 4<<10, openLoopSessions, 0, fmt.Sprintf("lat-%d-%g", i, f))
			cfg.Rate, cfg.Duration = f*maxRate, dur
			res, err := load.RunSMTP(ctx, cfg)
			if err != nil {
				return nil, err
			}
			k := fmt.Sprintf("@%.2f", f)
			samples[i]["offered_per_sec"+k] = cfg.Rate
			samples[i]["achieved_per_sec"+k] = res.MessagesPerSec
			samples[i]["p50_ms"+k] = res.Latency.P50
			samples[i]["p99_ms"+k] = res.Latency.P99
			samples[i]["p99_9_ms"+k] = res.Latency.P999
			samples[i]["failed"+k] = float64(res.Failed + res.Unsent)
			raw = append(raw, res)
		}
	}
	res := aggregate(map[string]any{"redundancy": 2, "size_bytes": 4096, "max_rate_per_sec": maxRate,
		"fractions": fractions, "duration_per_level": dur.String(), "sessions": openLoopSessions,
		"messages_per_conn": 1}, samples, raw)
	res.Notes = append(res.Notes, "latency counts from each message's intended (Poisson) send time and includes connecting; loadgen's timer wakes at ~1 ms granularity, so arrivals closer than that leave in small bursts")
	return res, nil
}

// maxRate is the R=2 4 KiB closed-loop median of this run, or one quick
// measurement when that scenario did not run.
func (e *env) maxRate(ctx context.Context, addr string) (float64, error) {
	if r, ok := e.results["smtp-throughput-r2-4k"]; ok {
		return r.median("msgs_per_sec"), nil
	}
	res, err := load.RunSMTP(ctx, smtpLoad(addr, 4<<10, 16, int64(pick(e, 2000, 200)), "maxrate"))
	if err != nil {
		return 0, err
	}
	return res.MessagesPerSec, nil
}
