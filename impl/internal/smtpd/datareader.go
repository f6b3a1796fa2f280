package smtpd

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"powermail/impl/mail"
)

// Errors of the DATA reader. Each is the reply the session sends.
var (
	// RFC 5321 section 4.5.3.1.6: a text line is at most 1000 octets with CRLF.
	errDataLineTooLong = &mail.Reply{Code: 500, Enhanced: "5.6.0", Text: "message line too long (RFC 5321 4.5.3.1.6)"}
	// RFC 1870 section 6.3 / RFC 3463: 552 5.3.4 "message too big for system".
	errMessageTooLarge = &mail.Reply{Code: 552, Enhanced: "5.3.4", Text: "message exceeds the maximum size"}
	// RFC 5321 section 2.3.8: CR and LF appear only together as CRLF. A bare one
	// is how SMTP smuggling (CVE-2023-51764) hides a second message; the session
	// is closed after this reply because client and server no longer agree
	// where the data ended.
	errBareNewline = &mail.Reply{Code: 554, Enhanced: "5.5.2", Text: "bare CR or LF in message (RFC 5321 2.3.8), closing connection"}
)

// dataReader reads DATA content (RFC 5321 section 4.1.1.4) from r and yields
// it in the STORED FORM: the wire bytes as sent, CRLF line endings, dot-stuffing
// kept, without the final ".\r\n". It is strict where textproto.DotReader is
// lenient: only CRLF "." CRLF ends the data, every line must end in CRLF and
// contain no other CR, lines are limited to maxLineBytes, and the total to
// maxBytes, checked while streaming.
//
// A line still arriving is passed on in pieces (see partial), so that a body
// trickling in reaches the Deliverer, and through it the backends, which
// drop a stream silent for their idle timeout, byte by byte rather than line
// by line: a slow sender's line can take longer than that timeout (issue
// 14: a byte every 5 s). After an error the Deliverer must give up anyway,
// so a piece of the failing line that it may have read does no harm.
//
// After Read returns a *mail.Reply, drain consumes the rest through the terminator so
// the session stays in step with the client.
type dataReader struct {
	r            *bufio.Reader // its buffer must exceed maxLineBytes
	maxLineBytes int
	maxBytes     int64
	size         int64  // stored bytes returned or pending
	pending      []byte // unreturned part of the current line; aliases r's buffer
	lineBytes    int    // bytes of the current line already passed on by partial
	err          error  // sticky: io.EOF after the terminator, or the first failure
	// atStrictStart is where the line after a failure begins: true only if
	// the failed line ended in CRLF. drain needs it to find CRLF "." CRLF.
	atStrictStart bool
	// midLineCR: the failure left us inside a line whose last byte read was
	// CR, so a lone LF next completes a CRLF.
	midLineCR bool
}

func newDataReader(r *bufio.Reader, maxLineBytes int, maxBytes int64) *dataReader {
	return &dataReader{r: r, maxLineBytes: maxLineBytes, maxBytes: maxBytes}
}

// Read returns whole lines while they fit in p and are already buffered, so a
// large message crosses the delivery pipe in few large writes.
func (d *dataReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(d.pending) == 0 {
			whole := d.err == nil && d.lineBuffered()
			if d.err != nil || (n > 0 && !whole) {
				break
			}
			piece, err := d.next(whole)
			if err != nil {
				d.err = err
				break
			}
			d.pending = piece
		}
		c := copy(p[n:], d.pending)
		d.pending = d.pending[c:]
		n += c
	}
	if n > 0 {
		return n, nil
	}
	return 0, d.err
}

// lineBuffered reports whether a whole line can be read without blocking.
func (d *dataReader) lineBuffered() bool {
	buf, _ := d.r.Peek(d.r.Buffered())
	return bytes.IndexByte(buf, '\n') >= 0
}

