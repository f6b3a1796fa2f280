package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"powermail/impl/internal/maildrop"
	"powermail/impl/internal/pop3d"
	"powermail/impl/mailbox"
	"powermail/impl/userbase"
)

// POPConfig is powerpop's configuration.
type POPConfig struct {
	FrontConfig `prefix:""`
	// LocalStores: see local.go.
	LocalStores []string `key:"local-stores" help:"backend-address=store-directory,...: backends on this host whose store LIST and RETR read directly"`

	POP      pop3d.Config    `prefix:""`
	Backend  BackendConfig   `prefix:""`
	Userbase userbase.Config `prefix:"userbase-"`
}

// DefaultPOPConfig returns powerpop's defaults.
func DefaultPOPConfig() POPConfig {
	return POPConfig{FrontConfig: defaultFront("127.0.0.1:1110"), POP: pop3d.Defaults(),
		Backend: DefaultBackendConfig(), Userbase: userbase.Defaults()}
}

// Validate names the first bad key.
func (c POPConfig) Validate() error {
	for _, v := range []interface{ Validate() error }{c.FrontConfig, c.POP, c.Backend, c.Userbase} {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// RunPOP serves POP3 until ctx ends.
func RunPOP(ctx context.Context, cfg POPConfig, log *slog.Logger) error {
	ub, err := userbase.Open(cfg.Userbase)
	if err != nil {
		return err
	}
	defer ub.Close()
	cl, stopCluster, err := startView(ctx, cfg.Backend, ub, cfg.POP.Hostname, log)
	if err != nil {
		return err
	}
	defer stopCluster()
	pcfg := cfg.POP
	if pcfg.TLS, err = LoadTLS(cfg.TLSCert, cfg.TLSKey); err != nil {
		return err
	}
	local, err := openLocalStores(cfg.LocalStores, log)
	if err != nil {
		return err
	}
	defer local.close()
	drops := maildrop.New(maildrop.Config{Redundancy: cfg.Backend.Redundancy,
		ListTimeout: cfg.Backend.IOTimeout, IOTimeout: cfg.Backend.IOTimeout}, Locator(cl, local), log)
	srv, err := pop3d.New(pcfg, Authenticator{Userbase: ub}, Maildrops{drops}, log)
	if err != nil {
		return err
	}
	return Serve(ctx, srv, ServeOptions{Addr: cfg.Listen, MetricsAddr: cfg.MetricsListen, KeepAlive: -1,
		Grace: cfg.ShutdownTimeout}, log)
}

// Authenticator checks POP logins against the userbase (pop3d.Authenticator,
// and pop3d.APOPAuthenticator for mailboxes stored with {plain}: APOP, RFC
// 1939 section 7, needs the shared secret itself).
type Authenticator struct{ Userbase *userbase.Cached }

// Authenticate implements pop3d.Authenticator.
func (a Authenticator) Authenticate(ctx context.Context, login, pw string) (mailbox.Name, error) {
	e, err := a.Userbase.Authenticate(ctx, login, pw)
	if err != nil {
		return "", popError(err)
	}
	return e.Name, nil
}

// APOPSecret implements pop3d.APOPAuthenticator.
func (a Authenticator) APOPSecret(ctx context.Context, login string) (mailbox.Name, string, error) {
	name, secret, err := a.Userbase.APOPSecret(ctx, login)
	if err != nil {
		return "", "", popError(err)
	}
	return name, secret, nil
}

// popError maps userbase results to pop3d's: temporary stays temporary,
// everything else is an authentication failure with the same reply.
func popError(err error) error {
	if errors.Is(err, userbase.ErrVerifyBusy) {
		return fmt.Errorf("%w: %v", pop3d.ErrBusy, err)
	}
	if errors.Is(err, userbase.ErrTemporary) {
		return fmt.Errorf("%w: %v", pop3d.ErrTemporary, err)
	}
	return pop3d.ErrAuthFailed
}

// Maildrops adapts the merged maildrop to pop3d.
type Maildrops struct{ M *maildrop.Maildrops }

// Open implements pop3d.Maildrops.
func (m Maildrops) Open(ctx context.Context, box mailbox.Name) (pop3d.Maildrop, error) {
	d, err := m.M.Open(ctx, box)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pop3d.ErrTemporary, err)
	}
	msgs := make([]pop3d.Message, len(d.Messages()))
	for i, msg := range d.Messages() {
		msgs[i] = pop3d.Message{UID: string(msg.ID), Size: msg.Size}
	}
	return popDrop{d: d, msgs: msgs}, nil
}

type popDrop struct {
	d    *maildrop.Maildrop
	msgs []pop3d.Message
}

func (p popDrop) Messages() []pop3d.Message { return p.msgs }

func (p popDrop) Retrieve(ctx context.Context, i int, w io.Writer) error {
	if err := p.d.Retrieve(ctx, i, w); err != nil {
		// %w twice: pop3d must still recognise its own TOP writer's stop.
		return fmt.Errorf("%w: %w", pop3d.ErrTemporary, err)
	}
	return nil
}

func (p popDrop) Delete(ctx context.Context, is []int) error {
	if err := p.d.Delete(ctx, is); err != nil {
		return fmt.Errorf("%w: %v", pop3d.ErrTemporary, err)
	}
	return nil
}

func (p popDrop) Close() error { return nil }
