package app

import (
	"time"

	"powermail/impl/config"
	"powermail/impl/internal/logging"
)

// FrontConfig holds the keys powersmtp and powerpop share: where they
// listen, TLS, metrics, logs, and how long SIGTERM waits for work in
// flight. Both embed it, so a key means the same in both.
type FrontConfig struct {
	Listen        string         `key:"listen" help:"address for the protocol (SMTP or POP3)"`
	TLSCert       string         `key:"tls-cert" help:"certificate file (PEM) enabling STARTTLS (SMTP) or STLS (POP3)"`
	TLSKey        string         `key:"tls-key" help:"private key file (PEM) of tls-cert"`
	MetricsListen string         `key:"metrics-listen" help:"address for Prometheus /metrics; empty disables"`
	Log           logging.Config `prefix:""`
	// ShutdownTimeout: see ServeOptions.Grace.
	ShutdownTimeout time.Duration `key:"shutdown-timeout" help:"on SIGTERM, wait this long for work in flight (a message in DATA, a QUIT applying deletes) to finish, then close the remaining connections"`
}

func defaultFront(listen string) FrontConfig {
	return FrontConfig{Listen: listen, Log: logging.Defaults(), ShutdownTimeout: defaultGrace}
}

// Validate names the first bad key.
func (c FrontConfig) Validate() error {
	if c.Listen == "" {
		return config.Errorf("listen", "must not be empty")
	}
	if c.ShutdownTimeout <= 0 {
		return config.Errorf("shutdown-timeout", "must be positive")
	}
	return c.Log.Validate()
}
