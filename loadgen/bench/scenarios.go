package bench

import (
	"context"
	"time"

	"powermail/loadgen/gen"
	"powermail/loadgen/load"
)

// scenario is one named measurement.
type scenario struct {
	name string
	desc string
	run  func(context.Context, *env) (*Result, error)
}

func scenarios() []scenario {
	var s []scenario
	for _, r := range []int{1, 2, 3} {
		s = append(s, smtpThroughput(r, 4<<10, 16), smtpThroughput(r, 4<<10, 32), smtpThroughput(r, 512<<10, 8))
	}
	return append(s,
		scenario{"smtp-latency", "open loop at fractions of the R=2 4 KiB maximum rate: accept latency from the intended send time", smtpLatency},
		scenario{"smtp-100-rcpts", "one 4 KiB message to 100 recipients at R=2: files, inodes and bytes on each backend, bytes and PREPAREs sent to backends", smtp100Rcpts},
		popRetr(4<<10), popRetr(512<<10),
		scenario{"pop3-logins", "POP3 sessions USER/PASS/STAT/QUIT per second (R=2, userbase auth cache on: the default)", popLogins},
		scenario{"userbase-lookup", "recipient lookups/s against the userbase engine, caches off: embedded SQLite vs MariaDB", userbaseLookup},
		scenario{"pop3-login-cost", "login cost vs cluster size: POP3 login+STAT latency and backend requests per login at 3, 12, 24 backends, placement powermail and rendezvous (R=2)", popLoginCost},
		scenario{"smtp-copies", "copies per message of multi-recipient mail (the simulator's recipient counts) at 10 backends, R=2, placement powermail and rendezvous", smtpCopies},
		scenario{"smtp-under-auth-flood", "SMTP delivery latency p50/p99 at 100 msg/s (R=2, 4 KiB), without and with a flood of wrong POP3 passwords from 19 other loopback addresses", smtpUnderAuthFlood},
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
