package smtpd

import (
	"io"

	"powermail/impl/mail"
)

// cmdDATA receives a message body (RFC 5321 section 4.1.1.4) and streams it
// to the Deliverer as it arrives.
func (s *session) cmdDATA(arg string) *mail.Reply {
	if r := s.needRecipients(); r != nil {
		return r
	}
	if arg != "" {
		return replySyntax
	}
	if s.bdat != nil {
		return replyBadSequence // RFC 3030 section 2: no DATA after BDAT
	}
	tx := s.tx
	s.tx = nil // the transaction ends with the reply to DATA, whatever it is
	s.send(&mail.Reply{Code: 354, Enhanced: "", Text: "end data with <CR><LF>.<CR><LF>"})
	if err := s.flush(); err != nil {
		return s.connFailed(err)
	}
	s.startBodyClock()
	defer s.stopBodyClock()
	dr := newDataReader(s.br, s.srv.cfg.MaxLineBytes, s.srv.cfg.MaxMessageBytes)
	deliverErr, unread, readErr := s.deliverData(tx, dr)
	metricBytes.Add(float64(dr.size))
	if readErr != nil {
		return s.dataFailed(dr, readErr)
	}
	return s.outcome(tx, deliverErr, unread)
}

// deliverData runs the Deliverer in this goroutine on our Received: header
// followed by the DATA reader: the body moves from the client's socket to
// the backends without a pipe or another goroutine. What the Deliverer
// leaves unread is read here (and reported as unread), so the session
// always ends at the terminator or at the reader's failure, which readErr
// returns (nil at the terminator).
func (s *session) deliverData(tx *Transaction, dr *dataReader) (deliverErr error, unread bool, readErr error) {
	s.stamp(tx)
	body := &prefixReader{prefix: receivedHeader(s.srv.cfg.Hostname, tx), r: dr}
	deliverErr = s.srv.deliverer.Deliver(s.ctx, tx, body)
	if dr.err == nil { // stopped before the end
		unread = true
		_, _ = io.Copy(io.Discard, dr)
	}
	if dr.err != io.EOF {
		readErr = dr.err
	}
	return deliverErr, unread, readErr
}

// dataFailed answers a DATA body that broke a rule or never completed. The
// rest of the data is consumed so the next command is read from the right
// place; after a bare CR or LF the session is closed as well, because then
// client and server may disagree about where the data ended, and whatever
// follows (a smuggled "MAIL FROM", CVE-2023-51764) must not run.
func (s *session) dataFailed(dr *dataReader, err error) *mail.Reply {
	r, ok := err.(*mail.Reply)
	if !ok {
		return s.connFailed(err)
	}
	if r == errBareNewline {
		s.quit = true
		dr.drain(s.srv.cfg.MaxMessageBytes) // only so the client can read the reply
		return r
	}
	if err := dr.drain(0); err != nil {
		return s.connFailed(err)
	}
	return r
}

// prefixReader reads prefix, then r; unlike io.MultiReader it fills one
// Read with the end of prefix and the start of r, so that our Received:
// header and the first lines of the body reach the backends as one chunk
// (one frame, one file write) instead of two.
type prefixReader struct {
	prefix []byte
	r      io.Reader
}

func (p *prefixReader) Read(b []byte) (int, error) {
	n := copy(b, p.prefix)
	p.prefix = p.prefix[n:]
	if len(p.prefix) > 0 || n == len(b) {
		return n, nil
	}
	m, err := p.r.Read(b[n:])
	if n > 0 && err == io.EOF {
		err = nil // the EOF comes again on the next Read
	}
	return n + m, err
}
