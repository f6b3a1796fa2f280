package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"time"

	"powermail/loadgen/limits"
)

func runLimits(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen limits", flag.ExitOnError)
	var c limits.Config
	var out output
	fs.StringVar(&c.Dir, "dir", os.TempDir(), "directory on the data disk")
	fs.DurationVar(&c.Duration, "duration", 3*time.Second, "length of each measurement")
	fs.IntVar(&c.Conns, "conns", 8, "sendfile client connections")
	out.register(fs)
	fs.Parse(args)
	c.Writers, c.Streams = []int{1, 8}, []int{1, 8}
	abs, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = abs
	l, err := limits.Measure(ctx, c)
	if err != nil {
		return err
	}
	return out.emit(nil, l)
}