// next returns the next piece of the stored form: the rest of a line when
// one is buffered (whole says it is known to be), else what partial lets
// through of the line arriving, waiting for more bytes while there is none.
func (d *dataReader) next(whole bool) ([]byte, error) {
	for !whole && !d.lineBuffered() {
		if piece := d.partial(); len(piece) > 0 {
			return piece, nil
		}
		if _, err := d.r.Peek(d.r.Buffered() + 1); err != nil {
			break // a full buffer, EOF or a timeout: nextLine reports it
		}
	}
	return d.nextLine()
}

// partial takes the buffered start of a line whose LF has not arrived yet,
// holding back what is not yet known to be valid content: a CR and what
// follows it (only CRLF may end the line), a lone "." starting a line (it
// may be the terminator), and bytes that could exceed the line or message
// limit (nextLine reports those when the line is complete).
func (d *dataReader) partial() []byte {
	buf, _ := d.r.Peek(d.r.Buffered())
	if cr := bytes.IndexByte(buf, '\r'); cr >= 0 {
		buf = buf[:cr]
	}
	switch {
	case len(buf) == 0, d.lineBytes == 0 && len(buf) == 1 && buf[0] == '.':
		return nil
	case d.lineBytes+len(buf)+len("\r\n") > d.maxLineBytes, d.size+int64(len(buf)) > d.maxBytes:
		return nil
	}
	d.r.Discard(len(buf)) // buf stays valid until the next read from r
	d.lineBytes += len(buf)
	d.size += int64(len(buf))
	return buf
}

// nextLine reads and validates the rest of a line, after the part that
// partial passed on. The checks run in a fixed order (length, line ending,
// CR, terminator, size) that the fuzz model mirrors.
func (d *dataReader) nextLine() ([]byte, error) {
	line, err := d.r.ReadSlice('\n')
	started := d.lineBytes
	d.lineBytes = 0
	if started+len(line) > d.maxLineBytes || errors.Is(err, bufio.ErrBufferFull) {
		d.atStrictStart = err == nil && bytes.HasSuffix(line, []byte("\r\n"))
		d.midLineCR = err != nil && bytes.HasSuffix(line, []byte("\r"))
		return nil, errDataLineTooLong
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	body := line[:len(line)-1]
	if len(body) == 0 || body[len(body)-1] != '\r' || bytes.IndexByte(body[:len(body)-1], '\r') >= 0 {
		d.atStrictStart = bytes.HasSuffix(line, []byte("\r\n"))
		return nil, errBareNewline
	}
	if started == 0 && len(line) == 3 && line[0] == '.' {
		return nil, io.EOF // CRLF "." CRLF: every earlier line ended in CRLF
	}
	d.size += int64(len(line))
	if d.size > d.maxBytes {
		d.atStrictStart = true
		return nil, errMessageTooLarge
	}
	return line, nil
}

// errDrainLimit is returned by drain when no terminator came within its limit.
var errDrainLimit = errors.New("smtpd: no end of data within the drain limit")

// drain consumes the input after a failed Read through the next CRLF "." CRLF,
// discarding it. A terminator counts only if the line before it ended in CRLF,
// so "\n.\r\n" (a smuggling variant) does not end the data here either.
// limitBytes > 0 bounds the bytes discarded.
func (d *dataReader) drain(limitBytes int64) error {
	if d.err == io.EOF {
		return nil
	}
	d.pending = nil
	strict, prevCR := d.atStrictStart, d.midLineCR
	var discarded int64
	for {
		line, err := d.r.ReadSlice('\n')
		discarded += int64(len(line))
		if limitBytes > 0 && discarded > limitBytes {
			return errDrainLimit
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			strict, prevCR = false, bytes.HasSuffix(line, []byte("\r"))
			continue
		case err != nil:
			return err
		case strict && len(line) == 3 && line[0] == '.' && line[1] == '\r':
			return nil
		}
		strict = bytes.HasSuffix(line, []byte("\r\n")) || len(line) == 1 && prevCR
		prevCR = false
	}
}
