package bench

import (
	"context"
	"fmt"
	"time"

	"powermail/impl/devcluster"
	"powermail/loadgen/load"
)

// popSessions is the POP3 concurrency of every POP scenario (and of the
// peer comparison).
const popSessions = 8

// retrPasses is how often a retrieval run reads every mailbox.
const retrPasses = 5

func popRetr(size int) scenario {
	name := fmt.Sprintf("pop3-retr-%dk", size>>10)
	desc := fmt.Sprintf("POP3 RETR of every message of each mailbox (%d KiB messages, R=2, %d sessions, content verified)", size>>10, popSessions)
	return scenario{name: name, desc: desc, run: func(ctx context.Context, e *env) (*Result, error) {
		users, perUser := pick(e, 40, 16), pick(e, 50, 10)
		if size > 64<<10 {
			users, perUser = pick(e, 16, 8), pick(e, 16, 2)
		}
		// Each run reads every mailbox several times (no DELE), so that a
		// run lasts seconds, not a fraction of one.
		passes := pick(e, retrPasses, 1)
		c, err := e.startCluster(ctx, name, 2, users, true)
		if err != nil {
			return nil, err
		}
		defer stopCluster(c)
		if err := populate(ctx, c, users, perUser, size); err != nil {
			return nil, err
		}
		localAddr, local, err := startLocalPOP(c)
		if err != nil {
			return nil, err
		}
		defer local.Stop()
		for _, addr := range []string{c.POPAddr, localAddr} {
			if _, err := warmLogins(ctx, c, addr, users); err != nil {
				return nil, err
			}
		}
		var samples []sample
		var raw []any
		for range e.opt.Runs {
			s, runs, err := popRetrRun(ctx, e, c, localAddr, users, passes)
			if err != nil {
				return nil, err
			}
			samples, raw = append(samples, s), append(raw, runs...)
		}
		r := aggregate(map[string]any{"redundancy": 2, "size_bytes": size, "mailboxes": users,
			"messages_per_mailbox": perUser, "passes_per_run": passes, "sessions": popSessions, "verify": true,
			"run_seconds": popRunDuration.Seconds(), "local_stores": "a second powerpop reading the stores itself (*_local_stores)"},
			samples, raw)
		e.bindPOP(r, size)
		return r, nil
	}}
}

// popRunDuration is the length of each retrieval run (>= 5 s: issue 17).
const popRunDuration = 6 * time.Second

// popRetrRun is one run of a retrieval scenario: through the backends
// (verified, then not: verifying costs loadgen CPU on the same two cores),
// and through the powerpop with local-stores, with the daemons' CPU per
// message of each.
func popRetrRun(ctx context.Context, e *env, c *devcluster.Cluster, localAddr string, users, passes int) (sample, []any, error) {
	s := sample{}
	var raw []any
	for _, v := range []struct {
		suffix, addr string
		verify       bool
	}{{"", c.POPAddr, true}, {"_unverified", c.POPAddr, false}, {"_local_stores", localAddr, true}} {
		cfg := popLoad(c, users, v.verify, true)
		cfg.Addr = v.addr
		if e.opt.Quick {
			cfg.Sessions = int64(users * passes)
		} else {
			cfg.Duration = popRunDuration
		}
		meter, err := startMeter(c)
		if err != nil {
			return nil, nil, err
		}
		res, err := load.RunPOP(ctx, cfg)
		if err == nil && (res.Failed > 0 || res.Verify != nil && res.Verify.Corrupt > 0) {
			err = fmt.Errorf("POP3 run failed: errors %v, verify %+v", res.Errors, res.Verify)
		}
		if err != nil {
			return nil, nil, err
		}
		cost, err := meter.perMessage(res.Messages)
		if err != nil {
			return nil, nil, err
		}
		s["msgs_per_sec"+v.suffix], s["mb_per_sec"+v.suffix] = res.MessagesPerSec, res.MBPerSec
		s["retr_p50_ms"+v.suffix], s["retr_p99_ms"+v.suffix] = res.RetrLatency.P50, res.RetrLatency.P99
		s["loadgen_cpu_us_per_msg"+v.suffix] = res.CPU.PerMessageUs
		s["cpu_us_per_msg_daemons"+v.suffix] = cost["cpu_us_per_msg_daemons"]
		raw = append(raw, res)
	}
	return s, raw, nil
}

