package smtpd

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"powermail/impl/mail"
)

var (
	// errDelivererReturned fails writes into the body pipe once Deliver has
	// returned, so the reader of DATA never blocks on a Deliverer that stopped
	// reading; the rest of the data is then discarded.
	errDelivererReturned = errors.New("smtpd: deliverer returned before the end of the body")
	// errAborted is what a Deliverer reads when the client abandons a BDAT
	// transaction (RSET, EHLO, QUIT, disconnect).
	errAborted = errors.New("smtpd: transaction aborted by the client")
)

// delivery is one running Deliver call and the pipe that feeds it.
type delivery struct {
	pw     *io.PipeWriter
	sink   stickyWriter // over pw
	done   chan error   // Deliver's result
	cancel context.CancelCauseFunc
}

// stamp fixes the message id and receive time of tx, from the wall clock:
// they outlive the process. The id orders the mailbox, so it comes from the
// server's one Generator: greater than every id before it, even when the
// clock jumped back (see msgid).
func (s *session) stamp(tx *Transaction) {
	tx.Received = s.srv.wall.Now()
	tx.ID = s.srv.ids.New(tx.Received)
}

// startDelivery starts Deliver on the read end of a pipe and writes our
// Received: header into it: BDAT chunks arrive in separate commands, each
// answered before the next, so their Deliverer must run alongside the
// session (DATA's runs in the session's goroutine, see deliverData).
func (s *session) startDelivery(tx *Transaction) *delivery {
	s.stamp(tx)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancelCause(s.ctx)
	d := &delivery{pw: pw, sink: stickyWriter{w: pw}, done: make(chan error, 1), cancel: cancel}
	go func() {
		err := s.srv.deliverer.Deliver(ctx, tx, pr)
		pr.CloseWithError(errDelivererReturned)
		d.done <- err
	}()
	d.sink.Write(receivedHeader(s.srv.cfg.Hostname, tx))
	return d
}

// finish ends the body: with inErr nil the Deliverer reads EOF, otherwise it
// reads inErr and its context is cancelled. It waits for Deliver to return,
// so no final reply is ever written while a Deliverer still runs, and reports
// whether the Deliverer left part of the body unread.
func (d *delivery) finish(inErr error) (deliverErr error, unread bool) {
	if inErr != nil {
		d.pw.CloseWithError(inErr)
		d.cancel(inErr)
	} else {
		d.pw.Close()
	}
	deliverErr = <-d.done
	d.cancel(nil)
	return deliverErr, d.sink.err != nil
}

// stickyWriter writes to w until the first error, which it keeps, and then
// discards: the reader of client data must read on to the end of the data
// whatever happens to the consumer.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (w *stickyWriter) Write(p []byte) (int, error) {
	if w.err == nil {
		_, w.err = w.w.Write(p)
	}
	return len(p), nil
}

// outcome is the final reply for a body that arrived complete and valid.
func (s *session) outcome(tx *Transaction, deliverErr error, unread bool) *mail.Reply {
	switch {
	case deliverErr != nil:
		r, internal := asReply(deliverErr)
		if internal {
			s.log.Warn("delivery failed", "id", tx.ID, "err", deliverErr)
		}
		return r
	case unread:
		// A Deliverer that accepts without reading to EOF may have stored
		// a truncated message; never acknowledge that.
		s.log.Error("deliverer accepted a message it did not read to the end", "id", tx.ID)
		return replyInternal
	}
	s.log.Info("message accepted", "id", tx.ID, "recipients", len(tx.Recipients))
	return reply(250, "2.0.0", "OK id=%s", tx.ID)
}

// needRecipients checks that a body may start now.
func (s *session) needRecipients() *mail.Reply {
	switch {
	case s.tx == nil:
		return replyNoTx
	case len(s.tx.Recipients) == 0:
		return replyNoRcpt
	}
	return nil
}

// connFailed ends the session after the connection failed mid-body; a
// timeout still gets a 421 (RFC 5321 section 4.5.3.2). The Deliverer has
// read the failure and given up, so nothing of the body is stored.
func (s *session) connFailed(err error) *mail.Reply {
	s.quit = true
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return s.timeoutReply()
	}
	s.log.Info("connection lost while reading the body", "err", err)
	return nil
}

// startBodyClock starts DataTimeout for a message body: every read from
// here on, of data or of the commands between BDAT chunks, must end before
// it runs out, however steadily the bytes trickle in.
func (s *session) startBodyClock() { s.dc.bodyEnd = s.srv.now().Add(s.srv.cfg.DataTimeout) }

// stopBodyClock ends it: the body is complete, refused or abandoned.
func (s *session) stopBodyClock() { s.dc.bodyEnd = time.Time{} }

// timeoutReply is the 421 for a read that timed out: it names the body's
// total when that is what ran out, so a client that kept sending knows why.
func (s *session) timeoutReply() *mail.Reply {
	if end := s.dc.bodyEnd; !end.IsZero() && !s.srv.now().Before(end) {
		s.log.Info("message body exceeded the data timeout", "limit", s.srv.cfg.DataTimeout)
		return replyDataTimeout
	}
	return replyTimeout
}
