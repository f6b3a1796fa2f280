package mail

import (
	"fmt"

	"powermail/impl/mailbox"
)

// Recipient is one accepted RCPT: the mailbox that stores the message, or
// the addresses it is forwarded to. The SMTP server fills Address; the
// userbase's answer fills the rest.
type Recipient struct {
	Address    string       // canonical address as given in RCPT TO
	Mailbox    mailbox.Name // mailbox that stores the message (may be a catch-all's)
	Forward    []string     // non-empty: forward-only, nothing stored locally
	QuotaBytes int64        // 0: unlimited
}

// Reply is an SMTP reply (RFC 5321 section 4.2) with its enhanced status
// code (RFC 3463, announced per RFC 2034). It implements error, so that
// whatever refuses mail (the SMTP server's handlers, the recipient lookup,
// the delivery engine, the relay) returns the reply to send as it is.
type Reply struct {
	Code     int    // three-digit reply code
	Enhanced string // "x.y.z", empty for replies that carry none (220, 221 greeting)
	Text     string // one line, no CR or LF (the SMTP server splits a multi-line one at "\n")
}

func (r *Reply) Error() string { return r.String() }

// String is the one-line wire form without the trailing CRLF.
func (r *Reply) String() string {
	if r.Enhanced == "" {
		return fmt.Sprintf("%d %s", r.Code, r.Text)
	}
	return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
}

// Temporary reports a 4xx reply: the sender should try again later.
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }
