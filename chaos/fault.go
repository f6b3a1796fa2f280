package chaos

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Fault classes (see the package doc for the F-numbers).
const (
	Kill      = "kill"
	Crash     = "crash" // kill -9 from inside a backend at Phase
	FsyncEIO  = "fsync-eio"
	ENOSPC    = "enospc"
	SlowDisk  = "slow-disk"
	Partition = "partition"
	ConnReset = "reset"
	Pause     = "pause"
	DiskLoss  = "disk-loss"
	PowerCut  = "power-cut" // every backend at once: kill -9, and what was not fsynced is gone
	// Front-end faults: set at the start of an epoch (GO_FAILPOINTS).
	SMTPCrash    = "smtp-crash" // powersmtp kills itself at Phase
	POPCrash     = "pop-crash"  // powerpop kills itself in the middle of a delete
	UserbaseDown = "userbase-down"
	// F9: the wall clock of one daemon (Phase: its clock failpoint) jumps
	// by clockJumpMs, and jumps back to the right time later: ForMs later
	// on a backend, after clockReads readings on a front end.
	ClockBack    = "clock-back"    // back first, then forward again
	ClockForward = "clock-forward" // forward first, then back again
)

// Failpoint names (package path + marker name).
const (
	fpStore    = "powermail/impl/store/"
	fpListener = "powermail/impl/internal/ppserver/"
	fpDelivery = "powermail/impl/internal/delivery/"
	fpMaildrop = "powermail/impl/internal/maildrop/"
	fpUserbase = "powermail/impl/userbase/"
	fpSMTPD    = "powermail/impl/internal/smtpd/"
	fpPOP3D    = "powermail/impl/internal/pop3d/"
)

// ClockPhases are the wall-clock failpoints of powersmtp, powerpop and
// pplistener (fault F9), by daemon.
var ClockPhases = map[string]string{
	"powersmtp":  fpSMTPD + "clock",
	"powerpop":   fpPOP3D + "clock",
	"pplistener": fpListener + "clock",
}

// A clock jump is larger than the tombstone TTL of the epochs that have
// one (clockFlags), so that a jump forward that a backend believed would
// expire every tombstone at its next expiry round, one second later.
const (
	clockJumpMs = 3 * 3600 * 1000
	clockTTL    = "1h"
)

// clockFlags are the backends' extra flags in an epoch with a clock jump.
var clockFlags = []string{"-tombstone-ttl", clockTTL, "-tombstone-expire-interval", "1s"}

// clockReads is how many readings of a front end's clock stay shifted:
// powersmtp reads it once per message, powerpop once per login.
var clockReads = map[string]int{fpSMTPD + "clock": 150, fpPOP3D + "clock": 6}

// isClock reports whether f is a clock jump (F9).
func (f Fault) isClock() bool { return f.Class == ClockBack || f.Class == ClockForward }

// shiftMs is the first jump of a clock fault, in milliseconds.
func (f Fault) shiftMs() int {
	if f.Class == ClockBack {
		return -clockJumpMs
	}
	return clockJumpMs
}

// IsFront reports whether f is armed in the front ends at the start of an
// epoch (GO_FAILPOINTS) rather than injected into a backend.
func (f Fault) IsFront() bool {
	switch f.Class {
	case SMTPCrash, POPCrash, UserbaseDown:
		return true
	}
	return f.isClock() && f.Phase != ClockPhases["pplistener"]
}

// BackendPhases are the phases (P3-P6) at which a backend can be killed
// from inside, by failpoint name.
var BackendPhases = []string{
	fpStore + "beforeFsync",          // P3 written, not fsynced
	fpStore + "beforeLink",           // P4 fsynced, not linked
	fpStore + "betweenLinks",         // P4 between two links
	fpStore + "beforeDirSync",        // P5 linked, directory not fsynced
	fpListener + "beforeCommitReply", // P6 committed, not acknowledged
}

// SMTPPhases are the phases at which powersmtp can be killed from inside.
var SMTPPhases = []string{
	fpDelivery + "beforeChunk",        // P2 frames in flight
	fpDelivery + "afterReplicaCommit", // P7 fewer than W acks held
	fpDelivery + "afterQuorum",        // P8 W acks, 250 not yet sent
}

// Fault is one scheduled fault and, after the run, what happened.
type Fault struct {
	Class  string `json:"class"`
	Phase  string `json:"phase,omitempty"`
	Target int    `json:"target"`          // backend index; -1 for the front ends
	AtMs   int64  `json:"at_ms"`           // offset into the epoch
	ForMs  int64  `json:"for_ms"`          // how long it lasts
	After  int    `json:"after,omitempty"` // front-end faults: evaluations before it fires
	Fired  bool   `json:"fired"`
	Err    string `json:"err,omitempty"`
}

