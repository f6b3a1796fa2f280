package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"powermail/impl/internal/config"
	"powermail/impl/internal/logging"
)

// daemonConfig is what Main needs of a front end's configuration.
type daemonConfig interface {
	Validate() error
	Logging() logging.Config
}

// Logging is the log-level and log-format keys.
func (c SMTPConfig) Logging() logging.Config { return c.Log }

// Logging is the log-level and log-format keys.
func (c POPConfig) Logging() logging.Config { return c.Log }

// Main is a front end's main: load cfg (defaults set by the caller) from the
// file and flags, validate it, and run until SIGINT or SIGTERM. Any error
// ends the process with status 2 and a message that names the bad key.
func Main[C daemonConfig](name string, cfg *C, run func(context.Context, C, *slog.Logger) error) {
	err := config.Load(name, os.Args[1:], cfg)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = (*cfg).Validate()
	}
	var log *slog.Logger
	if err == nil {
		log, err = (*cfg).Logging().New(os.Stderr)
	}
	if err == nil {
		ctx, stop := SignalContext()
		defer stop()
		err = run(ctx, *cfg, log)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
}
