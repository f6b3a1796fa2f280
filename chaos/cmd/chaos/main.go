// Command chaos runs the chaos suite against failpoint builds of the
// daemons (make build-failpoints) and exits 1 on any violation.
//
//	chaos -bin bin/fp -tier smoke  -seed 1 -out results/chaos/smoke
//	chaos -bin bin/fp -tier matrix -seed 1 -out results/chaos/matrix
//	chaos -bin bin/fp -tier cell -r 2 -w 1 -fault disk-loss -seed 7
//	chaos -bin bin/fp -tier cell -fault clock-forward -phase pplistener
//	chaos -bin bin/fp -tier power-cut -seed 1 -out results/chaos/power-cut
//	chaos -bin bin/fp -tier smoke -placement rendezvous -seed 1 -out results/chaos/smoke-rendezvous
//
// A failing seed replays the same schedule: run it again with -seed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"powermail/chaos"
	"powermail/impl/placement"
)

// flags of one invocation.
type flags struct {
	bin, tier, out, work, fault, phase, broken, placement string
	seed                                                  uint64
	r, w, target                                          int
}

func parseFlags() flags {
	var f flags
	flag.StringVar(&f.bin, "bin", "bin/fp", "directory of the failpoint-built daemons")
	flag.StringVar(&f.tier, "tier", "smoke", "smoke, matrix, cell, acceptance, acceptance-fsync or power-cut")
	flag.Uint64Var(&f.seed, "seed", 1, "schedule seed (replays a run)")
	flag.StringVar(&f.out, "out", "results/chaos/smoke", "directory for the reports")
	flag.StringVar(&f.work, "work", filepath.Join(os.TempDir(), "powermail-chaos"), "working directory (wiped)")
	flag.IntVar(&f.r, "r", 2, "cell: redundancy R")
	flag.IntVar(&f.w, "w", 2, "cell: write quorum W")
	flag.StringVar(&f.fault, "fault", chaos.Kill, "cell: fault class")
	flag.StringVar(&f.phase, "phase", "", "cell: failpoint of a crash fault; for clock-back and clock-forward, powersmtp, powerpop or pplistener")
	flag.IntVar(&f.target, "target", 0, "cell: backend index")
	flag.StringVar(&f.broken, "broken", "", "acceptance, power-cut: GO_FAILPOINTS of a broken build (e.g. "+chaos.BrokenQuorum+")")
	flag.StringVar(&f.placement, "placement", string(placement.PowerMail), "the daemons' and repair's placement: powermail or rendezvous")
	flag.Parse()
	return f
}

func main() {
	f := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfgs, err := configs(f)
	if err == nil {
		err = withPlacement(cfgs, f.placement)
	}
	if err != nil {
		fatal(err)
	}
	reports, err := chaos.RunAll(ctx, cfgs, f.out, os.Stdout)
	if err != nil {
		fatal(err)
	}
	for _, rep := range reports {
		if !rep.Pass {
			os.Exit(1)
		}
	}
}

// configs are the runs of the chosen tier.
func configs(f flags) ([]chaos.Config, error) {
	bin, err := filepath.Abs(f.bin)
	if err != nil {
		return nil, err
	}
	switch f.tier {
	case "smoke":
		return []chaos.Config{chaos.Smoke(f.seed, bin, f.work)}, nil
	case "matrix":
		return chaos.Matrix(f.seed, bin, f.work), nil
	case "cell":
		flt := chaos.NewFault(f.fault, f.phase, f.target)
		return []chaos.Config{chaos.Cell(f.seed, bin, f.work, f.r, f.w, flt)}, nil
	case "acceptance":
		return []chaos.Config{chaos.Acceptance(f.seed, bin, f.work, f.broken)}, nil
	case "acceptance-fsync":
		return []chaos.Config{chaos.AcceptanceFsync(f.seed, bin, f.work, f.broken)}, nil
	case "power-cut":
		return []chaos.Config{chaos.AcceptancePowerCut(f.seed, bin, f.work, f.broken)}, nil
	}
	return nil, fmt.Errorf("unknown tier %q", f.tier)
}

// withPlacement runs every configuration under placement p; a run under
// rendezvous says so in its name.
func withPlacement(cfgs []chaos.Config, p string) error {
	pol, err := placement.ParsePolicy(p)
	if err != nil {
		return err
	}
	for i := range cfgs {
		cfgs[i].Placement = pol
		if pol != placement.PowerMail {
			cfgs[i].Name += "-" + p
		}
	}
	return nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(2)
}