// bindPOP relates RETR to loopback sendfile of the same file size.
func (e *env) bindPOP(r *Result, size int) {
	for _, s := range e.limits.Sendfile {
		if s.FileBytes == size {
			r.bind("msgs_per_sec", fmt.Sprintf("sendfile of %d KiB files, %d connections (requests/s)", size>>10, s.Conns), s.ReqPerSec)
			r.bind("mb_per_sec", fmt.Sprintf("sendfile of %d KiB files, %d connections (MB/s)", size>>10, s.Conns), s.MBPerSec)
			r.bind("mb_per_sec_unverified", fmt.Sprintf("sendfile of %d KiB files, %d connections (MB/s)", size>>10, s.Conns), s.MBPerSec)
			r.bind("mb_per_sec_local_stores", fmt.Sprintf("sendfile of %d KiB files, %d connections (MB/s)", size>>10, s.Conns), s.MBPerSec)
		}
	}
	for _, s := range e.limits.TwoHop {
		if s.FileBytes == size {
			r.bind("msgs_per_sec", fmt.Sprintf("two-hop sendfile+splice of %d KiB files, %d connections (requests/s)", size>>10, s.Conns), s.ReqPerSec)
			r.bind("mb_per_sec", fmt.Sprintf("two-hop sendfile+splice of %d KiB files, %d connections (MB/s)", size>>10, s.Conns), s.MBPerSec)
		}
	}
}

func popLoad(c *devcluster.Cluster, users int, verify, retr bool) load.POPConfig {
	return load.POPConfig{Addr: c.POPAddr, Concurrency: popSessions, Users: users,
		UserFormat: rcptFormat, PassFormat: passFormat, Retr: retr, Verify: verify && retr}
}

// populate delivers users*perUser messages, spread evenly, through SMTP.
func populate(ctx context.Context, c *devcluster.Cluster, users, perUser, size int) error {
	cfg := smtpLoad(c.SMTPAddr, size, 8, int64(users*perUser), "fill")
	cfg.PerConn, cfg.Mailboxes.N = 50, users
	res, err := load.RunSMTP(ctx, cfg)
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("populating mailboxes: %d failed: %v", res.Failed, res.Errors)
	}
	return nil
}

func popLogins(ctx context.Context, e *env) (*Result, error) {
	const users = 50
	c, err := e.startCluster(ctx, "pop3-logins", 2, users, true)
	if err != nil {
		return nil, err
	}
	defer stopCluster(c)
	sessions := int64(pick(e, 3000, 200))
	cold, err := warmLogins(ctx, c, c.POPAddr, users)
	if err != nil {
		return nil, err
	}
	var samples []sample
	var raw []any
	for range e.opt.Runs {
		cfg := popLoad(c, users, false, false)
		cfg.Sessions = sessions
		res, err := load.RunPOP(ctx, cfg)
		if err != nil {
			return nil, err
		}
		if res.Failed > 0 {
			return nil, fmt.Errorf("POP3 logins failed: %v", res.Errors)
		}
		samples = append(samples, sample{"logins_per_sec": res.OpsPerSec, "session_p50_ms": res.Latency.P50,
			"session_p99_ms": res.Latency.P99, "loadgen_cpu_us_per_session": res.CPU.PerMessageUs})
		raw = append(raw, res)
	}
	r := aggregate(map[string]any{"redundancy": 2, "mailboxes": users, "sessions_per_run": sessions,
		"concurrency": popSessions, "password_hash": "argon2id (default parameters)"}, samples, raw)
	r.Notes = append(r.Notes, fmt.Sprintf("first login of each mailbox (argon2id verification, before the measured runs): %.1f logins/s, p50 %.0f ms", cold.OpsPerSec, cold.Latency.P50),
		"each session: connect, USER, PASS, STAT (opens the merged maildrop on R backends), QUIT; the userbase remembers successful password checks (auth-cache-ttl default), as POP clients poll with the same password")
	return r, nil
}

// warmLogins logs in to every mailbox once, so that measured runs see the
// steady state of a POP server whose clients poll (the userbase remembers a
// verified password for auth-cache-ttl); it returns that cold pass.
func warmLogins(ctx context.Context, c *devcluster.Cluster, addr string, users int) (*load.Result, error) {
	cfg := popLoad(c, users, false, false)
	cfg.Addr = addr
	res, err := load.RunPOP(ctx, cfg)
	if err == nil && res.Failed > 0 {
		err = fmt.Errorf("warm-up logins failed: %v", res.Errors)
	}
	return res, err
}
