// Command loadgen drives any SMTP or POP3 server with a measured load and
// reports throughput, latency percentiles, errors by reply code and its own
// CPU use as JSON (stdout, or -json FILE) plus a human summary (stderr).
//
//	loadgen smtp -addr 127.0.0.1:2525 -count 10000 -c 16 -size 4096
//	loadgen smtp -addr 127.0.0.1:2525 -rate 500 -duration 30s   # open loop
//	loadgen pop3 -addr 127.0.0.1:1110 -users 100 -retr -verify
//	loadgen limits -dir /var/tmp                                # machine limits
//
// Messages carry X-Loadgen-Id and X-Loadgen-Sum headers (package
// powermail/loadgen/msg), so `pop3 -verify` checks what `smtp` sent.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"

	"golang.org/x/sys/unix"

	"powermail/loadgen/load"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch os.Args[1] {
	case "smtp":
		err = runSMTP(ctx, os.Args[2:])
	case "pop3":
		err = runPOP(ctx, os.Args[2:])
	case "limits":
		err = runLimits(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: loadgen smtp|pop3|limits [flags]; loadgen CMD -h for the flags")
	os.Exit(2)
}

// output holds the flags common to every subcommand.
type output struct {
	jsonPath   string
	quiet      bool
	cpuProfile string
}

func (o *output) register(fs *flag.FlagSet) {
	fs.StringVar(&o.jsonPath, "json", "", "write the JSON result to this file instead of stdout")
	fs.BoolVar(&o.quiet, "q", false, "no human summary")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write loadgen's own CPU profile (go tool pprof) to this file")
}

// profile starts the CPU profile if asked; the returned func stops it.
func (o *output) profile() (func(), error) {
	if o.cpuProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(o.cpuProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// progressWriter is stdout when it is a terminal (a bar is noise in a log).
func progressWriter() io.Writer {
	if _, err := unix.IoctlGetTermios(int(os.Stdout.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	return os.Stdout
}

// emit writes the summary and the JSON document.
// run opens the id log (when named) into *idlog and the CPU profile around
// one load run.
func (o *output) run(path string, idlog *io.Writer, runLoad func() (*load.Result, error)) (*load.Result, error) {
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		*idlog = f
	}
	stop, err := o.profile()
	if err != nil {
		return nil, err
	}
	defer stop()
	return runLoad()
}

func (o *output) emit(res *load.Result, doc any) error {
	if !o.quiet && res != nil {
		res.WriteSummary(os.Stderr)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if o.jsonPath == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	return os.WriteFile(o.jsonPath, data, 0o644)
}

// failIfBad turns failures into a non-zero exit status for scripts.
func failIfBad(res *load.Result) error {
	if res.Verify != nil && res.Verify.Corrupt > 0 {
		return fmt.Errorf("%d corrupt messages: %s", res.Verify.Corrupt, res.Verify.FirstError)
	}
	return nil
}
