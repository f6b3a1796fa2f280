package main

import (
	"context"
	"flag"

	"powermail/loadgen/load"
)

func runSMTP(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen smtp", flag.ExitOnError)
	var c load.SMTPConfig
	var out output
	var idlog string
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:25", "SMTP server host:port")
	fs.StringVar(&c.Helo, "helo", "loadgen.invalid", "EHLO name")
	fs.StringVar(&c.From, "from", "loadgen@loadgen.invalid", "envelope sender")
	fs.IntVar(&c.Concurrency, "c", 8, "concurrent sessions")
	fs.Float64Var(&c.Rate, "rate", 0, "open loop: messages/s with Poisson arrivals (0: closed loop)")
	fs.Int64Var(&c.Count, "count", 0, "messages to send (0: until -duration)")
	fs.DurationVar(&c.Duration, "duration", 0, "time bound (0: until -count)")
	fs.IntVar(&c.PerConn, "per-conn", 1, "messages per connection")
	fs.IntVar(&c.Rcpts, "rcpts", 1, "recipients per message (distinct mailboxes)")
	fs.IntVar(&c.Mailboxes.N, "users", 100, "mailboxes 0..N-1 to send to")
	fs.Float64Var(&c.Mailboxes.Zipf, "zipf", 0, "mailbox popularity: 0 uniform, > 1 Zipf exponent")
	fs.StringVar(&c.RcptFormat, "rcpt-format", "user%d@example.com", "recipient address, %d is the mailbox number")
	fs.StringVar(&c.Sizes.Dist, "size-dist", "fixed", "message sizes: fixed, lognormal (median -size) or pareto (minimum -size)")
	fs.IntVar(&c.Sizes.Bytes, "size", 4096, "message size in bytes (headers included)")
	fs.Float64Var(&c.Sizes.Sigma, "size-sigma", 1.0, "lognormal shape")
	fs.Float64Var(&c.Sizes.Alpha, "size-alpha", 1.3, "Pareto tail index")
	fs.IntVar(&c.Sizes.Max, "size-max", 10<<20, "largest drawn size")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (sizes, recipients, arrivals)")
	fs.StringVar(&c.RunID, "run-id", "", "message id prefix (default: time based)")
	fs.DurationVar(&c.Timeout, "timeout", 0, "limit for one transaction (default 30s)")
	fs.BoolVar(&c.NoPipeline, "no-pipelining", false, "do not use PIPELINING even when offered")
	fs.StringVar(&idlog, "id-log", "", "file for one line per message: id outcome rcpts")
	out.register(fs)
	fs.Parse(args)
	c.Progress = progressWriter()
	res, err := out.run(idlog, &c.IDLog, func() (*load.Result, error) { return load.RunSMTP(ctx, c) })
	if err != nil {
		return err
	}
	return out.emit(res, res)
}

func runPOP(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen pop3", flag.ExitOnError)
	var c load.POPConfig
	var out output
	var idlog string
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:110", "POP3 server host:port")
	fs.IntVar(&c.Concurrency, "c", 8, "concurrent sessions (each on its own mailboxes)")
	fs.IntVar(&c.Users, "users", 100, "mailboxes 0..N-1")
	fs.StringVar(&c.UserFormat, "user-format", "user%d@example.com", "login, %d is the mailbox number")
	fs.StringVar(&c.PassFormat, "pass-format", "pass%d", "password, %d is the mailbox number (or a fixed password)")
	fs.Int64Var(&c.Sessions, "sessions", 0, "sessions in total (0: each mailbox once, or until -duration)")
	fs.DurationVar(&c.Duration, "duration", 0, "time bound")
	fs.BoolVar(&c.Retr, "retr", true, "UIDL and RETR every message")
	fs.BoolVar(&c.Dele, "dele", false, "DELE every retrieved message")
	fs.BoolVar(&c.Verify, "verify", true, "check X-Loadgen-Sum of every retrieved message")
	fs.DurationVar(&c.Timeout, "timeout", 0, "limit for one command (default 60s)")
	fs.StringVar(&idlog, "id-log", "", "file for one line per message: uidl id ok|corrupt")
	out.register(fs)
	fs.Parse(args)
	c.Progress = progressWriter()
	res, err := out.run(idlog, &c.IDLog, func() (*load.Result, error) { return load.RunPOP(ctx, c) })
	if err != nil {
		return err
	}
	if err := out.emit(res, res); err != nil {
		return err
	}
	return failIfBad(res)
}
