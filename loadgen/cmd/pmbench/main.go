// Command pmbench runs PowerMail's benchmark suite (package
// powermail/loadgen/bench) and writes results/. `make bench` and
// `make bench-quick` call it after building bin/.
//
//	pmbench -bin bin -out results [-quick] [-runs 3] [-only smtp-,pop3-]
//	pmbench -bin bin -out results -peers-smtp 127.0.0.1:2526   # loadgen/peers/bench-peers.sh
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"powermail/loadgen/bench"
)

func main() {
	var opt bench.Options
	var only string
	var peer bench.Peer
	flag.StringVar(&opt.BinDir, "bin", "bin", "directory of pplistener, powersmtp, powerpop")
	flag.StringVar(&opt.OutDir, "out", "results", "directory for the results")
	flag.StringVar(&opt.WorkDir, "work", os.TempDir(), "directory on the data disk for the clusters' data (removed after)")
	flag.BoolVar(&opt.Quick, "quick", false, "small counts, one run: a smoke test in CI time")
	flag.IntVar(&opt.Runs, "runs", 0, "runs per scenario (default 3, quick 1)")
	flag.StringVar(&only, "only", "", "comma-separated scenario name prefixes to run")
	flag.StringVar(&opt.MySQL, "mysql-dsn", "", "MariaDB DSN for userbase-lookup (empty: skip MariaDB)")
	flag.StringVar(&opt.Note, "note", "", "note stored in machine.json (e.g. other jobs were running)")
	flag.StringVar(&peer.SMTP, "peers-smtp", "", "peer mode: Postfix address; compare with a fresh cluster and write peers.json")
	flag.StringVar(&peer.POP, "peers-pop", "127.0.0.1:1111", "peer mode: Dovecot POP3 address")
	flag.StringVar(&peer.Maildir, "peers-maildir", "/var/lib/pmbench/vmail", "peer mode: Postfix virtual_mailbox_base")
	flag.Float64Var(&opt.MinIdlePct, "min-idle", 85, "wait before each scenario until the CPUs are this idle (percent)")
	flag.DurationVar(&opt.QuietWait, "quiet-wait", 3*time.Minute, "wait at most this long for an idle machine")
	flag.BoolVar(&opt.Force, "force", false, "write results although the machine was busy (every file says so)")
	backendFlags := flag.String("backend-flags", "", "extra flags for every pplistener, space-separated (an experiment, e.g. \"-flush fsync\"; recorded in machine.json)")
	resummarize := flag.Bool("resummarize", false, "only rebuild summary.md and the plots from the JSON files in -out")
	flag.Parse()
	if only != "" {
		opt.Only = strings.Split(only, ",")
	}
	opt.BackendFlags = strings.Fields(*backendFlags)
	opt.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *resummarize {
		err = bench.Resummarize(opt)
	} else if peer.SMTP != "" {
		err = bench.RunPeers(ctx, opt, peer)
	} else {
		_, err = bench.Run(ctx, opt)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pmbench:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "results in %s (summary.md)\n", opt.OutDir)
}
