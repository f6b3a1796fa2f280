package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"powermail/impl/devcluster"
	"powermail/impl/placement"
)

// Config is one run: a cluster shape and the epochs to play on it.
type Config struct {
	Name         string  `json:"name"`
	Seed         uint64  `json:"seed"`
	BinDir       string  `json:"-"`
	Dir          string  `json:"-"` // working directory, wiped first
	Backends     int     `json:"backends"`
	R            int     `json:"r"`
	W            int     `json:"w"`
	Users        int     `json:"users"`
	Epochs       []Epoch `json:"epochs"`
	MayLose      bool    `json:"may_lose"` // expected: acknowledged mail may be lost (W=1 and a lost disk)
	MayResurrect bool    `json:"may_resurrect"`
	Expect       string  `json:"expect,omitempty"` // the outcome this configuration allows, in words
	// Broken is GO_FAILPOINTS ("name=terms;...") set in every process in
	// every epoch: a deliberately broken build, for the checker's own test.
	Broken string `json:"broken,omitempty"`
	// PowerFS puts every backend's store on its own powercut disk (a FUSE
	// file system that loses what was not fsynced): a PowerCut then cuts
	// the power for real, and a last cut after the final epoch leaves the
	// final read only what was durable.
	PowerFS bool `json:"power_fs,omitempty"`
	// Placement is the front ends' and repair's placement ("" is
	// PowerMail's). Under rendezvous, every epoch of a run gives the
	// backends new addresses (each epoch's fault proxies), and a backend's
	// address is its name in the placement: the placement history then
	// holds addresses no longer configured, and logins list the deeper
	// ranks too, as they do for a backend removed before a rebalance.
	Placement placement.Policy `json:"placement,omitempty"`
}

// tombstonesNeeded is how many tombstones acknowledged delete d must still
// have at the end: R, less one per disk lost in its epoch or after.
func (cfg Config) tombstonesNeeded(d DeleteRecord) int {
	n := cfg.R
	for _, ep := range cfg.Epochs[min(d.Epoch, len(cfg.Epochs)):] {
		for _, f := range ep.Faults {
			if f.Class == DiskLoss {
				n--
			}
		}
	}
	return n
}

// Epoch is one life of the cluster: traffic for DurationMs while Faults
// fire (backend faults in order at their offsets; at most one front-end
// fault, armed at start).
type Epoch struct {
	DurationMs int64   `json:"duration_ms"`
	Faults     []Fault `json:"faults"`
}

// Front-end timeouts for chaos: short, so that a fault costs a 451 soon
// rather than a client timeout.
var frontFlags = []string{"-backend-io-timeout", "2s", "-backend-dial-timeout", "1s"}

func (cfg Config) options(dir string) devcluster.Options {
	var users []devcluster.User
	for i := 0; i < cfg.Users; i++ {
		users = append(users, devcluster.User{Name: fmt.Sprintf("u%d@example.com", i), Password: fmt.Sprintf("pw-%d", i)})
	}
	smtp := append([]string{"-userbase-cache-positive-ttl", "0s"}, frontFlags...)
	return devcluster.Options{BinDir: cfg.BinDir, Dir: dir, Backends: cfg.Backends, Redundancy: cfg.R,
		WriteQuorum: cfg.W, Users: users, ExtraSMTP: smtp, ExtraPOP: frontFlags, StartTimeout: 30 * time.Second,
		Placement: cfg.Placement}
}

// Run plays cfg and checks the outcome.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := os.RemoveAll(cfg.Dir); err != nil {
		return nil, err
	}
	opt := cfg.options(filepath.Join(cfg.Dir, "cluster"))
	ds, err := mountDisks(cfg, opt)
	if err != nil {
		return nil, err
	}
	defer ds.close()
	start := time.Now()
	h := &history{seed: cfg.Seed, users: opt.Users, backendOf: map[string]int{}, start: start}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x63686173))
	for i := range cfg.Epochs {
		h.epoch = i
		if err := runEpoch(ctx, opt, &cfg.Epochs[i], cfg.Broken, ds, h, rng); err != nil {
			return nil, fmt.Errorf("epoch %d: %w", i, err)
		}
	}
	if err := ds.cut(); err != nil { // the cluster is down: a last cut, while idle
		return nil, fmt.Errorf("final power cut: %w", err)
	}
	counts, copies, err := recoverAndCheck(ctx, opt, cfg, h)
	if err != nil {
		return nil, err
	}
	rep := newReport(cfg, h, counts, copies, time.Since(start))
	rep.Disks = ds.stats()
	return rep, nil
}

