// Command pmbench runs PowerMail's benchmark suite (package
// powermail/loadgen/bench) and writes results/. `make bench` and
// `make bench-quick` call it after building bin/.
//
//	pmbench -bin bin -out results [-quick] [-runs 3] [-only smtp-,pop3-]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"powermail/loadgen/bench"
)

func main() {
	var opt bench.Options
	var only string
	flag.StringVar(&opt.BinDir, "bin", "bin", "directory of pplistener, powersmtp, powerpop")
	flag.StringVar(&opt.OutDir, "out", "results", "directory for the results")
	flag.StringVar(&opt.WorkDir, "work", os.TempDir(), "directory on the data disk for the clusters' data (removed after)")
	flag.BoolVar(&opt.Quick, "quick", false, "small counts, one run: a smoke test in CI time")
	flag.IntVar(&opt.Runs, "runs", 0, "runs per scenario (default 3, quick 1)")
	flag.StringVar(&only, "only", "", "comma-separated scenario name prefixes to run")
	flag.StringVar(&opt.MySQL, "mysql-dsn", "", "MariaDB DSN for userbase-lookup (empty: skip MariaDB)")
	flag.StringVar(&opt.Note, "note", "", "note stored in machine.json (e.g. other jobs were running)")
	flag.Parse()
	if only != "" {
		opt.Only = strings.Split(only, ",")
	}
	opt.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := bench.Run(ctx, opt); err != nil {
		fmt.Fprintln(os.Stderr, "pmbench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "results in %s (summary.md)\n", opt.OutDir)
}
