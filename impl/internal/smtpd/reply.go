package smtpd

import (
	"errors"
	"fmt"
)

// Reply is an SMTP reply (RFC 5321 section 4.2) with its enhanced status code
// (RFC 3463, announced per RFC 2034). It implements error so that handlers,
// the Resolver and the Deliverer can return a reply to send on the wire.
type Reply struct {
	Code     int    // three-digit reply code
	Enhanced string // "x.y.z", empty for replies that carry none (220, 221 greeting)
	Text     string // one line, no CR or LF
}

func (r *Reply) Error() string { return r.String() }

// String is the wire form without the trailing CRLF.
func (r *Reply) String() string {
	if r.Enhanced == "" {
		return fmt.Sprintf("%d %s", r.Code, r.Text)
	}
	return fmt.Sprintf("%d %s %s", r.Code, r.Enhanced, r.Text)
}

// Temporary reports a 4xx reply.
func (r *Reply) Temporary() bool { return r.Code >= 400 && r.Code < 500 }

func reply(code int, enhanced, format string, args ...any) *Reply {
	return &Reply{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

// Replies shared by several handlers.
var (
	replyInternal     = &Reply{451, "4.3.0", "internal error, try again later"}
	replyBadSequence  = &Reply{503, "5.5.1", "bad sequence of commands"}
	replySyntax       = &Reply{501, "5.5.4", "syntax error in parameters"}
	replyNoTx         = &Reply{503, "5.5.1", "need MAIL command first"}
	replyNoRcpt       = &Reply{503, "5.5.1", "need RCPT command first"}
	replyNeedHelo     = &Reply{503, "5.5.1", "say EHLO first"}
	replyTooManyErrs  = &Reply{421, "4.7.0", "too many errors, closing connection"}
	replyTimeout      = &Reply{421, "4.4.2", "timeout, closing connection"}
	replyShuttingDown = &Reply{421, "4.3.2", "service shutting down, try again later"}
	replyEvicted      = &Reply{421, "4.3.2", "idle session closed to make room, try again later"}
	replyDataTimeout  = &Reply{421, "4.4.2", "message data took too long, closing connection"}
	replyCmdTooLong   = &Reply{500, "5.5.2", "command line too long"}
	replyNeedCRLF     = &Reply{500, "5.5.2", "command line must end with CRLF"}
	replyTooManyConns = &Reply{421, "4.7.0", "too many connections, try again later"}
)

// asReply turns any error into the reply to send. Errors that are not a
// *Reply are internal: the client sees only a generic 451 4.3.0 and the
// caller logs the details.
func asReply(err error) (r *Reply, internal bool) {
	if errors.As(err, &r) {
		return r, false
	}
	return replyInternal, true
}
