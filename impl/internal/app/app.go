// Package app wires the front-end daemons (powersmtp, powerpop) from their
// configuration: the backend cluster (app.go, backend.go), the userbase,
// the metrics endpoint, logging and signal handling (main.go). Each
// daemon's own wiring is one file (smtp.go: RunSMTP; pop.go: RunPOP, with
// local.go for its local stores); the cmd/ mains only call Main.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"powermail/impl/config"
	"powermail/impl/internal/backendview"
	"powermail/impl/mail"
	"powermail/impl/placement"
	"powermail/impl/pp"
	"powermail/impl/ppclient"
	"powermail/impl/userbase"
)

// BackendConfig is the backend side of a front end's configuration.
type BackendConfig struct {
	Backends           []string         `key:"backends" help:"static backend list group:priority:host:port[:ro],...; empty: watch the userbase backends table"`
	Secret             string           `key:"backend-secret" help:"shared secret of the backends (prefer backend-secret-file)"`
	SecretFile         string           `key:"backend-secret-file" help:"file holding the shared secret of the backends"`
	Redundancy         int              `key:"redundancy" help:"R: copies of each message (PowerMail's redundancy target)"`
	Placement          placement.Policy `key:"placement" help:"where copies go and logins look: powermail (any R backends; a login lists all) or rendezvous (each mailbox's R home backends; needs the backends table)"`
	DialTimeout        time.Duration    `key:"backend-dial-timeout" help:"limit for connecting to a backend"`
	IOTimeout          time.Duration    `key:"backend-io-timeout" help:"limit for one exchange with a backend"`
	HealthInterval     time.Duration    `key:"health-interval" help:"how often each backend is asked for its status"`
	HealthTimeout      time.Duration    `key:"health-timeout" help:"limit for one status check"`
	MembershipInterval time.Duration    `key:"membership-interval" help:"how often the backend list is reloaded"`
}

// DefaultBackendConfig returns the defaults: R=2, checks every 2 s.
func DefaultBackendConfig() BackendConfig {
	return BackendConfig{
		Redundancy: 2, Placement: placement.PowerMail, DialTimeout: 2 * time.Second, IOTimeout: 10 * time.Second,
		HealthInterval: 2 * time.Second, HealthTimeout: time.Second, MembershipInterval: 5 * time.Second,
	}
}

// Validate names the first bad key.
func (c BackendConfig) Validate() error {
	if _, err := backendview.ParseMembers(c.Backends); err != nil {
		return config.Errorf("backends", "%v", err)
	}
	if c.Secret != "" && c.SecretFile != "" {
		return config.Errorf("backend-secret", "set backend-secret or backend-secret-file, not both")
	}
	durations := map[string]time.Duration{
		"backend-dial-timeout": c.DialTimeout, "backend-io-timeout": c.IOTimeout,
		"health-interval": c.HealthInterval, "health-timeout": c.HealthTimeout,
		"membership-interval": c.MembershipInterval,
	}
	for k, d := range durations {
		if d <= 0 {
			return config.Errorf(k, "must be positive")
		}
	}
	if c.Redundancy < 1 || c.Redundancy > 16 {
		return config.Errorf("redundancy", "must be between 1 and 16")
	}
	if _, err := placement.ParsePolicy(string(c.Placement)); err != nil {
		return config.Errorf("placement", "%v", err)
	}
	if c.Placement == placement.Rendezvous && len(c.Backends) > 0 {
		return config.Errorf("placement", "rendezvous needs the placement history of the userbase backends table, not a static backends list")
	}
	return nil
}

// LoadSecret returns the shared secret from the file or the value.
func (c BackendConfig) LoadSecret() (string, error) {
	if c.SecretFile != "" {
		s, err := pp.ReadSecretFile(c.SecretFile)
		if err != nil {
			return "", config.Errorf("backend-secret-file", "%v", err)
		}
		return s, nil
	}
	if err := pp.CheckSecret(c.Secret); err != nil {
		return "", config.Errorf("backend-secret", "must be at least %d bytes", pp.MinSecretBytes)
	}
	return c.Secret, nil
}

// View is the front ends' view of the backends: members, health, pools.
type View = backendview.View[*ppclient.Client]

// Node is one backend of a Cluster.
type Node = backendview.Node[*ppclient.Client]

// NewView builds the cluster from cfg: the static list if given, else
// the userbase's backends table (db must then be non-nil).
func NewView(cfg BackendConfig, db *userbase.DB, clientName string, log *slog.Logger) (*View, error) {
	secret, err := cfg.LoadSecret()
	if err != nil {
		return nil, err
	}
	var src backendview.Source
	if len(cfg.Backends) > 0 {
		src, _ = backendview.ParseMembers(cfg.Backends) // checked by Validate
	} else if db != nil {
		src = tableSource{db}
	} else {
		return nil, config.Errorf("backends", "empty, and no userbase database to read the backends table from")
	}
	dial := func(m mail.Member) *ppclient.Client {
		return ppclient.New(ppclient.Config{Addr: m.Addr, Secret: secret, ClientName: clientName,
			DialTimeout: cfg.DialTimeout, IOTimeout: cfg.IOTimeout})
	}
	ccfg := backendview.Config{HealthInterval: cfg.HealthInterval, HealthTimeout: cfg.HealthTimeout,
		MembershipInterval: cfg.MembershipInterval, Policy: cfg.Placement, Redundancy: cfg.Redundancy}
	return backendview.New(ccfg, src, dial, log), nil
}

// startView builds the cluster, loads its backend list and keeps it
// current (health checks, membership) until stop is called, which the
// daemon does when Serve has returned. It must outlive ctx, which ends at
// SIGTERM: the sessions that drain after it still deliver and delete
// through the cluster's pools and its view of which backends are up.
func startView(ctx context.Context, cfg BackendConfig, ub *userbase.Cached, clientName string, log *slog.Logger) (cl *View, stop func(), err error) {
	if cl, err = NewView(cfg, ub.DB(), clientName, log); err != nil {
		return nil, nil, err
	}
	if err := cl.Refresh(ctx); err != nil {
		log.Warn("backend list not loaded at start; retrying in the background", "err", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	go cl.Run(runCtx)
	return cl, stop, nil
}

// tableSource reads the enabled rows of the userbase backends table, and
// the placement history kept with it.
type tableSource struct{ db *userbase.DB }

func (t tableSource) History(ctx context.Context) (placement.History, error) {
	return t.db.History(ctx)
}

func (t tableSource) Members(ctx context.Context) ([]mail.Member, error) {
	return t.db.Members(ctx)
}

// ServeMetrics exposes /metrics on addr ("" disables it).
func ServeMetrics(addr string, log *slog.Logger) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return srv, nil
}

// SignalContext is cancelled by SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// LoadTLS reads a certificate pair; both empty means no TLS.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, config.Errorf("tls-cert", "tls-cert and tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, config.Errorf("tls-cert", "%v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
