package pop3d

import (
	"fmt"
	"strings"
)

// Response codes of RFC 2449 section 8 and RFC 3206.
const (
	codeInUse   = "IN-USE"   // RFC 2449 8.1.1: maildrop locked by another session
	codeSysTemp = "SYS/TEMP" // RFC 3206 4: transient system failure, retry later
	codeSysPerm = "SYS/PERM" // RFC 3206 4: permanent failure, human attention needed
	codeAuth    = "AUTH"     // RFC 3206 5: credentials (or how they were sent) refused
)

// reply is one POP3 response. It implements error so that a handler can pass
// a failure up as the reply the client must see.
type reply struct {
	ok     bool
	code   string   // response code without brackets; "" for none
	text   string   // single-line text after the status and code
	lines  []string // multi-line body, written dot-stuffed and terminated
	multi  bool     // lines is a multi-line body even if empty (RFC 1939 section 3)
	sent   bool     // the handler already wrote the whole response (RETR, TOP)
	close  bool     // close the connection after this reply
	misuse bool     // a client mistake, counted towards Config.MaxErrors
}

func okReply(format string, args ...any) reply {
	return reply{ok: true, text: fmt.Sprintf(format, args...)}
}

func okLines(text string, lines []string) reply {
	return reply{ok: true, text: text, lines: lines, multi: true}
}

func errReply(code, format string, args ...any) reply {
	return reply{code: code, text: fmt.Sprintf(format, args...)}
}

func (r reply) Error() string { return r.status() }

// status is the first line without CRLF.
func (r reply) status() string {
	var b strings.Builder
	if r.ok {
		b.WriteString("+OK")
	} else {
		b.WriteString("-ERR")
	}
	if r.code != "" {
		b.WriteString(" [" + r.code + "]")
	}
	if r.text != "" {
		b.WriteString(" " + r.text)
	}
	return b.String()
}

// result is the metric label of the reply.
func (r reply) result() string {
	if r.ok {
		return "ok"
	}
	return "err"
}

// dotStuff applies RFC 1939 section 3 byte-stuffing to one line of a
// multi-line response.
func dotStuff(line string) string {
	if strings.HasPrefix(line, ".") {
		return "." + line
	}
	return line
}