// recoverAndCheck restarts the cluster cleanly, checks the history
// against the final read, measures redundancy, then repairs and measures
// it again.
func recoverAndCheck(ctx context.Context, opt devcluster.Options, cfg Config, h *history) (Counts, []Copy, error) {
	r := cfg.R
	dc, err := devcluster.Start(ctx, opt)
	if err != nil {
		return Counts{}, nil, fmt.Errorf("final start: %w", err)
	}
	defer dc.Close()
	copies, tmpLeft, err := finalRead(dc, opt.Users)
	if err != nil {
		return Counts{}, nil, fmt.Errorf("final read: %w", err)
	}
	orphans, err := readOrphans(opt.Dir)
	if err != nil {
		return Counts{}, nil, err
	}
	counts := Check(h.sends, h.deletes, copies)
	counts.TmpLeft = tmpLeft
	counts.TopChecked, counts.TopWrong = int(h.topChecked.Load()), int(h.topWrong.Load())
	counts.UnderReplicated = underReplicated(h.sends, copies, replicaCounts(backendRoots(dc)), r)
	counts.TombstonesBelowR = tombstonesBelow(h.deletes, tombstoneCounts(backendRoots(dc)), cfg.tombstonesNeeded)
	if err := restoreRedundancy(ctx, dc, r, opt.Placement, h, orphans, copies, &counts); err != nil {
		return Counts{}, nil, fmt.Errorf("repair: %w", err)
	}
	return counts, copies, nil
}

// runEpoch starts the cluster, runs traffic and the epoch's faults, stops it.
func runEpoch(ctx context.Context, opt devcluster.Options, ep *Epoch, broken string, ds disks, h *history, rng *rand.Rand) error {
	var front, brokenTerms []string
	if broken != "" {
		brokenTerms = strings.Split(broken, ";")
		front = append(front, brokenTerms...)
	}
	for _, f := range ep.Faults {
		if t := f.frontTerms(); t != "" {
			front = append(front, t)
		}
	}
	if slices.ContainsFunc(ep.Faults, Fault.isClock) {
		opt.ExtraBackend = append(slices.Clone(opt.ExtraBackend), clockFlags...)
	}
	c, err := startCluster(ctx, opt, strings.Join(front, ";"), brokenTerms, ds)
	if err != nil {
		return err
	}
	defer c.close()
	for i, b := range c.Backends {
		h.backendOf[b.Addr], h.backendOf[c.proxies[i].Addr()] = i, i
	}
	tctx, stop := context.WithTimeout(ctx, time.Duration(ep.DurationMs)*time.Millisecond)
	defer stop()
	refusedBefore := h.refusals()
	done := make(chan struct{})
	go func() { h.run(tctx, c.SMTPAddr, c.POPAddr, rng); close(done) }()
	begin := time.Now()
	for i := range ep.Faults {
		f := &ep.Faults[i]
		if f.Target < 0 {
			continue
		}
		sleep(tctx, time.Until(begin.Add(time.Duration(f.AtMs)*time.Millisecond)))
		if tctx.Err() != nil {
			f.Err = "epoch ended first"
			continue
		}
		fired, err := c.inject(tctx, *f)
		f.Fired = fired
		if err != nil {
			f.Err = err.Error()
		}
	}
	watchFronts(tctx, c, stop)
	<-done
	markFrontFaults(ctx, ep, c, h.refusals() > refusedBefore)
	return nil
}

