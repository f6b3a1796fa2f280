// Package smtpd is powersmtp's ESMTP receiver (RFC 5321) with PIPELINING
// (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), ENHANCEDSTATUSCODES
// (RFC 2034, RFC 3463), SMTPUTF8 (RFC 6531), STARTTLS (RFC 3207) and
// CHUNKING (RFC 3030).
//
// It knows the protocol, not the policy: which recipients exist is asked of a
// Resolver, and what happens to a message is the business of a Deliverer. Both
// are interfaces defined here, by their consumer; only the powersmtp main knows
// the concrete types (the userbase and the redundant delivery engine).
//
// A message streams: the Deliverer runs concurrently with the DATA reader and
// reads the body, in the stored form (see the DATA reader), while it arrives.
// The final reply is written only after Deliver has returned, so a 250 always
// means the Deliverer accepted the complete message (RFC 5321 section 6.1).
//
// Security properties, each with a test: only CRLF "." CRLF ends DATA and bare
// CR or LF closes the session (SMTP smuggling, CVE-2023-51764); input
// pipelined behind STARTTLS is refused (CVE-2011-0411); every recipient must
// be known to the Resolver, whatever its spelling (no open relay); every
// resource has a named limit in Config.
package smtpd

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"time"

	"powermail/impl/mail"
	"powermail/impl/msgid"
)

// Resolver looks up recipients. rcpt is a canonical mailbox name (see
// mailbox.Parse); the server fills in the Recipient's Address. Errors that
// are a *mail.Reply are sent as they are (550 5.1.1 unknown, 452 4.2.2
// over quota, 451 4.3.0 userbase unavailable); any other error is logged
// and answered 451 4.3.0.
type Resolver interface {
	Resolve(ctx context.Context, rcpt string) (mail.Recipient, error)
}

// Deliverer stores or forwards one message. body yields the stored form
// (CRLF lines, dot-stuffing kept, no terminator) beginning with our Received:
// header; it returns an error if the client's data turns out bad, and then
// Deliver must give up. A nil return means the message is safe (250); a
// *mail.Reply is sent as it is; any other error is logged and answered 451
// 4.3.0.
type Deliverer interface {
	Deliver(ctx context.Context, tx *Transaction, body io.Reader) error
}

// Transaction is one mail transaction (RFC 5321 section 3.3) as handed to the
// Deliverer. The Deliverer must not keep it after Deliver returns.
type Transaction struct {
	ID           msgid.ID // chosen when the body starts; the stored id and the id in Received:
	SessionID    string
	ClientIP     netip.Addr // invalid when the transport has none
	Helo         string
	MailFrom     string // reverse-path without brackets; "" for the null path <>
	Recipients   []mail.Recipient
	DeclaredSize int64     // SIZE= of MAIL FROM, 0 when absent (RFC 1870)
	Received     time.Time // when the body started
	ESMTP        bool      // EHLO rather than HELO
	TLS          bool
	SMTPUTF8     bool
}

// hasRecipient reports whether address was already accepted in tx, so that a
// repeated RCPT does not deliver twice.
func (tx *Transaction) hasRecipient(address string) bool {
	return slices.ContainsFunc(tx.Recipients, func(r mail.Recipient) bool { return r.Address == address })
}
