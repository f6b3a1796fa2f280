package chaos

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
)

// Schedule timing: a fault every faultEveryMs after a lead-in, each lasting
// faultForMs; crash failpoints wait that long for a delivery to reach them.
const (
	leadInMs      = 1500
	faultEveryMs  = 3000
	faultForMs    = 1500
	frontEpochMs  = 8000
	matrixEpochMs = 6000
)

// backendFaults is one of each fault that hits a single backend.
func backendFaults() []Fault {
	out := []Fault{{Class: Kill}, {Class: FsyncEIO}, {Class: ENOSPC}, {Class: SlowDisk},
		{Class: Partition}, {Class: ConnReset}, {Class: Pause}}
	for _, p := range BackendPhases {
		out = append(out, Fault{Class: Crash, Phase: p})
	}
	return out
}

// frontFaults is one of each fault of powersmtp, powerpop and the userbase.
func frontFaults() []Fault {
	out := []Fault{{Class: UserbaseDown}, {Class: POPCrash}}
	for _, p := range SMTPPhases {
		out = append(out, Fault{Class: SMTPCrash, Phase: p})
	}
	return out
}

// clockFaults is a jump each way on each daemon kind (F9), by daemon:
// back, forward for powersmtp, then powerpop, then pplistener.
func clockFaults() []Fault {
	var out []Fault
	for _, d := range []string{"powersmtp", "powerpop", "pplistener"} {
		out = append(out, Fault{Class: ClockBack, Phase: ClockPhases[d]}, Fault{Class: ClockForward, Phase: ClockPhases[d]})
	}
	return out
}

// NewFault is a fault of the cell tier, timed like a matrix cell: class at
// phase (a failpoint; for a clock jump also a daemon's name) on backend
// target, or armed at the start in the front ends.
func NewFault(class, phase string, target int) Fault {
	f := Fault{Class: class, Phase: phase, Target: target, AtMs: leadInMs, ForMs: faultForMs, After: 50}
	if fp, ok := ClockPhases[phase]; ok && f.isClock() {
		f.Phase = fp
	}
	if f.IsFront() {
		f.Target, f.AtMs, f.ForMs = -1, 0, 0
		if f.Phase == ClockPhases["powerpop"] {
			f.After = 4
		}
	}
	return f
}

// place gives f a target and timing from rng.
func place(f Fault, rng *rand.Rand, backends int, atMs int64) Fault {
	f.Target, f.AtMs, f.ForMs = rng.IntN(backends), atMs, faultForMs
	if f.IsFront() {
		f.Target, f.AtMs, f.ForMs = -1, 0, 0
		f.After = 20 + rng.IntN(80)
		switch {
		case f.Class == POPCrash:
			f.After = rng.IntN(4)
		case f.Phase == ClockPhases["powerpop"]: // a login or two per second
			f.After = 2 + rng.IntN(6)
		}
	}
	return f
}

// Smoke is the CI tier: every fault class at least once at R=2, W=2 on
// three backends, in six epochs. Seed picks order, targets and counts.
func Smoke(seed uint64, binDir, workDir string) Config {
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := Config{Name: fmt.Sprintf("smoke-seed%d", seed), Seed: seed, BinDir: binDir,
		Dir: filepath.Join(workDir, "smoke"), Backends: 3, R: 2, W: 2, Users: 8}
	bf := backendFaults()
	rng.Shuffle(len(bf), func(i, j int) { bf[i], bf[j] = bf[j], bf[i] })
	var ep Epoch
	for k, f := range bf {
		ep.Faults = append(ep.Faults, place(f, rng, cfg.Backends, int64(leadInMs+k*faultEveryMs)))
	}
	ep.DurationMs = int64(2*leadInMs + len(bf)*faultEveryMs)
	cfg.Epochs = append(cfg.Epochs, ep)
	ff := frontFaults()
	cfg.Epochs = append(cfg.Epochs, Epoch{DurationMs: frontEpochMs,
		Faults: []Fault{place(ff[0], rng, 3, 0), place(ff[1], rng, 3, 0)}})
	for _, f := range ff[2:] {
		cfg.Epochs = append(cfg.Epochs, Epoch{DurationMs: frontEpochMs, Faults: []Fault{place(f, rng, 3, 0)}})
	}
	loss := place(Fault{Class: DiskLoss}, rng, cfg.Backends, leadInMs)
	cfg.Epochs = append(cfg.Epochs, Epoch{DurationMs: frontEpochMs, Faults: []Fault{loss}})
	cfg.Epochs = append(cfg.Epochs, clockEpochs(rng, cfg.Backends)...)
	return cfg
}

// clockEpochs are the smoke tier's clock jumps: in two epochs, each
// daemon kind's clock jumps back in one and forward in the other. They
// come after the disk loss, so their deletes must keep all R tombstones.
func clockEpochs(rng *rand.Rand, backends int) []Epoch {
	cf, flip := clockFaults(), rng.IntN(2)
	var out []Epoch
	for k := range 2 {
		ep := Epoch{DurationMs: frontEpochMs}
		for d := range 3 { // smtp and pplistener one way, powerpop the other
			ep.Faults = append(ep.Faults, place(cf[2*d+(k+flip+d)%2], rng, backends, leadInMs))
		}
		out = append(out, ep)
	}
	return out
}

// Quorums are the (R, W) pairs of the full matrix.
var Quorums = [][2]int{{1, 1}, {2, 1}, {2, 2}, {3, 2}}