// watchFronts ends the epoch early when powersmtp died (a front-end crash
// fault fired): the rest of the epoch would only count refused connections.
func watchFronts(ctx context.Context, c *cluster, stop func()) {
	for ctx.Err() == nil {
		if c.SMTP().Exited() {
			time.Sleep(time.Second) // let the clients see the reset
			stop()
			return
		}
		sleep(ctx, 50*time.Millisecond)
	}
}

// markFrontFaults records which front-end faults took effect: a crash
// fired when the process is gone; a userbase outage when some mail got
// a 4xx (it must never be a 5xx: the checker counts those); a clock jump
// when the daemon counted one (powermail_wall_clock_jumps_total).
func markFrontFaults(ctx context.Context, ep *Epoch, c *cluster, refused bool) {
	for i := range ep.Faults {
		f := &ep.Faults[i]
		switch {
		case f.Class == SMTPCrash:
			f.Fired = c.SMTP().Exited()
		case f.Class == POPCrash:
			f.Fired = c.POP().Exited()
		case f.Class == UserbaseDown:
			f.Fired = refused
		case f.isClock() && f.IsFront():
			f.Fired = c.clockJumped(ctx, f.Phase)
		}
	}
}

// clockJumped reports whether the front end whose clock failpoint is
// phase counted a jump of its wall clock.
func (c *cluster) clockJumped(ctx context.Context, phase string) bool {
	addr := c.SMTPMetrics
	if phase == ClockPhases["powerpop"] {
		addr = c.POPMetrics
	}
	m, err := devcluster.Scrape(ctx, addr)
	if err != nil || m["powermail_wall_clock_jumps_total"] == nil {
		return false
	}
	for _, x := range m["powermail_wall_clock_jumps_total"].GetMetric() {
		if x.GetCounter().GetValue() > 0 {
			return true
		}
	}
	return false
}

// finalRead reads every mailbox of the freshly restarted cluster dc
// through POP and counts what recovery left in tmp/.
func finalRead(dc *devcluster.Cluster, users []devcluster.User) ([]Copy, int, error) {
	time.Sleep(settle)
	tmp := 0
	for _, b := range dc.Backends {
		ents, _ := os.ReadDir(filepath.Join(b.Root, "tmp"))
		tmp += len(ents)
	}
	copies, err := stableRead(dc.POPAddr, users)
	return copies, tmp, err
}

// stableRead reads every mailbox until two reads agree: a backend not yet
// seen healthy by powerpop would hide its messages.
func stableRead(addr string, users []devcluster.User) ([]Copy, error) {
	var prev []Copy
	for attempt := 0; attempt < maxFinalReads; attempt++ {
		copies, err := readAll(addr, users)
		if err != nil {
			return nil, err
		}
		if attempt > 0 && sameCopies(prev, copies) {
			return copies, nil
		}
		prev = copies
		time.Sleep(settle)
	}
	return nil, fmt.Errorf("no two of %d reads agree", maxFinalReads)
}

// maxFinalReads bounds the reads of finalRead.
const maxFinalReads = 4

func readAll(addr string, users []devcluster.User) ([]Copy, error) {
	var copies []Copy
	for _, u := range users {
		cps, err := readMailbox(addr, u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", u.Name, err)
		}
		copies = append(copies, cps...)
	}
	return copies, nil
}

func sameCopies(a, b []Copy) bool {
	count := map[string]int{}
	for _, c := range a {
		count[c.Box+" "+c.UID]++
	}
	for _, c := range b {
		count[c.Box+" "+c.UID]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// readMailbox retrieves every message of u without deleting any.
func readMailbox(addr string, u devcluster.User) ([]Copy, error) {
	p, err := popLogin(addr, u.Name, u.Password)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	list, err := p.uidl()
	if err != nil {
		return nil, err
	}
	var out []Copy
	for n, uid := range list {
		stored, err := p.retr(n)
		if err != nil {
			return nil, fmt.Errorf("RETR %d: %w", n, err)
		}
		out = append(out, Copy{Box: u.Name, UID: uid, ChaosID: chaosID(stored), Stored: stored, Pos: n})
	}
	return out, p.quit()
}
