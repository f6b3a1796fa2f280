package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"powermail/impl/config"
	"powermail/impl/internal/delivery"
	"powermail/impl/internal/maildrop"
	"powermail/impl/internal/quota"
	"powermail/impl/internal/relay"
	"powermail/impl/internal/smtpd"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/orphanlog"
	"powermail/impl/placement"
	"powermail/impl/userbase"
)

// SMTPConfig is powersmtp's configuration.
type SMTPConfig struct {
	FrontConfig `prefix:""`

	// SMTP: the protocol server's keys, limits and timeouts (package smtpd).
	SMTP smtpd.Config `prefix:""`

	WriteQuorum int    `key:"write-quorum" help:"W: committed copies needed before 250; 0 means W = redundancy"`
	Spread      string `key:"spread" help:"placement powermail: how backends of equal priority are ordered: free (random, weighted by free space), most-free, least-load, random"`
	RelayHost   string `key:"relay-host" help:"outgoing SMTP host:port for forward-only mailboxes; empty refuses forwards with 451"`
	OrphanLog   string `key:"orphan-log" help:"file recording aborts that could not be delivered, for repair"`

	Backend  BackendConfig   `prefix:""`
	Userbase userbase.Config `prefix:"userbase-"`
}

// DefaultSMTPConfig returns powersmtp's defaults.
func DefaultSMTPConfig() SMTPConfig {
	return SMTPConfig{FrontConfig: defaultFront("127.0.0.1:2525"), SMTP: smtpd.Defaults(),
		Spread: placement.SpreadFree.String(), Backend: DefaultBackendConfig(), Userbase: userbase.Defaults()}
}

// quorum is W, defaulting to R (PowerMail's redundancy target).
func (c SMTPConfig) quorum() int {
	if c.WriteQuorum == 0 {
		return c.Backend.Redundancy
	}
	return c.WriteQuorum
}

func (c SMTPConfig) delivery() delivery.Config {
	return delivery.Config{Redundancy: c.Backend.Redundancy, WriteQuorum: c.quorum(),
		BackendTimeout: c.Backend.IOTimeout, ChunkBytes: 64 << 10,
		KeepaliveInterval: c.Backend.IOTimeout / 2}
}

// Validate names the first bad key.
func (c SMTPConfig) Validate() error {
	if err := c.FrontConfig.Validate(); err != nil {
		return err
	}
	if c.WriteQuorum < 0 || c.WriteQuorum > c.Backend.Redundancy {
		return config.Errorf("write-quorum", "must be between 1 and redundancy (%d), or 0 for W = R", c.Backend.Redundancy)
	}
	if _, err := placement.ParseSpread(c.Spread); err != nil {
		return config.Errorf("spread", "%v", err)
	}
	if err := c.Backend.Validate(); err != nil {
		return err
	}
	if err := c.Userbase.Validate(); err != nil {
		return err
	}
	if err := c.SMTP.Validate(); err != nil {
		return err
	}
	return c.delivery().Validate()
}

// RunSMTP serves SMTP until ctx ends, then finishes sessions in flight.
func RunSMTP(ctx context.Context, cfg SMTPConfig, log *slog.Logger) error {
	ub, err := userbase.Open(cfg.Userbase)
	if err != nil {
		return err
	}
	defer ub.Close()
	cl, stopCluster, err := startView(ctx, cfg.Backend, ub, cfg.SMTP.Hostname, log)
	if err != nil {
		return err
	}
	defer stopCluster()
	srv, d, err := newSMTPServer(cfg, ub, cl, log)
	if err != nil {
		return err
	}
	voidPending(ctx, d, log)
	go d.SweepVoids(ctx, voidSweepInterval)
	return Serve(ctx, srv, ServeOptions{Addr: cfg.Listen, MetricsAddr: cfg.MetricsListen, KeepAlive: -1,
		Grace: cfg.ShutdownTimeout}, log)
}

// Refusals no backend could take when they happened (see
// delivery.VoidPending) are applied before powersmtp accepts mail, within
// voidStartTimeout, and then every voidSweepInterval.
const (
	voidStartTimeout  = 30 * time.Second
	voidSweepInterval = 10 * time.Second
)

