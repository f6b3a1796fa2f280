package app

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"powermail/impl/config"
	"powermail/impl/internal/logging"
)

// daemonConfig is what Main needs of a daemon's configuration.
type daemonConfig interface {
	Validate() error
	Logging() logging.Config
}

// Logging is the log-level and log-format keys.
func (c SMTPConfig) Logging() logging.Config { return c.Log }

// Logging is the log-level and log-format keys.
func (c POPConfig) Logging() logging.Config { return c.Log }

// Main is a daemon's main (powersmtp, powerpop, pplistener): load cfg (defaults set by the caller) from the
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

// Server is a protocol server on package serve's skeleton (smtpd, pop3d,
// listener).
type Server interface {
	Serve(ln net.Listener) error
	Shutdown(ctx context.Context) error
}

// ServeOptions say where and how Serve listens.
type ServeOptions struct {
	Addr        string
	MetricsAddr string // Prometheus /metrics; empty: none
	// KeepAlive is TCP keepalive on accepted connections, as in
	// net.ListenConfig: negative disables it. Front ends disable it:
	// sessions have their own timeouts, and the setsockopt calls were a
	// measurable part of a one-message SMTP session.
	KeepAlive time.Duration
	// Grace bounds the wait for sessions in flight at shutdown (0: 30 s).
	Grace time.Duration
	// Ready, if not nil, receives the listening address (tests listen on
	// port 0).
	Ready chan<- string
}

// defaultGrace is ServeOptions.Grace's default.
const defaultGrace = 30 * time.Second

// Serve listens and serves until ctx ends; then it stops accepting and
// lets sessions in flight finish (each bounded by its own timeouts) within
// the grace period, after which they are closed.
func Serve(ctx context.Context, srv Server, opt ServeOptions, log *slog.Logger) error {
	lc := net.ListenConfig{KeepAlive: opt.KeepAlive}
	ln, err := lc.Listen(ctx, "tcp", opt.Addr)
	if err != nil {
		return err
	}
	msrv, err := ServeMetrics(opt.MetricsAddr, log)
	if err != nil {
		ln.Close()
		return err
	}
	if msrv != nil {
		defer msrv.Close()
	}
	log.Info("listening", "addr", ln.Addr().String(), "metrics", opt.MetricsAddr)
	if opt.Ready != nil {
		opt.Ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	grace := cmp.Or(opt.Grace, defaultGrace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	if err != nil {
		log.Warn("shutdown grace period over; connections closed", "grace", grace, "err", err)
	}
	return nil
}
