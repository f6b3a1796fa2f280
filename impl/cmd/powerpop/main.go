// Command powerpop is PowerMail's POP3 server: it presents each mailbox
// merged from every backend that holds part of it, without duplicates, and
// makes deletes stick (see package internal/maildrop).
//
// Usage: powerpop [-config FILE] [-key value ...]; every key of the file is
// also a flag, and flags win. See powerpop.conf.example.
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
	cfg := app.DefaultPOPConfig()
	if err := config.Load("powerpop", os.Args[1:], &cfg); err != nil {
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
	if err := app.RunPOP(ctx, cfg, log); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "powerpop:", err)
	os.Exit(2)
}
