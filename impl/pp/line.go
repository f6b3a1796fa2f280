package pp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds every command and reply line, CRLF included. The longest
// legitimate line is an AUTH (three fields of at most 64 bytes plus a name)
// or a COMMIT naming a few mailboxes of up to 254 bytes; longer lists use the
// "+<n>" block form.
const MaxLineBytes = 1024

// Errors of the line reader. All of them leave the stream out of step, so the
// reader's owner must close the connection.
var (
	ErrLineTooLong   = errors.New("line longer than 1024 bytes")
	ErrBadLineEnding = errors.New("bare CR or LF (lines must end in CRLF)")
	ErrNUL           = errors.New("NUL byte in line")
)

// NewReader returns a reader whose buffer can hold the longest line.
func NewReader(rd io.Reader, sizeBytes int) *bufio.Reader {
	return bufio.NewReaderSize(rd, max(sizeBytes, MaxLineBytes))
}

// ReadLine returns the next line without its CRLF. It refuses lines longer
// than MaxLineBytes, lines with a bare CR or LF and lines with a NUL. r's
// buffer must be at least MaxLineBytes (see NewReader). At a clean end of
// input it returns io.EOF; inside a line, io.ErrUnexpectedEOF.
func ReadLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull) || len(line) > MaxLineBytes:
		return "", ErrLineTooLong
	case err == io.EOF && len(line) > 0:
		return "", io.ErrUnexpectedEOF
	case err != nil:
		return "", err
	}
	return ParseLine(line)
}

// ParseLine checks a line read with its ending (by ReadLine, or by a
// server's line reader) and returns it without: CRLF only, no NUL.
func ParseLine(line []byte) (string, error) {
	body, ok := bytes.CutSuffix(line, []byte("\r\n"))
	if !ok || bytes.IndexByte(body, '\r') >= 0 {
		return "", ErrBadLineEnding
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return "", ErrNUL
	}
	return string(body), nil
}

// WriteLine buffers s followed by CRLF. It refuses what ReadLine would refuse,
// so a bug on this side shows up here rather than as a desynchronised peer.
func WriteLine(w *bufio.Writer, s string) error {
	if err := CheckLine(s); err != nil {
		return err
	}
	if _, err := w.WriteString(s); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}

// CheckLine reports whether s may be sent as one line.
func CheckLine(s string) error {
	switch {
	case len(s)+2 > MaxLineBytes:
		return ErrLineTooLong
	case containsAny(s, "\r\n"):
		return ErrBadLineEnding
	case containsAny(s, "\x00"):
		return ErrNUL
	}
	return nil
}

func containsAny(s, chars string) bool {
	for i := 0; i < len(s); i++ {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return true
			}
		}
	}
	return false
}

// maxCountDigits keeps every count below 10^18, inside int64.
const maxCountDigits = 18

// ParseCount parses a decimal count in [lo, hi]. It accepts only plain digits
// without sign or leading zeros, so each number has one spelling on the wire.
func ParseCount(s string, lo, hi int64) (int64, error) {
	if s == "" || len(s) > maxCountDigits || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("bad number %q", clip(s))
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", clip(s))
		}
		n = n*10 + int64(c-'0')
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("number %d out of range [%d, %d]", n, lo, hi)
	}
	return n, nil
}

// clip shortens untrusted input quoted in an error text.
func clip(s string) string {
	const maxQuoteBytes = 40
	if len(s) > maxQuoteBytes {
		return s[:maxQuoteBytes] + "..."
	}
	return s
}
