// Command pmdev starts a whole PowerMail cluster on this machine for a first
// look (`make run`): three pplisteners (R = 2), powersmtp and powerpop, with
// an embedded userbase holding demo@example.com (password "demo"). It prints
// what it started and stops everything on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"powermail/impl/devcluster"
)

func main() {
	var opt devcluster.Options
	flag.StringVar(&opt.BinDir, "bin", "bin", "directory holding the daemons")
	flag.StringVar(&opt.Dir, "dir", "run", "working directory for data, configuration and logs")
	flag.IntVar(&opt.Backends, "backends", 3, "number of pplisteners")
	flag.IntVar(&opt.Redundancy, "redundancy", 2, "R: copies of each message")
	flag.StringVar(&opt.SMTPListen, "smtp", "127.0.0.1:2525", "powersmtp address")
	flag.StringVar(&opt.POPListen, "pop", "127.0.0.1:1110", "powerpop address")
	flag.Parse()
	opt.Users = []devcluster.User{{Name: "demo@example.com", Password: "demo"}}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := devcluster.Start(ctx, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pmdev:", err)
		os.Exit(1)
	}
	printSummary(c)
	<-ctx.Done()
	fmt.Println("\nstopping...")
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pmdev:", err)
		os.Exit(1)
	}
}

func printSummary(c *devcluster.Cluster) {
	abs, _ := filepath.Abs(c.Dir())
	fmt.Printf("powermail is running (data, logs and userbase under %s)\n", abs)
	for i, b := range c.Backends {
		fmt.Printf("  pplistener %d  %s  root %s\n", i, b.Addr, b.Root)
	}
	fmt.Printf("  powersmtp     smtp://%s\n", c.SMTPAddr)
	fmt.Printf("  powerpop      pop3://%s\n", c.POPAddr)
	fmt.Println("mailbox demo@example.com, password demo; try:")
	fmt.Printf("  curl -s smtp://%s --mail-from you@example.org --mail-rcpt demo@example.com -T message.txt\n", c.SMTPAddr)
	fmt.Printf("  curl -s pop3://%s/1 -u demo@example.com:demo\n", c.POPAddr)
	fmt.Println("Ctrl-C stops everything.")
}
