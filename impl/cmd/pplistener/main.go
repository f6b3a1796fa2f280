// Command pplistener is a PowerMail backend: it serves the messages of one
// data directory (one per disk) to powersmtp, powerpop and ppadmin over the
// protocol of package powermail/impl/wire.
//
//	pplistener -config /etc/powermail/pplistener.conf
//
// Every key of the configuration file is also a flag (-root=/srv/mail1);
// flags win. SIGINT or SIGTERM stop accepting connections, let commands in
// flight (a commit) finish within shutdown-timeout, and exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"powermail/impl/internal/config"
	"powermail/impl/internal/listener"
	"powermail/impl/internal/listener/diskstore"
	"powermail/impl/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		fmt.Fprintln(os.Stderr, "pplistener:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address once connections are accepted (tests listen on port 0).
func run(ctx context.Context, args []string, ready chan<- string) error {
	cfg := Defaults()
	if err := config.Load("pplistener", args, &cfg); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	secret, _ := cfg.SecretBytes()   // checked by Validate
	log, _ := cfg.Log.New(os.Stderr) // checked by Validate
	st, err := store.Open(cfg.Root, store.Options{ReadOnly: cfg.ReadOnly, MinFreeBytes: cfg.MinFreeBytes,
		TombstoneTTL: cfg.TombstoneTTL, MaxMessageBytes: cfg.MaxMessageBytes, Logger: log,
		Flush: store.FlushMode(cfg.Flush)})
	if err != nil {
		return err
	}
	defer st.Close()
	exportStatus(st)
	srv, err := listener.New(diskstore.New(st), listener.Config{Secret: secret, MaxConns: cfg.MaxConns,
		IOTimeout: cfg.IOTimeout, IdleTimeout: cfg.IdleTimeout, MaxMessageBytes: cfg.MaxMessageBytes,
		ExpireInterval: cfg.ExpireInterval, LastWrite: st.Newest(), Logger: log})
	if err != nil {
		return err
	}
	return serve(ctx, cfg, srv, log, ready)
}

func serve(ctx context.Context, cfg Config, srv *listener.Server, log *slog.Logger, ready chan<- string) error {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	stopMetrics, err := startMetrics(cfg.MetricsListen, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("pplistener started", "addr", ln.Addr().String(), "config", cfg.String())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-served
	if err != nil {
		log.Warn("shutdown timed out; connections closed", "err", err)
	}
	return nil
}

// metricsReadTimeout bounds the reading of a /metrics request.
const metricsReadTimeout = 10 * time.Second

// startMetrics serves /metrics on addr (nothing when addr is empty) and
// returns the function that stops it.
func startMetrics(addr string, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: metricsReadTimeout}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server failed", "err", err)
		}
	}()
	return func() { hs.Close() }, nil
}
