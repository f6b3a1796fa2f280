package smtpd

import (
	"crypto/tls"
	"time"

	"powermail/impl/config"
	"powermail/impl/internal/serve"
	"powermail/impl/mailbox"
)

// Config holds the server's identity and limits. Every limit is named and
// has a default from Defaults; RFC 5321 section 4.5.3 gives the minimums.
// The tags are powersmtp's configuration keys (package config).
type Config struct {
	Hostname         string `key:"hostname" help:"our name in the greeting, EHLO reply and Received: headers"`
	PostmasterDomain string `key:"postmaster-domain" help:"<postmaster> is delivered to postmaster@ this domain (RFC 5321 4.5.1)"`

	MaxCommandBytes int   // command line incl. CRLF; RFC 5321 4.5.3.1.4: at least 512
	MaxLineBytes    int   // text line incl. CRLF; RFC 5321 4.5.3.1.6: at least 1000
	MaxRecipients   int   `key:"max-recipients" help:"recipients per message (RFC 5321: at least 100)"`
	MaxMessageBytes int64 `key:"max-message-bytes" help:"largest message accepted (SIZE, RFC 1870)"`
	MaxErrors       int   `key:"max-errors" help:"5xx replies before 421 and close"`

	CommandTimeout time.Duration `key:"command-timeout" help:"longest wait for the client's next command or data (RFC 5321 4.5.3.2)"`
	DataTimeout    time.Duration `key:"data-timeout" help:"longest message body (DATA to the final dot, or BDAT to LAST), however steadily it arrives; then 421"`
	SessionTimeout time.Duration `key:"session-timeout" help:"longest SMTP session, whatever the client does"`

	// Conn: connection limits, eviction of idle sessions, the time allowed
	// before the first transaction (package serve; the same keys in every
	// daemon, max-conns and max-conns-per-ip being the old spellings).
	Conn serve.Config `prefix:""`

	TLSConfig *tls.Config // nil: STARTTLS is not offered
}

// Defaults returns the configuration used unless the operator overrides it.
func Defaults() Config {
	return Config{
		Hostname:        "localhost",
		MaxCommandBytes: 512,
		MaxLineBytes:    1000,
		MaxRecipients:   100,
		MaxMessageBytes: 25 << 20, // PowerMail's max-msg-kb 25000
		MaxErrors:       10,
		CommandTimeout:  5 * time.Minute,
		// RFC 5321 4.5.3.2 bounds only the waits: the client's for each
		// data block (3 min, 4.5.3.2.5), ours for the next bytes (at least
		// 5 min, 4.5.3.2.7). A body that keeps trickling needs a total of
		// its own: it holds R backend streams and a tmp file on each. 20
		// minutes carries the largest message (25 MiB) at about 175 kbit/s;
		// the client's 10 minutes for our final reply (4.5.3.2.6) start
		// only after its last byte, and the backend timeouts bound them.
		DataTimeout:    20 * time.Minute,
		SessionTimeout: 30 * time.Minute, // PowerMail's idle timeout was 1800 s
		Conn:           serve.Config{MaxConnections: 1000, MaxConnectionsPerIP: 20, NewTimeout: time.Minute},
	}
}

// Validate rejects configurations that break the RFC minimums or make no
// sense; the error names the first bad key.
func (c Config) Validate() error {
	_, hostErr := mailbox.Parse("postmaster@" + c.Hostname)
	_, pmErr := mailbox.Parse("postmaster@" + c.PostmasterDomain)
	for _, v := range []struct {
		bad         bool
		key, format string
		args        []any
	}{
		{hostErr != nil, "hostname", "%q is not a domain", []any{c.Hostname}},
		{c.PostmasterDomain != "" && pmErr != nil, "postmaster-domain", "%q is not a domain", []any{c.PostmasterDomain}},
		{c.MaxCommandBytes < 512, "max-command-bytes", "%d < 512 (RFC 5321 4.5.3.1.4)", []any{c.MaxCommandBytes}},
		{c.MaxLineBytes < 1000, "max-line-bytes", "%d < 1000 (RFC 5321 4.5.3.1.6)", []any{c.MaxLineBytes}},
		{c.MaxRecipients < 1, "max-recipients", "%d < 1", []any{c.MaxRecipients}},
		{c.MaxMessageBytes < 1, "max-message-bytes", "%d < 1", []any{c.MaxMessageBytes}},
		{c.MaxErrors < 1, "max-errors", "%d < 1", []any{c.MaxErrors}},
		{c.CommandTimeout <= 0, "command-timeout", "%v must be positive", []any{c.CommandTimeout}},
		{c.SessionTimeout < c.CommandTimeout, "session-timeout", "%v is below command-timeout (%v)", []any{c.SessionTimeout, c.CommandTimeout}},
		// A data timeout beyond the session timeout is allowed: the end of
		// the session still cuts the body off, as it cuts off everything.
		{c.DataTimeout <= 0, "data-timeout", "%v must be positive", []any{c.DataTimeout}},
	} {
		if v.bad {
			return config.Errorf(v.key, v.format, v.args...)
		}
	}
	return c.Conn.Validate()
}

// readBufferBytes sizes the session's read buffer: it must hold a whole
// command or text line, so that the line readers can measure them, and a
// typical message body (a few KiB) arrives in one read rather than two.
func (c Config) readBufferBytes() int { return max(16<<10, c.MaxLineBytes+1, c.MaxCommandBytes+1) }