// frontTerms is the GO_FAILPOINTS setting of the front ends for f ("" if
// f is not a front-end fault). A count chain, not a probability: "50%"
// is seeded from the clock and would not replay.
func (f Fault) frontTerms() string {
	switch f.Class {
	case SMTPCrash:
		return fmt.Sprintf("%s=%d*return(false)->return(true)", f.Phase, f.After)
	case POPCrash:
		return fmt.Sprintf("%safterTombstone=%d*return(false)->return(true)", fpMaildrop, f.After)
	case UserbaseDown:
		return fmt.Sprintf(`%sdown=%d*return(false)->%d*return("EIO")->return(false)`, fpUserbase, f.After, f.After)
	}
	if f.isClock() && f.IsFront() {
		return fmt.Sprintf("%s=%d*return(0)->%d*return(%d)->return(0)", f.Phase, f.After, clockReads[f.Phase], f.shiftMs())
	}
	return ""
}

// inject applies a backend fault for its duration and heals it. It
// returns whether the fault took effect (a crash failpoint was reached).
func (c *cluster) inject(ctx context.Context, f Fault) (bool, error) {
	d := time.Duration(f.ForMs) * time.Millisecond
	switch f.Class {
	case Kill:
		return true, c.killFor(f.Target, d, false)
	case DiskLoss:
		return true, c.killFor(f.Target, d, true)
	case Crash:
		return c.crashAt(ctx, f.Target, f.Phase, d)
	case FsyncEIO:
		return true, c.failpointFor(f.Target, fpStore+"fsync", `return("EIO")`, d)
	case ENOSPC:
		return true, c.failpointFor(f.Target, fpStore+"fsync", `return("ENOSPC")`, d)
	case SlowDisk:
		return true, c.failpointFor(f.Target, fpStore+"fsync", "sleep(250)", d)
	case Partition, ConnReset:
		mode := map[string]ProxyMode{Partition: Blackhole, ConnReset: Reset}[f.Class]
		c.proxies[f.Target].SetMode(mode)
		sleep(ctx, d)
		c.proxies[f.Target].SetMode(Pass)
		return true, nil
	case Pause:
		return true, c.pauseFor(ctx, f.Target, d)
	case PowerCut:
		return true, c.powerCut(d)
	case ClockBack, ClockForward:
		return true, c.failpointFor(f.Target, f.Phase, fmt.Sprintf("return(%d)", f.shiftMs()), d)
	}
	return false, fmt.Errorf("chaos: %s is not a backend fault", f.Class)
}

// killFor kills backend i, keeps it down for d (wiping its disk when
// lose), and restarts it.
func (c *cluster) killFor(i int, d time.Duration, lose bool) error {
	if err := c.KillBackend(i); err != nil {
		return err
	}
	if lose {
		if err := os.RemoveAll(c.Backends[i].Root); err != nil {
			return err
		}
	}
	time.Sleep(d)
	return c.restartBackend(i, false)
}

// crashAt arms a kill -9 at phase inside backend i and waits up to d for
// a delivery to reach it; the backend is restarted either way.
func (c *cluster) crashAt(ctx context.Context, i int, phase string, d time.Duration) (bool, error) {
	if err := c.failpoint(i, phase, "return(true)"); err != nil {
		return false, err
	}
	p := c.Backends[i].Proc()
	deadline := time.Now().Add(d)
	for !p.Exited() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	fired := p.Exited()
	if !fired {
		c.failpoint(i, phase, "")
	}
	return fired, c.restartBackend(i, false)
}

func (c *cluster) failpointFor(i int, name, terms string, d time.Duration) error {
	if err := c.failpoint(i, name, terms); err != nil {
		return err
	}
	time.Sleep(d)
	return c.failpoint(i, name, "")
}

func (c *cluster) pauseFor(ctx context.Context, i int, d time.Duration) error {
	p := c.Backends[i].Proc()
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	sleep(ctx, d)
	return p.Signal(syscall.SIGCONT)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// powerCut kills every backend, drops what a power cut would lose, keeps
// them down for d and restarts them. On powercut disks (Config.PowerFS)
// the file system itself loses what was not fsynced. On the real disk a
// kill keeps the page cache, so the loss is modelled: every message,
// tombstone or directory entry written since the backends stopped
// fsyncing (nothing, for a correct build; the store's own crash test
// checks that its fsyncs are the right ones).
func (c *cluster) powerCut(d time.Duration) error {
	for i := range c.Backends {
		if err := c.KillBackend(i); err != nil {
			return err
		}
	}
	if c.disks != nil {
		if err := c.disks.cut(); err != nil {
			return err
		}
	} else if !c.unsyncedSince.IsZero() {
		for _, b := range c.Backends {
			if err := dropSince(filepath.Join(b.Root, "mbox"), c.unsyncedSince); err != nil {
				return err
			}
		}
	}
	time.Sleep(d)
	for i := range c.Backends {
		if err := c.restartBackend(i, false); err != nil {
			return err
		}
	}
	return nil
}

// dropSince removes the messages and tombstones under dir last changed at
// or after t. (Mailbox directories made since would be lost too; keeping
// them changes nothing for the checker.)
func dropSince(dir string, t time.Time) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		name := strings.TrimSuffix(d.Name(), ".tomb")
		if err != nil || !d.Type().IsRegular() || len(name) != msgIDLen {
			return err
		}
		fi, err := d.Info()
		if err == nil && !fi.ModTime().Before(t) {
			err = os.Remove(path)
		}
		return err
	})
}
