// Command sim runs the PowerMail cluster simulator's scenarios and writes
// their JSON results and SVG charts (results/sim/ by default).
//
//	sim -scenario all              every scenario, big runs shortened (make sim)
//	sim -scenario speed -full      1,000 backends, 10^7 mailboxes, one simulated day
//	sim -scenario calibration -calib my-machine.json
//
// Same seed, same output: every result except the wall-clock and memory
// figures is a function of the flags.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/debug"

	"powermail/sim/calib"
	"powermail/sim/scenario"
)

// gcPercent trades memory for speed: the live heap is small, and every
// garbage collection walks it.
const gcPercent = 400

func main() {
	log.SetFlags(0)
	name := flag.String("scenario", "all", "calibration, scale-out, durability, speed, or all")
	out := flag.String("out", "results/sim", "output directory")
	seed := flag.Uint64("seed", 1, "random seed")
	calibPath := flag.String("calib", "", "calibration JSON (default: the embedded sim/calib/calib.json)")
	full := flag.Bool("full", false, "full-length big runs (speed: a whole simulated day)")
	budget := flag.Int("budget", 20000, "messages simulated per scale-out point")
	policy := flag.String("policy", "powermail", "speed scenario policy: powermail or rendezvous")
	flag.Parse()
	debug.SetGCPercent(gcPercent)
	costs := calib.Default()
	if *calibPath != "" {
		c, err := calib.Load(*calibPath)
		if err != nil {
			log.Fatal(err)
		}
		costs = c
	}
	o := scenario.Options{OutDir: *out, Seed: *seed, Costs: costs, Quick: !*full, Budget: *budget,
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }}
	if err := run(*name, o, *policy); err != nil {
		log.Fatal(err)
	}
}

func run(name string, o scenario.Options, policy string) error {
	all := map[string]func() error{
		"calibration": func() error { return scenario.Calibration(o) },
		"scale-out":   func() error { return scenario.ScaleOut(o) },
		"durability":  func() error { return scenario.Durability(o) },
		"speed":       func() error { return scenario.Speed(o, policy) },
	}
	if name != "all" {
		f, ok := all[name]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		return f()
	}
	for _, n := range []string{"calibration", "durability", "scale-out", "speed"} {
		if err := all[n](); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
	}
	return nil
}
