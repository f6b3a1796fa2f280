// Command powersmtp is PowerMail's ESMTP receiver: it accepts mail only for
// mailboxes in the userbase and answers 250 only after the message is
// durable on W backends (see package internal/delivery).
//
// Usage: powersmtp [-config FILE] [-key value ...]; every key of the file is
// also a flag, and flags win. See powersmtp.conf.example.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"powermail/impl/internal/app"
	"powermail/impl/internal/config"
)

func main() {
	cfg := app.DefaultSMTPConfig()
	if err := config.Load("powersmtp", os.Args[1:], &cfg); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fail(err)
	}
	if err := cfg.Validate(); err != nil {
		fail(err)
	}
	log, err := app.Logger(cfg.LogLevel)
	if err != nil {
		fail(err)
	}
	ctx, stop := app.SignalContext()
	defer stop()
	if err := app.RunSMTP(ctx, cfg, log); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "powersmtp:", err)
	os.Exit(2)
}
