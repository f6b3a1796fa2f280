package smtpd

import (
	"errors"
	"fmt"

	"powermail/impl/mail"
)

func reply(code int, enhanced, format string, args ...any) *mail.Reply {
	return &mail.Reply{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

// Replies shared by several handlers.
var (
	replyInternal     = &mail.Reply{Code: 451, Enhanced: "4.3.0", Text: "internal error, try again later"}
	replyBadSequence  = &mail.Reply{Code: 503, Enhanced: "5.5.1", Text: "bad sequence of commands"}
	replySyntax       = &mail.Reply{Code: 501, Enhanced: "5.5.4", Text: "syntax error in parameters"}
	replyNoTx         = &mail.Reply{Code: 503, Enhanced: "5.5.1", Text: "need MAIL command first"}
	replyNoRcpt       = &mail.Reply{Code: 503, Enhanced: "5.5.1", Text: "need RCPT command first"}
	replyNeedHelo     = &mail.Reply{Code: 503, Enhanced: "5.5.1", Text: "say EHLO first"}
	replyTooManyErrs  = &mail.Reply{Code: 421, Enhanced: "4.7.0", Text: "too many errors, closing connection"}
	replyTimeout      = &mail.Reply{Code: 421, Enhanced: "4.4.2", Text: "timeout, closing connection"}
	replyShuttingDown = &mail.Reply{Code: 421, Enhanced: "4.3.2", Text: "service shutting down, try again later"}
	replyEvicted      = &mail.Reply{Code: 421, Enhanced: "4.3.2", Text: "idle session closed to make room, try again later"}
	replyDataTimeout  = &mail.Reply{Code: 421, Enhanced: "4.4.2", Text: "message data took too long, closing connection"}
	replyCmdTooLong   = &mail.Reply{Code: 500, Enhanced: "5.5.2", Text: "command line too long"}
	replyNeedCRLF     = &mail.Reply{Code: 500, Enhanced: "5.5.2", Text: "command line must end with CRLF"}
	replyTooManyConns = &mail.Reply{Code: 421, Enhanced: "4.7.0", Text: "too many connections, try again later"}
)

// asReply turns any error into the reply to send. Errors that are not a
// *mail.Reply are internal: the client sees only a generic 451 4.3.0 and the
// caller logs the details.
func asReply(err error) (r *mail.Reply, internal bool) {
	if errors.As(err, &r) {
		return r, false
	}
	return replyInternal, true
}
