// Command chaos runs the chaos suite against failpoint builds of the
// daemons (make build-failpoints) and exits 1 on any violation.
//
//	chaos -bin bin/fp -tier smoke  -seed 1 -out results/chaos/smoke
//	chaos -bin bin/fp -tier matrix -seed 1 -out results/chaos/matrix
//	chaos -bin bin/fp -tier cell -r 2 -w 1 -fault disk-loss -seed 7
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
)

func main() {
	var (
		bin    = flag.String("bin", "bin/fp", "directory of the failpoint-built daemons")
		tier   = flag.String("tier", "smoke", "smoke, matrix, cell or acceptance")
		seed   = flag.Uint64("seed", 1, "schedule seed (replays a run)")
		out    = flag.String("out", "results/chaos/smoke", "directory for the reports")
		work   = flag.String("work", filepath.Join(os.TempDir(), "powermail-chaos"), "working directory (wiped)")
		r      = flag.Int("r", 2, "cell: redundancy R")
		w      = flag.Int("w", 2, "cell: write quorum W")
		fault  = flag.String("fault", chaos.Kill, "cell: fault class")
		phase  = flag.String("phase", "", "cell: failpoint of a crash fault")
		target = flag.Int("target", 0, "cell: backend index")
		broken = flag.String("broken", "", "acceptance: extra GO_FAILPOINTS of the front ends (e.g. "+chaos.BrokenQuorum+")")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fatal(err)
	}
	var cfgs []chaos.Config
	switch *tier {
	case "smoke":
		cfgs = []chaos.Config{chaos.Smoke(*seed, abs, *work)}
	case "matrix":
		cfgs = chaos.Matrix(*seed, abs, *work)
	case "cell":
		f := chaos.Fault{Class: *fault, Phase: *phase, Target: *target, AtMs: 1500, ForMs: 1500, After: 50}
		if f.Class == chaos.SMTPCrash || f.Class == chaos.POPCrash || f.Class == chaos.UserbaseDown {
			f.Target = -1
		}
		cfgs = []chaos.Config{chaos.Cell(*seed, abs, *work, *r, *w, f)}
	case "acceptance":
		cfgs = []chaos.Config{chaos.Acceptance(*seed, abs, *work, *broken)}
	default:
		fatal(fmt.Errorf("unknown tier %q", *tier))
	}
	reports, err := chaos.RunAll(ctx, cfgs, *out, os.Stdout)
	if err != nil {
		fatal(err)
	}
	for _, rep := range reports {
		if !rep.Pass {
			os.Exit(1)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "chaos:", err)
	os.Exit(2)
}
