package smtpd

import "io"

// cmdDATA receives a message body (RFC 5321 section 4.1.1.4) and streams it
// to the Deliverer as it arrives.
func (s *session) cmdDATA(arg string) *Reply {
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
	s.send(&Reply{354, "", "end data with <CR><LF>.<CR><LF>"})
	if err := s.flush(); err != nil {
		return s.connFailed(err)
	}
	d := s.startDelivery(tx)
	dr := newDataReader(s.br, s.srv.cfg.MaxLineBytes, s.srv.cfg.MaxMessageBytes)
	_, readErr := io.Copy(&d.sink, dr)
	metricBytes.Add(float64(dr.size))
	deliverErr, unread := d.finish(readErr)
	if readErr != nil {
		return s.dataFailed(dr, readErr)
	}
	return s.outcome(tx, deliverErr, unread)
}

// dataFailed answers a DATA body that broke a rule or never completed. The
// rest of the data is consumed so the next command is read from the right
// place; after a bare CR or LF the session is closed as well, because then
// client and server may disagree about where the data ended, and whatever
// follows (a smuggled "MAIL FROM", CVE-2023-51764) must not run.
func (s *session) dataFailed(dr *dataReader, err error) *Reply {
	r, ok := err.(*Reply)
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
