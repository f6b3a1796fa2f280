package pp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reply codes. The first digit says whether to retry (4) or not (5), in the
// spirit of RFC 5321 section 4.2.1; the rest name the condition.
const (
	CodeShutdown     = 421 // server going away; retry elsewhere or later
	CodeLocal        = 451 // internal error; details are in the server log
	CodeNoSpace      = 452 // below the free-space floor
	CodeReadOnly     = 453 // backend is read-only
	CodeSyntax       = 500 // unknown verb, wrong number of arguments, bad line
	CodeBadArg       = 501 // invalid mailbox name, id or number
	CodeBadSequence  = 503 // e.g. COMMIT of an id that was never prepared
	CodeAuthRequired = 530 // command sent before AUTH
	CodeAuthFailed   = 535 // wrong proof; the connection is closed
	CodeNotFound     = 550 // no such message
	CodeTooLarge     = 552 // message or frame larger than allowed
	CodeFailed       = 554 // checksum or length mismatch, id already exists
)

// Error is an ERR reply. It is the error type that the client returns for
// server-reported failures and that the server turns into a reply line.
type Error struct {
	Code int
	Text string
}

// Errorf returns an *Error with a formatted text.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Text: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string { return fmt.Sprintf("backend: %d %s", e.Code, e.Text) }

// Temporary reports whether the same request may succeed later (4xx).
func (e *Error) Temporary() bool { return e.Code >= 400 && e.Code < 500 }

// ErrMalformedReply means the peer sent something that is neither OK nor a
// well-formed ERR line.
var ErrMalformedReply = errors.New("malformed reply")

// FormatOK returns the line "OK <text>" (or "OK" when text is empty).
func FormatOK(text string) string {
	if text == "" {
		return "OK"
	}
	return "OK " + text
}

// FormatErr returns the line "ERR <code> <text>". The text is cleaned of
// control characters and cut to fit a line, because it may quote input.
func FormatErr(e *Error) string {
	code := e.Code
	if code < 400 || code > 599 {
		code = CodeLocal
	}
	text := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, e.Text)
	const maxTextBytes = MaxLineBytes - len("ERR 000 \r\n")
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
	}
	return "ERR " + strconv.Itoa(code) + " " + text
}

// ParseReply splits a reply line. For OK it returns the text and nil; for
// ERR it returns an *Error; for anything else ErrMalformedReply.
func ParseReply(line string) (string, error) {
	if line == "OK" {
		return "", nil
	}
	if text, ok := strings.CutPrefix(line, "OK "); ok {
		return text, nil
	}
	rest, ok := strings.CutPrefix(line, "ERR ")
	if !ok || len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return "", fmt.Errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	code, err := ParseCount(rest[:3], 400, 599)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrMalformedReply, clip(line))
	}
	return "", &Error{Code: int(code), Text: strings.TrimPrefix(rest[3:], " ")}
}
