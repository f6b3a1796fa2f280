// Command pmdev starts a whole PowerMail cluster on this machine for a first
// look (`make run`): three pplisteners (R = 2), powersmtp and powerpop, with
// an embedded userbase holding demo@example.com (password "demo"), STARTTLS
// and STLS with a self-signed certificate kept under the run directory, and
// /metrics of every daemon on fixed ports. It prints what it started and
// stops everything on Ctrl-C.
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
	var logFormat string
	flag.StringVar(&opt.BinDir, "bin", "bin", "directory holding the daemons")
	flag.StringVar(&opt.Dir, "dir", "run", "working directory for data, configuration and logs")
	flag.IntVar(&opt.Backends, "backends", 3, "number of pplisteners")
	flag.IntVar(&opt.Redundancy, "redundancy", 2, "R: copies of each message")
	flag.StringVar((*string)(&opt.Placement), "placement", "powermail", "the front ends' placement: powermail or rendezvous")
	flag.StringVar(&opt.SMTPListen, "smtp", "127.0.0.1:2525", "powersmtp address")
	flag.StringVar(&opt.POPListen, "pop", "127.0.0.1:1110", "powerpop address")
	flag.BoolVar(&opt.TLS, "tls", true, "STARTTLS and STLS with a self-signed certificate under -dir")
	flag.IntVar(&opt.MetricsPort, "metrics-port", 9100, "/metrics on 127.0.0.1: backend i at +1+i, powerpop +10, powersmtp +25; 0 picks free ports")
	flag.StringVar(&logFormat, "log-format", "text", "the daemons' log-format: text or json")
	flag.Parse()
	opt.Users = []devcluster.User{{Name: "demo@example.com", Password: "demo"}}
	logFlag := []string{"-log-format", logFormat}
	opt.ExtraBackend, opt.ExtraSMTP, opt.ExtraPOP = logFlag, logFlag, logFlag

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
		fmt.Printf("  pplistener %d  %-22s metrics http://%s/metrics  root %s\n", i, b.Addr, b.MetricsAddr, b.Root)
	}
	fmt.Printf("  powersmtp     %-22s metrics http://%s/metrics\n", "smtp://"+c.SMTPAddr, c.SMTPMetrics)
	fmt.Printf("  powerpop      %-22s metrics http://%s/metrics\n", "pop3://"+c.POPAddr, c.POPMetrics)
	fmt.Println("mailbox demo@example.com, password demo; try:")
	fmt.Printf("  curl -s smtp://%s --mail-from you@example.org --mail-rcpt demo@example.com -T message.txt\n", c.SMTPAddr)
	fmt.Printf("  curl -s pop3://%s/1 -u demo@example.com:demo\n", c.POPAddr)
	if c.Cert.CertFile != "" {
		printTLS(c)
	}
	fmt.Println("Ctrl-C stops everything.")
}

// printTLS says how to trust the self-signed certificate instead of
// turning verification off.
func printTLS(c *devcluster.Cluster) {
	cert, _ := filepath.Abs(c.Cert.CertFile)
	fmt.Printf("STARTTLS and STLS are on, with a self-signed certificate (kept across restarts):\n")
	fmt.Printf("  %s\n  SHA-256 fingerprint %s\n", cert, c.Cert.Fingerprint)
	fmt.Println("trust it, and require TLS:")
	fmt.Printf("  curl -s --ssl-reqd --cacert %s smtp://%s --mail-from you@example.org --mail-rcpt demo@example.com -T message.txt\n", cert, c.SMTPAddr)
	fmt.Printf("  curl -s --ssl-reqd --cacert %s pop3://%s/1 -u demo@example.com:demo\n", cert, c.POPAddr)
	fmt.Printf("  swaks --server %s --to demo@example.com --from you@example.org --tls --tls-verify --tls-ca-path %s\n", c.SMTPAddr, cert)
}
