package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"powermail/impl/devcluster"
	"powermail/loadgen/load"
	"powermail/loadgen/pop3c"
)

// smtp-under-auth-flood (issue 14, item 6): a failed POP3 login costs an
// argon2id verification (~55 ms of CPU), and powersmtp shares the machine
// with powerpop. The userbase bounds the verifications running at once
// (auth-verify-busy-percent and its neighbours); this scenario measures
// whether that is enough: SMTP delivery latency at a modest open-loop rate,
// without and then with a flood of wrong passwords from other addresses.

// The flood: floodConnsPerSource connections from each of floodSources
// loopback addresses (127.0.0.2 and up; 127.0.0.1 is the SMTP load's),
// each sending USER and a wrong PASS again and again, as fast as powerpop
// answers (its login penalties delay each reply) and admits them (its
// default per-address limit, 20, applies: this scenario does not lift it).
const (
	floodSources        = 19 // 127.0.0.2 .. 127.0.0.20
	floodConnsPerSource = 8
	// floodTimeout bounds one reply; a penalty is at most auth-delay-max
	// (15 s by default).
	floodTimeout = 30 * time.Second
	// floodRetryPause spaces the connection attempts of a flooder whose
	// last one was refused, so that it does not spin on its own CPU.
	floodRetryPause = 10 * time.Millisecond
	// authFloodRate is the SMTP load's offered rate (messages/s).
	authFloodRate = 100.0
)

func smtpUnderAuthFlood(ctx context.Context, e *env) (*Result, error) {
	users := pick(e, smtpMailboxes, 10)
	defaultPOPLimits := func(o *devcluster.Options) { o.ExtraPOP = nil }
	c, err := e.startCluster(ctx, "smtp-under-auth-flood", 2, users, true, defaultPOPLimits)
	if err != nil {
		return nil, err
	}
	defer stopCluster(c)
	dur := pick(e, 10*time.Second, time.Second)
	warmup := pick(e, 3*time.Second, 500*time.Millisecond)
	samples := make([]sample, e.opt.Runs)
	var raw []any
	for i := range samples {
		quiet, err := authFloodSMTP(ctx, c, users, dur, fmt.Sprintf("quiet-%d", i))
		if err != nil {
			return nil, err
		}
		f := &authFlood{addr: c.POPAddr, users: users, pids: [3]int{c.POP().Pid(), c.SMTP().Pid(), os.Getpid()}}
		stop := f.start(ctx)
		time.Sleep(warmup) // the flood reaches its steady state (penalties at their cap)
		before := f.snapshot()
		flooded, err := authFloodSMTP(ctx, c, users, dur, fmt.Sprintf("flood-%d", i))
		end := f.snapshot()
		stop()
		if err != nil {
			return nil, err
		}
		during := end.minus(before)
		samples[i] = authFloodSample(quiet, flooded, during)
		// With the warm-up: the rate alone can be 0 in a quick run, when
		// every flooder waits out a penalty longer than the SMTP run.
		samples[i]["flood_attempted_total"] = float64(end.Attempted)
		raw = append(raw, quiet, flooded, during)
	}
	r := aggregate(map[string]any{"redundancy": 2, "size_bytes": 4096, "mailboxes": users,
		"smtp_rate_per_sec": authFloodRate, "smtp_duration": dur.String(), "sessions": openLoopSessions,
		"flood_sources": fmt.Sprintf("127.0.0.2-127.0.0.%d", floodSources+1), "flood_conns_per_source": floodConnsPerSource,
		"flood_warmup": warmup.String(), "password_hash": "argon2id (default parameters)"}, samples, raw)
	r.Notes = append(r.Notes, "SMTP latency counts from each message's intended (Poisson) send time and includes connecting; "+
		"*_flood: the same SMTP run while the flood runs; flood_* count the flood during that run only",
		"powerpop keeps its default limits (20 connections per address, login penalties up to auth-delay-max): "+
			"answered logins are what it lets through; sys_temp are replies -ERR [SYS/TEMP] (password checks busy)")
	return r, nil
}

// authFloodSMTP is one open-loop SMTP run at authFloodRate.
func authFloodSMTP(ctx context.Context, c *devcluster.Cluster, users int, dur time.Duration, runID string) (*load.Result, error) {
	cfg := smtpLoad(c.SMTPAddr, 4<<10, openLoopSessions, 0, runID)
	cfg.Rate, cfg.Duration, cfg.Mailboxes.N = authFloodRate, dur, users
	res, err := load.RunSMTP(ctx, cfg)
	if err == nil && res.Messages == 0 {
		err = fmt.Errorf("SMTP run %s delivered nothing: %v", runID, res.Errors)
	}
	return res, err
}

