package pop3d

import (
	"crypto/tls"
	"time"

	"powermail/impl/config"
	"powermail/impl/internal/serve"
)

// Values of Config.PlaintextAuth.
const (
	PlaintextLoopback = "loopback" // only clients on a loopback address
	PlaintextAlways   = "always"   // any client (a TLS-terminating proxy in front, for example)
	PlaintextNever    = "never"    // TLS first, always
)

// minIdleTimeout is RFC 1939 section 3: "such a timer MUST be of at least 10
// minutes' duration".
const minIdleTimeout = 10 * time.Minute

// Config holds the limits and policies of a Server. The tags let the powerpop
// main copy the fields into its own configuration (package config).
type Config struct {
	Hostname string `key:"hostname" help:"host name in the greeting and the APOP timestamp"`

	IdleTimeout      time.Duration `key:"idle-timeout" help:"autologout timer between commands (RFC 1939: at least 10m)"`
	WriteTimeout     time.Duration `key:"write-timeout" help:"limit for sending one reply"`
	RetrTimeout      time.Duration `key:"retr-timeout" help:"limit for sending one message (RETR, TOP)"`
	BackendTimeout   time.Duration `key:"backend-timeout" help:"limit for one userbase check, maildrop open or delete"`
	HandshakeTimeout time.Duration `key:"tls-handshake-timeout" help:"limit for the TLS handshake after STLS"`

	// Conn: connection limits, eviction of idle sessions, the time
	// allowed before login (package serve; the same keys in every daemon).
	Conn            serve.Config `prefix:""`
	MaxErrors       int          `key:"max-errors" help:"protocol errors before the session is closed"`
	MaxAuthFailures int          `key:"max-auth-failures" help:"failed logins before the session is closed"`

	PlaintextAuth   string        `key:"plaintext-auth" help:"where USER/PASS and AUTH PLAIN work without TLS: loopback, always, never"`
	AuthDelayBase   time.Duration `key:"auth-delay-base" help:"delay after the first failed login of an IP or login; doubles per failure; also the least wait for -ERR [SYS/TEMP] when password checks are saturated"`
	AuthDelayMax    time.Duration `key:"auth-delay-max" help:"cap of the failed-login delay"`
	AuthDelayForget time.Duration `key:"auth-delay-forget" help:"failures are forgotten this long after the last one"`

	// TLS enables STLS when not nil. Set by the main from its certificate
	// files; not a configuration key itself.
	TLS *tls.Config
	// Clock times the login penalty; nil: real time (tests set it).
	Clock Clock
}

// Defaults returns the configuration for a public server.
func Defaults() Config {
	return Config{
		Hostname:         "localhost",
		IdleTimeout:      minIdleTimeout,
		WriteTimeout:     time.Minute,
		RetrTimeout:      30 * time.Minute,
		BackendTimeout:   30 * time.Second,
		HandshakeTimeout: 30 * time.Second,
		Conn:             serve.Config{MaxConnections: 1000, MaxConnectionsPerIP: 20, NewTimeout: time.Minute},
		MaxErrors:        10,
		MaxAuthFailures:  3,
		PlaintextAuth:    PlaintextLoopback,
		AuthDelayBase:    2 * time.Second,
		AuthDelayMax:     15 * time.Second,
		AuthDelayForget:  15 * time.Minute,
	}
}

// Validate rejects values that would break the protocol or a limit.
func (c Config) Validate() error {
	switch {
	case c.Hostname == "":
		return config.Errorf("hostname", "must not be empty")
	case c.IdleTimeout < minIdleTimeout:
		return config.Errorf("idle-timeout", "%v is below the RFC 1939 minimum of %v", c.IdleTimeout, minIdleTimeout)
	case c.WriteTimeout <= 0:
		return config.Errorf("write-timeout", "must be positive")
	case c.RetrTimeout < c.WriteTimeout:
		return config.Errorf("retr-timeout", "must be at least write-timeout (%v)", c.WriteTimeout)
	case c.BackendTimeout <= 0:
		return config.Errorf("backend-timeout", "must be positive")
	case c.HandshakeTimeout <= 0:
		return config.Errorf("tls-handshake-timeout", "must be positive")
	}
	return c.validateLimits()
}

func (c Config) validateLimits() error {
	if err := c.Conn.Validate(); err != nil {
		return err
	}
	switch {
	case c.MaxErrors < 1:
		return config.Errorf("max-errors", "must be at least 1")
	case c.MaxAuthFailures < 1:
		return config.Errorf("max-auth-failures", "must be at least 1")
	case c.PlaintextAuth != PlaintextLoopback && c.PlaintextAuth != PlaintextAlways && c.PlaintextAuth != PlaintextNever:
		return config.Errorf("plaintext-auth", "%q is not one of loopback, always, never", c.PlaintextAuth)
	case c.AuthDelayBase < 0 || c.AuthDelayMax < c.AuthDelayBase:
		return config.Errorf("auth-delay-max", "must be at least auth-delay-base (%v), both not negative", c.AuthDelayBase)
	case c.AuthDelayForget <= 0:
		return config.Errorf("auth-delay-forget", "must be positive")
	}
	return nil
}
