package smtpd

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"powermail/impl/mailbox"
)

// Config holds the server's identity and limits. Every limit is named and
// has a default from Defaults; RFC 5321 section 4.5.3 gives the minimums.
type Config struct {
	Hostname         string // in the greeting, EHLO reply and Received: header
	PostmasterDomain string // "<postmaster>" resolves as postmaster@PostmasterDomain (RFC 5321 4.5.1)

	MaxCommandBytes int   // command line incl. CRLF; RFC 5321 4.5.3.1.4: at least 512
	MaxLineBytes    int   // text line incl. CRLF; RFC 5321 4.5.3.1.6: at least 1000
	MaxRecipients   int   // per transaction; RFC 5321 4.5.3.1.8: at least 100
	MaxMessageBytes int64 // stored size, announced as SIZE (RFC 1870)
	MaxErrors       int   // 5xx replies before 421 and close

	CommandTimeout time.Duration // longest wait for the client's next bytes (RFC 5321 4.5.3.2)
	DataTimeout    time.Duration // longest message body: DATA's 354 to ".", or first BDAT to LAST (capped by SessionTimeout)
	SessionTimeout time.Duration // longest connection, whatever the client does

	MaxConns      int // concurrent sessions in total
	MaxConnsPerIP int // concurrent sessions from one client IP

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
		MaxConns:       1000,
		MaxConnsPerIP:  20,
	}
}

// Validate rejects configurations that break the RFC minimums or make no sense.
func (c Config) Validate() error {
	var errs []error
	check := func(bad bool, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("smtpd: "+format, args...))
		}
	}
	_, hostErr := mailbox.Parse("postmaster@" + c.Hostname)
	check(hostErr != nil, "hostname %q is not a domain", c.Hostname)
	if c.PostmasterDomain != "" {
		_, err := mailbox.Parse("postmaster@" + c.PostmasterDomain)
		check(err != nil, "postmaster domain %q is not a domain", c.PostmasterDomain)
	}
	check(c.MaxCommandBytes < 512, "max command bytes %d < 512 (RFC 5321 4.5.3.1.4)", c.MaxCommandBytes)
	check(c.MaxLineBytes < 1000, "max line bytes %d < 1000 (RFC 5321 4.5.3.1.6)", c.MaxLineBytes)
	check(c.MaxRecipients < 1, "max recipients %d < 1", c.MaxRecipients)
	check(c.MaxMessageBytes < 1, "max message bytes %d < 1", c.MaxMessageBytes)
	check(c.MaxErrors < 1, "max errors %d < 1", c.MaxErrors)
	check(c.CommandTimeout <= 0 || c.SessionTimeout < c.CommandTimeout,
		"need 0 < command timeout (%v) <= session timeout (%v)", c.CommandTimeout, c.SessionTimeout)
	// A data timeout beyond the session timeout is allowed: the end of the
	// session still cuts the body off, as it cuts off everything.
	check(c.DataTimeout <= 0, "data timeout %v must be positive", c.DataTimeout)
	check(c.MaxConns < 1 || c.MaxConnsPerIP < 1 || c.MaxConnsPerIP > c.MaxConns,
		"need 1 <= max conns per IP (%d) <= max conns (%d)", c.MaxConnsPerIP, c.MaxConns)
	return errors.Join(errs...)
}

// readBufferBytes sizes the session's read buffer: it must hold a whole
// command or text line, so that the line readers can measure them.
func (c Config) readBufferBytes() int { return max(4096, c.MaxLineBytes+1, c.MaxCommandBytes+1) }
