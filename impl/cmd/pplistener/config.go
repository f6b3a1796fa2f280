package main

import (
	"fmt"
	"time"

	"powermail/impl/config"
	"powermail/impl/internal/logging"
	"powermail/impl/internal/ppserver"
	"powermail/impl/internal/serve"
	"powermail/impl/pp"
	"powermail/impl/store"
)

// Config of the pplistener daemon; see deploy/config/pplistener.conf.
type Config struct {
	Listen          string        `key:"listen" help:"address:port for the backend protocol"`
	Root            string        `key:"root" help:"data directory of this backend (one per disk)"`
	Secret          string        `key:"secret" help:"shared secret (at least 16 bytes); prefer secret-file"`
	SecretFile      string        `key:"secret-file" help:"file holding the shared secret"`
	ReadOnly        bool          `key:"readonly" help:"start read-only: refuse new mail"`
	MinFreeBytes    uint64        `key:"min-free-bytes" help:"refuse new mail below this much free space"`
	MaxMessageBytes int64         `key:"max-message-bytes" help:"largest message accepted"`
	TombstoneTTL    time.Duration `key:"tombstone-ttl" help:"how long delete tombstones are kept"`
	Flush           string        `key:"flush" help:"how writes are made durable: auto, syncfs (group commit) or fsync (per file)"`
	ExpireInterval  time.Duration `key:"tombstone-expire-interval" help:"how often expired tombstones are removed"`
	MetricsListen   string        `key:"metrics-listen" help:"address:port for /metrics (empty: off)"`
	// Conn: max-connections, max-connections-per-ip and
	// new-connection-timeout (the time to AUTH); see ppserver.Config.
	Conn            serve.Config   `prefix:""`
	IOTimeout       time.Duration  `key:"io-timeout" help:"bound on one command or one frame"`
	IdleTimeout     time.Duration  `key:"idle-timeout" help:"close connections idle this long"`
	ShutdownTimeout time.Duration  `key:"shutdown-timeout" help:"on SIGTERM, wait this long for commands in flight"`
	Log             logging.Config `prefix:""`
}

// Defaults returns the configuration used for keys not set. Port 1101 is
// the original pplistener's.
func Defaults() Config {
	return Config{
		Listen:          "127.0.0.1:1101",
		MinFreeBytes:    256 << 20,
		MaxMessageBytes: 64 << 20,
		TombstoneTTL:    30 * 24 * time.Hour,
		Flush:           string(store.FlushAuto),
		ExpireInterval:  time.Hour,
		MetricsListen:   "127.0.0.1:9101",
		Conn: serve.Config{MaxConnections: ppserver.DefaultMaxConnections,
			MaxConnectionsPerIP: ppserver.DefaultMaxConnections, NewTimeout: ppserver.DefaultIOTimeout},
		IOTimeout:       30 * time.Second,
		IdleTimeout:     5 * time.Minute,
		ShutdownTimeout: 30 * time.Second,
		Log:             logging.Defaults(),
	}
}

// Validate rejects unusable settings with a message naming the key. The
// original accepted an empty password from anywhere; we refuse to start
// without a real secret.
func (c Config) Validate() error {
	switch {
	case c.Listen == "":
		return config.Errorf("listen", "must be set")
	case c.Root == "":
		return config.Errorf("root", "must be set to the backend's data directory")
	case c.MaxMessageBytes <= 0:
		return config.Errorf("max-message-bytes", "must be positive")
	case c.TombstoneTTL <= 0 || c.ExpireInterval <= 0:
		return config.Errorf("tombstone-ttl", "tombstone-ttl and tombstone-expire-interval must be positive")
	case c.IOTimeout <= 0 || c.IdleTimeout <= 0 || c.ShutdownTimeout <= 0:
		return config.Errorf("io-timeout", "io-timeout, idle-timeout and shutdown-timeout must be positive")
	}
	if err := c.Conn.Validate(); err != nil {
		return err
	}
	if _, err := store.ParseFlushMode(c.Flush); err != nil {
		return config.Errorf("flush", "%v", err)
	}
	if err := c.Log.Validate(); err != nil {
		return err
	}
	_, err := c.SecretBytes()
	return err
}

// SecretBytes returns the shared secret from secret or secret-file (exactly
// one must be set). Surrounding white space in the file is ignored, so a
// trailing newline does not become part of the secret.
func (c Config) SecretBytes() ([]byte, error) {
	key, secret := "secret", c.Secret
	switch {
	case c.Secret != "" && c.SecretFile != "":
		return nil, config.Errorf("secret", "set secret or secret-file, not both")
	case c.SecretFile != "":
		s, err := pp.ReadSecretFile(c.SecretFile)
		if err != nil {
			return nil, config.Errorf("secret-file", "%v", err)
		}
		key, secret = "secret-file", s
	}
	if err := pp.CheckSecret(secret); err != nil {
		return nil, config.Errorf(key, "secret must be at least %d bytes (got %d)", pp.MinSecretBytes, len(secret))
	}
	return []byte(secret), nil
}

func (c Config) String() string {
	return fmt.Sprintf("listen=%s root=%s readonly=%v min-free-bytes=%d max-connections=%d flush=%s",
		c.Listen, c.Root, c.ReadOnly, c.MinFreeBytes, c.Conn.MaxConnections, c.Flush)
}

// Logging is the log-level and log-format keys.
func (c Config) Logging() logging.Config { return c.Log }
