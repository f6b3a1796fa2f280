// Command pplistener is a PowerMail backend: it serves the messages of one
// data directory (one per disk) to powersmtp, powerpop and ppadmin over the
// protocol of package powermail/impl/pp.
//
//	pplistener -config /etc/powermail/pplistener.conf
//
// Every key of the configuration file is also a flag (-root=/srv/mail1);
// flags win. SIGINT or SIGTERM stop accepting connections, let commands in
// flight (a commit) finish within shutdown-timeout, and exit. A bad
// configuration ends it with status 2 and a message naming the key.
package main

import (
	"context"
	"log/slog"

	"powermail/impl/internal/app"
	"powermail/impl/internal/ppserver"
	"powermail/impl/internal/ppserver/diskstore"
	"powermail/impl/store"
)

func main() {
	cfg := Defaults()
	app.Main("pplistener", &cfg, func(ctx context.Context, cfg Config, log *slog.Logger) error {
		return run(ctx, cfg, log, nil)
	})
}

// run serves until ctx ends. ready, if not nil, receives the listening
// address once connections are accepted (tests listen on port 0).
func run(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	secret, _ := cfg.SecretBytes() // checked by Validate
	st, err := store.Open(cfg.Root, store.Options{ReadOnly: cfg.ReadOnly, MinFreeBytes: cfg.MinFreeBytes,
		TombstoneTTL: cfg.TombstoneTTL, MaxMessageBytes: cfg.MaxMessageBytes, Logger: log,
		Flush: store.FlushMode(cfg.Flush)})
	if err != nil {
		return err
	}
	defer st.Close()
	exportStatus(st)
	srv, err := ppserver.New(ppserver.Config{Secret: secret, Conn: cfg.Conn,
		IOTimeout: cfg.IOTimeout, IdleTimeout: cfg.IdleTimeout, MaxMessageBytes: cfg.MaxMessageBytes,
		ExpireInterval: cfg.ExpireInterval, LastWrite: st.Newest()}, diskstore.New(st), log)
	if err != nil {
		return err
	}
	log.Info("pplistener starting", "config", cfg.String())
	return app.Serve(ctx, srv, app.ServeOptions{Addr: cfg.Listen, MetricsAddr: cfg.MetricsListen,
		Grace: cfg.ShutdownTimeout, Ready: ready}, log)
}