// Matrix is the full tier: one run per fault (and phase) and (R, W).
func Matrix(seed uint64, binDir, workDir string) []Config {
	var out []Config
	faults := append(append(backendFaults(), frontFaults()...), Fault{Class: DiskLoss}, Fault{Class: PowerCut})
	faults = append(faults, clockFaults()...)
	for _, q := range Quorums {
		for k, f := range faults {
			rng := rand.New(rand.NewPCG(seed, uint64(100*q[0]+10*q[1]+k)))
			out = append(out, Cell(seed, binDir, workDir, q[0], q[1], place(f, rng, 3, leadInMs)))
		}
	}
	return out
}

// Cell is one run of the matrix: fault f at (r, w) on three backends,
// with the outcome this configuration allows. A power cut runs on
// powercut disks: the real thing, not the modelled loss.
func Cell(seed uint64, binDir, workDir string, r, w int, f Fault) Config {
	name := fmt.Sprintf("R%dW%d-%s", r, w, f.Class)
	if f.Phase != "" {
		name += "-" + phaseLabel(f)
	}
	return Config{Name: name, Seed: seed, BinDir: binDir, Dir: filepath.Join(workDir, name),
		Backends: 3, R: r, W: w, Users: 8,
		Epochs:  []Epoch{{DurationMs: matrixEpochMs, Faults: []Fault{f}}},
		MayLose: w == 1 && f.Class == DiskLoss, MayResurrect: w == 1 && f.Class == DiskLoss,
		Expect: expectation(r, w, f), PowerFS: f.Class == PowerCut}
}

// phaseLabel names f's phase in a cell name: the failpoint's own name, or
// for a clock jump the daemon whose clock it is.
func phaseLabel(f Fault) string {
	for d, fp := range ClockPhases {
		if f.isClock() && f.Phase == fp {
			return d
		}
	}
	return f.Phase[strings.LastIndexByte(f.Phase, '/')+1:]
}

// expectation is the outcome a cell should have, in words. A message
// survives the loss of W-1 disks: with W=1 the one acknowledging copy may
// be on the disk that is lost (RFC 5321 section 6.1 is kept only up to
// that), so loss there is measured, not a failure. Everything else must
// show no violation at all.
func expectation(r, w int, f Fault) string {
	switch {
	case f.Class == DiskLoss && w == 1:
		return "may lose or resurrect mail acknowledged with one copy on the lost disk"
	case f.Class == DiskLoss:
		return fmt.Sprintf("no violation: every 250 had %d copies, one disk lost", w)
	case f.Class == PowerCut:
		return "no violation: every backend loses power, a 250 means durable on W disks"
	case f.isClock():
		return "no violation: ids in delivery order, no tombstone expires early"
	case r == 1 && f.Target >= 0:
		return "no violation; R=1: mail of the faulty backend unreadable until it is back"
	}
	return "no violation"
}

// BrokenQuorum is the deliberately broken build of the acceptance test:
// powersmtp answers 250 with one copy fewer than W.
const BrokenQuorum = fpDelivery + "quorumShortBy=return(1)"

// Acceptance is a run that a correct build passes and a build acking
// below W fails: on two backends at R=W=2, backend 0's fsyncs fail for
// most of the first epoch (a correct powersmtp answers 451 meanwhile; a
// broken one acks the copy on backend 1 alone), then backend 1's disk is
// lost.
func Acceptance(seed uint64, binDir, workDir, broken string) Config {
	return Config{Name: "acceptance", Seed: seed, BinDir: binDir, Dir: filepath.Join(workDir, "acceptance"),
		Backends: 2, R: 2, W: 2, Users: 4, Broken: broken,
		Epochs: []Epoch{
			{DurationMs: 5000, Faults: []Fault{{Class: FsyncEIO, Target: 0, AtMs: 500, ForMs: 4000}}},
			{DurationMs: 2500, Faults: []Fault{{Class: DiskLoss, Target: 1, AtMs: 500, ForMs: 500}}},
		}}
}

// BrokenFsync is the other broken build: backends acknowledge without
// fsync (the store's fsync seam returns success at once).
const BrokenFsync = fpStore + `fsync=return("skip")`

// AcceptanceFsync is a run that a correct build passes and a build that
// acknowledges before fsync fails: two backends at R=W=2 take mail, then
// power is cut on both (all that was not fsynced is lost).
func AcceptanceFsync(seed uint64, binDir, workDir, broken string) Config {
	return Config{Name: "acceptance-fsync", Seed: seed, BinDir: binDir, Dir: filepath.Join(workDir, "acceptance-fsync"),
		Backends: 2, R: 2, W: 2, Users: 4, Broken: broken,
		Epochs: []Epoch{{DurationMs: 4000, Faults: []Fault{{Class: PowerCut, AtMs: 2500, ForMs: 500}}}}}
}

// BrokenDirFsync is the broken store of the power-cut test: backends skip
// every directory fsync (they trust fsync of a file to persist its name).
const BrokenDirFsync = fpStore + `fsync=return("skip-dir")`

// AcceptancePowerCut is the real power cut: three backends at R=2, W=2,
// each store on its own powercut disk, and in each of two epochs the power
// of all of them is cut mid-traffic (kill -9, the disks drop what was not
// durable, restart); the run ends with one more cut. A correct build loses
// nothing; one that skips directory fsyncs (BrokenDirFsync) loses
// acknowledged mail.
func AcceptancePowerCut(seed uint64, binDir, workDir, broken string) Config {
	cut := Epoch{DurationMs: 8000, Faults: []Fault{{Class: PowerCut, AtMs: 4000, ForMs: 500}}}
	return Config{Name: "acceptance-power-cut", Seed: seed, BinDir: binDir,
		Dir: filepath.Join(workDir, "acceptance-power-cut"), Backends: 3, R: 2, W: 2, Users: 8,
		Broken: broken, PowerFS: true, Epochs: []Epoch{cut, cut}}
}
