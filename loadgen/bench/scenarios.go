package bench

import (
	"context"
	"time"

	"powermail/loadgen/gen"
	"powermail/loadgen/load"
)

// scenario is one named measurement: run measures every repetition, or,
// for a point of the SMTP throughput sweep, point measures one and the
// suite interleaves the points' repetitions (runSweep).
type scenario struct {
	name  string
	desc  string
	run   func(context.Context, *env) (*Result, error)
	point sweepPoint
}

// sweepPoint is a scenario whose repetitions the suite interleaves with
// those of the other points (runSweep): once measures repetition i, result
// aggregates them.
type sweepPoint interface {
	once(ctx context.Context, e *env, i int) (sample, any, error)
	result(e *env, samples []sample, raw []any) *Result
}

func scenarios() []scenario {
	var s []scenario
	for _, r := range []int{1, 2, 3} {
		s = append(s, smtpThroughput(r, 4<<10, 16), smtpThroughput(r, 4<<10, 32), smtpThroughput(r, 512<<10, 8))
	}
	return append(s,
		scenario{name: "smtp-latency", desc: "open loop at fractions of the R=2 4 KiB maximum rate: accept latency from the intended send time", run: smtpLatency},
		scenario{name: "smtp-100-rcpts", desc: "one 4 KiB message to 100 recipients at R=2: files, inodes and bytes on each backend, bytes and PREPAREs sent to backends", run: smtp100Rcpts},
		popRetr(4<<10), popRetr(512<<10),
		scenario{name: "pop3-logins", desc: "POP3 sessions USER/PASS/STAT/QUIT per second (R=2, userbase auth cache on: the default)", run: popLogins},
		scenario{name: "userbase-lookup", desc: "recipient lookups/s against the userbase engine, caches off: embedded SQLite vs MariaDB", run: userbaseLookup},
		scenario{name: "pop3-login-cost", desc: "login cost vs cluster size: POP3 login+STAT latency and backend requests per login at 3, 12, 24 backends, placement powermail and rendezvous (R=2)", run: popLoginCost},
		scenario{name: "smtp-copies", desc: "copies per message of multi-recipient mail (the simulator's recipient counts) at 10 backends, R=2, placement powermail and rendezvous", run: smtpCopies},
		scenario{name: "smtp-under-auth-flood", desc: "SMTP delivery latency p50/p99 at 100 msg/s (R=2, 4 KiB), without and with a flood of wrong POP3 passwords from 19 other loopback addresses", run: smtpUnderAuthFlood},
	)
}

// smtpLoad is the common SMTP workload: one message per connection (as a
// remote MTA delivers), one recipient, fixed size, 100 mailboxes.
func smtpLoad(addr string, size, conc int, count int64, runID string) load.SMTPConfig {
	return load.SMTPConfig{Addr: addr, Helo: "loadgen.invalid", From: "loadgen@loadgen.invalid",
		Concurrency: conc, Count: count, PerConn: 1, Rcpts: 1,
		Mailboxes: gen.Mailboxes{N: smtpMailboxes}, RcptFormat: rcptFormat,
		Sizes: gen.Sizes{Dist: "fixed", Bytes: size}, Seed: 1, RunID: runID, Timeout: time.Minute}
}

const smtpMailboxes = 100

// smtpSample is the metrics of one SMTP run.
func smtpSample(res *load.Result) sample {
	return sample{"msgs_per_sec": res.MessagesPerSec, "mb_per_sec": res.MBPerSec,
		"p50_ms": res.Latency.P50, "p99_ms": res.Latency.P99, "p99_9_ms": res.Latency.P999,
		"max_ms": res.Latency.Max, "failed": float64(res.Failed),
		"loadgen_cpu_us_per_msg": res.CPU.PerMessageUs}
}