func voidPending(ctx context.Context, d *delivery.Deliverer, log *slog.Logger) {
	vctx, cancel := context.WithTimeout(ctx, voidStartTimeout)
	defer cancel()
	n, err := d.VoidPending(vctx)
	if err != nil {
		log.Warn("pending refusals not all voided at start; retrying in the background", "voided", n, "err", err)
	} else if n > 0 {
		log.Info("pending refusals voided at start", "voided", n)
	}
}

func newSMTPServer(cfg SMTPConfig, ub userbase.Userbase, cl *View, log *slog.Logger) (*smtpd.Server, *delivery.Deliverer, error) {
	scfg := cfg.SMTP
	tlsConf, err := LoadTLS(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, nil, err
	}
	scfg.TLSConfig = tlsConf
	drops := maildrop.New(maildrop.Config{Redundancy: cfg.Backend.Redundancy,
		ListTimeout: cfg.Backend.IOTimeout, IOTimeout: cfg.Backend.IOTimeout}, Locator(cl, nil), log)
	var orphans *orphanlog.Log
	if cfg.OrphanLog != "" {
		if orphans, err = orphanlog.Open(cfg.OrphanLog); err != nil {
			return nil, nil, config.Errorf("orphan-log", "%v", err)
		}
	}
	var rl delivery.Relay
	if cfg.RelayHost != "" {
		rl = relay.New(relay.Config{Addr: cfg.RelayHost, HeloName: cfg.SMTP.Hostname, IOTimeout: cfg.Backend.IOTimeout})
	}
	meter := quota.New(quota.Config{}, drops, nil)
	spread, _ := placement.ParseSpread(cfg.Spread) // checked by Validate
	d := delivery.New(cfg.delivery(), Picker{Cluster: cl, Spread: spread}, rl, meter, orphans, log)
	srv, err := smtpd.New(scfg, Resolver{Userbase: ub, Usage: meter}, Deliverer{d}, log)
	return srv, d, err
}

// Resolver answers RCPT from the userbase (smtpd.Resolver).
type Resolver struct {
	Userbase userbase.Userbase
	Usage    delivery.QuotaUsage // nil: quotas are checked only at end of data
}

var (
	replyNoMailbox = &mail.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such mailbox here"}
	replyBadName   = &mail.Reply{Code: 553, Enhanced: "5.1.3", Text: "mailbox name not allowed"}
	replyUserbase  = &mail.Reply{Code: 451, Enhanced: "4.3.0", Text: "cannot check recipients now, try again later"}
	replyFull      = &mail.Reply{Code: 452, Enhanced: "4.2.2", Text: "mailbox full"}
)

// Resolve implements smtpd.Resolver: exact mailbox, then catch-all; 550
// only when the userbase said "no such mailbox", 451 when it could not say.
func (r Resolver) Resolve(ctx context.Context, rcpt string) (mail.Recipient, error) {
	name, err := mailbox.Parse(rcpt)
	if err != nil {
		return mail.Recipient{}, replyBadName
	}
	e, err := r.Userbase.Lookup(ctx, name)
	switch {
	case errors.Is(err, userbase.ErrNoSuchMailbox):
		return mail.Recipient{}, replyNoMailbox
	case err != nil:
		return mail.Recipient{}, replyUserbase
	}
	// RFC 5321 section 4.5.3.1.10: 452 when full is known at RCPT time.
	if e.QuotaBytes > 0 && len(e.Forward) == 0 && r.Usage != nil && r.full(ctx, e.Name, e.QuotaBytes) {
		return mail.Recipient{}, replyFull
	}
	return mail.Recipient{Mailbox: e.Name, Forward: e.Forward, QuotaBytes: e.QuotaBytes}, nil
}

// full: the estimate says full and an exact count confirms it.
func (r Resolver) full(ctx context.Context, box mailbox.Name, quota int64) bool {
	for _, exact := range []bool{false, true} {
		if used, err := r.Usage.Usage(ctx, box, exact); err != nil || used < quota {
			return false
		}
	}
	return true
}

// Deliverer adapts delivery to smtpd.Deliverer.
type Deliverer struct{ D *delivery.Deliverer }

// Deliver implements smtpd.Deliverer. The recipients and a refusal (a
// *mail.Reply) pass as they are: smtpd and delivery share the types.
func (d Deliverer) Deliver(ctx context.Context, tx *smtpd.Transaction, body io.Reader) error {
	m := delivery.Message{ID: tx.ID, From: tx.MailFrom, Recipients: tx.Recipients, Received: tx.Received}
	_, err := d.D.Deliver(ctx, m, body)
	return err
}
