package smtpd

import "io"

// chunkStuffer converts BDAT chunk content (RFC 3030), which is sent without
// dot-stuffing, into the stored form: it doubles a "." that begins a line
// (RFC 5321 section 4.5.2) and applies the checks of the DATA reader (bare CR
// or LF, line length, total size). Chunks are framed by byte counts, so a
// violation here does not desynchronise the session; the chunk is still read
// to its end and only the transaction fails.
type chunkStuffer struct {
	w            io.Writer
	maxLineBytes int
	maxBytes     int64
	size         int64 // stored bytes written
	lineBytes    int   // client bytes in the current line
	midLine      bool  // the last byte written was not LF
	prevCR       bool  // the last byte written was CR
	err          error // sticky
	out          []byte
}

func newChunkStuffer(w io.Writer, maxLineBytes int, maxBytes int64) *chunkStuffer {
	return &chunkStuffer{w: w, maxLineBytes: maxLineBytes, maxBytes: maxBytes}
}

// Write converts p; it returns the first violation, and then keeps failing.
func (c *chunkStuffer) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.out = c.out[:0]
	for _, b := range p {
		if err := c.step(b); err != nil {
			c.err = err
			return 0, err
		}
	}
	return len(p), c.emit()
}

// step checks one byte and appends its stored form to c.out.
func (c *chunkStuffer) step(b byte) error {
	if c.prevCR != (b == '\n') {
		return errBareNewline // CR not followed by LF, or LF not preceded by CR
	}
	if !c.midLine && b == '.' {
		c.out = append(c.out, '.')
	}
	c.out = append(c.out, b)
	c.lineBytes++
	if c.lineBytes > c.maxLineBytes {
		return errDataLineTooLong
	}
	c.prevCR, c.midLine = b == '\r', b != '\n'
	if b == '\n' {
		c.lineBytes = 0
	}
	return nil
}

func (c *chunkStuffer) emit() error {
	c.size += int64(len(c.out))
	if c.size > c.maxBytes {
		c.err = errMessageTooLarge
		return c.err
	}
	_, err := c.w.Write(c.out)
	return err
}

// finish ends the message after BDAT LAST: a final line without CRLF gets
// one, because the stored form always ends in CRLF (POP3 RETR appends only
// ".\r\n").
func (c *chunkStuffer) finish() error {
	switch {
	case c.err != nil:
		return c.err
	case c.prevCR:
		c.err = errBareNewline
		return c.err
	case !c.midLine:
		return nil
	}
	c.out = append(c.out[:0], '\r', '\n')
	c.midLine = false
	return c.emit()
}