func authFloodSample(quiet, flooded *load.Result, f floodCounts) sample {
	s := sample{
		"p50_ms": quiet.Latency.P50, "p99_ms": quiet.Latency.P99,
		"p50_ms_flood": flooded.Latency.P50, "p99_ms_flood": flooded.Latency.P99,
		"failed":                  float64(quiet.Failed + quiet.Unsent),
		"failed_flood":            float64(flooded.Failed + flooded.Unsent),
		"flood_attempted_per_sec": float64(f.Attempted) / f.Seconds,
		"flood_answered_per_sec":  float64(f.Answered) / f.Seconds,
		"flood_sys_temp":          float64(f.SysTemp),
		"flood_refused_conns":     float64(f.Refused),
		// Where the CPU went while both ran (cores: CPU seconds per second).
		"powerpop_cores_flood":  f.CPUSec[0] / f.Seconds,
		"powersmtp_cores_flood": f.CPUSec[1] / f.Seconds,
		"loadgen_cores_flood":   f.CPUSec[2] / f.Seconds,
	}
	if quiet.Latency.P50 > 0 && quiet.Latency.P99 > 0 {
		s["p50_ratio"] = flooded.Latency.P50 / quiet.Latency.P50
		s["p99_ratio"] = flooded.Latency.P99 / quiet.Latency.P99
	}
	return s
}

// authFlood is the password-guessing flood against powerpop at addr.
type authFlood struct {
	addr  string
	users int    // it guesses at user0..user<users-1>, which exist
	pids  [3]int // powerpop, powersmtp and this process, whose CPU time snapshot reads

	attempted atomic.Int64 // PASS sent
	answered  atomic.Int64 // PASS answered (-ERR)
	sysTemp   atomic.Int64 // of which -ERR [SYS/TEMP]
	refused   atomic.Int64 // connections refused or closed at the greeting
}

// floodCounts is what the flood did over some time.
type floodCounts struct {
	Seconds   float64 `json:"flood_seconds"`
	Attempted int64   `json:"flood_attempted"`
	Answered  int64   `json:"flood_answered"`
	SysTemp   int64   `json:"flood_sys_temp"`
	Refused   int64   `json:"flood_refused_conns"`
	// CPUSec: of powerpop, powersmtp and loadgen (the flood and the SMTP
	// load share the machine with the daemons).
	CPUSec [3]float64 `json:"cpu_seconds_pop_smtp_loadgen"`
	at     time.Time
}

func (f *authFlood) snapshot() floodCounts {
	c := floodCounts{Attempted: f.attempted.Load(), Answered: f.answered.Load(),
		SysTemp: f.sysTemp.Load(), Refused: f.refused.Load(), at: time.Now()}
	for i, pid := range f.pids {
		c.CPUSec[i], _ = procCPUSec(pid) // 0 if unreadable: the share reads 0, nothing else is wrong
	}
	return c
}

func (c floodCounts) minus(o floodCounts) floodCounts {
	d := floodCounts{Seconds: c.at.Sub(o.at).Seconds(), Attempted: c.Attempted - o.Attempted,
		Answered: c.Answered - o.Answered, SysTemp: c.SysTemp - o.SysTemp, Refused: c.Refused - o.Refused, at: c.at}
	for i := range d.CPUSec {
		d.CPUSec[i] = c.CPUSec[i] - o.CPUSec[i]
	}
	return d
}

// start runs the flood until the returned stop is called; stop returns
// once every flooder has ended.
func (f *authFlood) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for s := range floodSources {
		src := fmt.Sprintf("127.0.0.%d", s+2)
		for k := range floodConnsPerSource {
			wg.Go(func() { f.flooder(ctx, src, s*floodConnsPerSource+k) })
		}
	}
	return func() { cancel(); wg.Wait() }
}

// flooder connects from src again and again until ctx ends.
func (f *authFlood) flooder(ctx context.Context, src string, id int) {
	for guess := id; ctx.Err() == nil; {
		c, err := pop3c.DialFrom(ctx, src, f.addr, floodTimeout)
		if err != nil {
			f.refused.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(floodRetryPause):
			}
			continue
		}
		unhook := context.AfterFunc(ctx, c.Close) // ends a wait for a delayed reply
		guess = f.guess(c, guess)
		unhook()
		c.Close()
	}
}

// guess sends wrong passwords on c until powerpop closes it (after
// max-auth-failures) or it fails; it returns the next guess number.
func (f *authFlood) guess(c *pop3c.Client, n int) int {
	for ; ; n++ {
		if _, err := c.Cmd("USER", fmt.Sprintf("USER "+rcptFormat, n%f.users)); err != nil {
			return n
		}
		f.attempted.Add(1)
		_, err := c.Cmd("PASS", fmt.Sprintf("PASS wrong-%d", n))
		var reply *pop3c.Error
		if !errors.As(err, &reply) || reply.Net {
			return n + 1 // accepted (it cannot be) or the connection ended
		}
		f.answered.Add(1)
		if strings.HasPrefix(reply.Text, "-ERR [SYS/TEMP]") {
			f.sysTemp.Add(1)
		}
	}
}
