package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"powermail/impl/devcluster"
	"powermail/loadgen/load"
)

// Peer is a Postfix + Dovecot pair set up by loadgen/peers/bench-peers.sh
// with the same mailboxes and passwords as peerUsers.
type Peer struct {
	SMTP    string // Postfix smtpd
	POP     string // Dovecot pop3
	Maildir string // virtual_mailbox_base: <Maildir>/example.com/<local>/
}

// Mailbox sets of the peer comparison, each "<prefix>N@example.com" with
// password "passN": SMTP load, POP 4 KiB, POP 512 KiB, the fan-out.
var peerSets = []struct {
	prefix string
	n      int
}{{"user", 100}, {"pop", 40}, {"pbig", 16}}

// PeerUsers are the mailboxes both sides must have.
func PeerUsers() []devcluster.User {
	var us []devcluster.User
	for _, s := range peerSets {
		for i := range s.n {
			us = append(us, devcluster.User{Name: fmt.Sprintf("%s%d@example.com", s.prefix, i), Password: fmt.Sprintf(passFormat, i)})
		}
	}
	return us
}

// side is one system under test.
type side struct {
	name      string
	smtp, pop string
	settle    func(ctx context.Context, prefix string, want int) error
	// userMessages counts what its SMTP accepted for the user* mailboxes
	// so far (settle waits for all of them).
	userMessages *int
}

// RunPeers measures ours (a fresh R=2, W=2 cluster) and the peer with the
// same loadgen workloads, alternating runs so that both see the same
// machine load, and writes peers.json with the ratios ours/theirs.
func RunPeers(ctx context.Context, opt Options, p Peer) error {
	e := &env{opt: opt, results: map[string]*Result{}, run: newRunInfo()}
	if e.opt.Runs <= 0 {
		e.opt.Runs = 3
	}
	if e.opt.MinIdlePct == 0 {
		e.opt.MinIdlePct = defaultMinIdlePct
	}
	if e.opt.QuietWait == 0 {
		e.opt.QuietWait = defaultQuietWait
	}
	work, err := os.MkdirTemp(opt.WorkDir, "pmpeers-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	e.opt.WorkDir = work
	c, err := devcluster.Start(ctx, devcluster.Options{BinDir: opt.BinDir, Dir: filepath.Join(work, "ours"),
		Backends: 3, Redundancy: 2, WriteQuorum: 2, Users: PeerUsers(),
		ExtraSMTP: []string{"-max-connections-per-ip", frontConnsPerIP},
		ExtraPOP:  []string{"-max-connections-per-ip", frontConnsPerIP}, StartTimeout: time.Minute})
	if err != nil {
		return err
	}
	defer stopCluster(c)
	time.Sleep(2 * devcluster.HealthInterval)
	localPOP, proc, err := startLocalPOP(c)
	if err != nil {
		return err
	}
	defer proc.Stop()
	var oursSent, theirsSent int
	noSettle := func(context.Context, string, int) error { return nil }
	ours := side{name: "powermail", smtp: c.SMTPAddr, pop: c.POPAddr, settle: noSettle, userMessages: &oursSent}
	theirs := side{name: "postfix+dovecot", smtp: p.SMTP, pop: p.POP, userMessages: &theirsSent,
		settle: func(ctx context.Context, prefix string, want int) error {
			return waitMaildir(ctx, p.Maildir, prefix, want)
		}}
	oursLocal := side{name: "powermail-local-stores", smtp: c.SMTPAddr, pop: localPOP, settle: noSettle, userMessages: &oursSent}
	out := map[string]any{"workloads": peerWorkloads, "runs": e.opt.Runs, "run": e.run,
		"ours":         "PowerMail, 3 backends, R=2, W=2 (two durable copies before 250); POP3 through the backends",
		"ours_local":   "the same cluster, POP3 from a powerpop with local-stores (reads the co-located stores itself)",
		"theirs":       "Postfix 3.7 (virtual, Maildir) + Dovecot 2.3 (POP3, high-performance login mode), Debian packages, configs in results/peers-config/ (one durable copy)",
		"min_idle_pct": e.opt.MinIdlePct}
	for _, cmp := range peerComparisons() {
		e.logf("peers: %s", cmp.name)
		r, err := cmp.run(ctx, e, []side{ours, theirs, oursLocal})
		if err != nil {
			return fmt.Errorf("%s: %w", cmp.name, err)
		}
		out[cmp.name] = r
	}
	fan, err := postfixFanout(ctx, theirs, p.Maildir)
	if err != nil {
		return err
	}
	out["fanout_100_rcpts_postfix"] = fan
	out["machine"] = describeNow(opt)
	out["forced_on_busy_machine"] = e.busy
	return writeJSON(filepath.Join(opt.OutDir, "peers.json"), out)
}

const peerWorkloads = "SMTP: one message per connection, closed loop, 1 recipient of 100 mailboxes, 16 or 32 sessions (4 KiB) and 8 (512 KiB), " +
	"6 s runs timed end to end. POP3: 8 sessions, USER/PASS, UIDL, RETR all + content verification, no DELE, 6 s runs; " +
	"mailboxes filled through each side's own SMTP. Sides alternate, each run after the machine is quiet."

// startLocalPOP starts a second powerpop on the cluster that reads every
// backend's store itself (local-stores); the caller stops it.
func startLocalPOP(c *devcluster.Cluster) (string, *devcluster.Proc, error) {
	var local []string
	for _, b := range c.Backends {
		local = append(local, b.Addr+"="+b.Root)
	}
	return c.StartExtraPOP("powerpop-local", "-local-stores", strings.Join(local, ","))
}

// waitMaildir waits until Postfix has delivered want messages into the
// Maildirs of mailboxes named prefix* (its 250 only means queued).
func waitMaildir(ctx context.Context, base, prefix string, want int) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		n := 0
		dirs, _ := filepath.Glob(filepath.Join(base, "example.com", prefix+"[0-9]*"))
		for _, d := range dirs {
			for _, sub := range []string{"new", "cur"} {
				filepath.WalkDir(filepath.Join(d, sub), func(_ string, de fs.DirEntry, err error) error {
					if err == nil && de.Type().IsRegular() {
						n++
					}
					return nil
				})
			}
		}
		if n >= want {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("postfix delivered %d of %d messages to %s*", n, want, prefix)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func describeNow(opt Options) any {
	return map[string]any{"time": time.Now().UTC(), "note": opt.Note}
}

// postfixFanout sends one message to 100 recipients through Postfix and
// counts the files it created (our side is smtp-100-rcpts).
func postfixFanout(ctx context.Context, s side, base string) (map[string]any, error) {
	before, err := takeCensusAll(filepath.Join(base, "example.com"))
	if err != nil {
		return nil, err
	}
	cfg := smtpLoad(s.smtp, 4<<10, 1, 1, "peerfan")
	cfg.Rcpts, cfg.Mailboxes.N, cfg.RcptFormat = 100, 100, "user%d@example.com"
	res, err := load.RunSMTP(ctx, cfg)
	if err != nil || res.Ops != 1 {
		return nil, fmt.Errorf("fan-out message not accepted: %v %v", err, res.Errors)
	}
	time.Sleep(5 * time.Second) // delivery to 100 Maildirs is asynchronous
	after, err := takeCensusAll(filepath.Join(base, "example.com"))
	if err != nil {
		return nil, err
	}
	return map[string]any{"files": after - before, "recipients": 100}, nil
}

// takeCensusAll counts regular files (distinct inodes) under dir.
func takeCensusAll(dir string) (int, error) {
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			seen[path] = true
		}
		return err
	})
	return len(seen), err
}
