package smtpd

import (
	"io"
	"strconv"
	"strings"

	"powermail/impl/mail"
)

// bdatState is a body arriving in BDAT chunks (RFC 3030).
type bdatState struct {
	tx      *Transaction
	d       *delivery
	stuffer *chunkStuffer // writes into d.sink
}

// cmdBDAT reads one chunk. Its bytes are always read in full, even when the
// command is refused, because the byte count is the only framing.
func (s *session) cmdBDAT(arg string) *mail.Reply {
	size, last, ok := parseBDAT(arg)
	if !ok {
		s.quit = true // without a size the chunk cannot be skipped
		return &mail.Reply{Code: 501, Enhanced: "5.5.4", Text: "BDAT needs a chunk size, closing connection"}
	}
	if r := s.needRecipients(); r != nil {
		return s.skipChunk(size, r)
	}
	if s.bdat == nil {
		s.bdat = s.startBDAT()
	}
	b := s.bdat
	sink := stickyWriter{w: b.stuffer}
	if _, err := io.CopyN(&sink, s.br, size); err != nil {
		return s.connFailed(err)
	}
	metricBytes.Add(float64(size))
	if sink.err == nil && last {
		sink.err = b.stuffer.finish()
	}
	if sink.err != nil {
		// RFC 3030 section 2: a failed BDAT ends the transaction.
		s.endBDAT()
		b.d.finish(sink.err)
		r, _ := asReply(sink.err)
		return r
	}
	if !last {
		return reply(250, "2.0.0", "%d octets received", size)
	}
	s.endBDAT()
	deliverErr, unread := b.d.finish(nil)
	return s.outcome(b.tx, deliverErr, unread)
}

// startBDAT starts the Deliverer and the body clock: from the first chunk
// to LAST, chunks and the commands between them must arrive within
// DataTimeout, as a DATA body must.
func (s *session) startBDAT() *bdatState {
	s.startBodyClock()
	d := s.startDelivery(s.tx)
	st := newChunkStuffer(&d.sink, s.srv.cfg.MaxLineBytes, s.srv.cfg.MaxMessageBytes)
	return &bdatState{tx: s.tx, d: d, stuffer: st}
}

// skipChunk discards a refused chunk and answers r.
func (s *session) skipChunk(size int64, r *mail.Reply) *mail.Reply {
	if _, err := io.CopyN(io.Discard, s.br, size); err != nil {
		return s.connFailed(err)
	}
	return r
}

// endBDAT ends the BDAT transaction: its body is complete or refused.
func (s *session) endBDAT() {
	s.tx, s.bdat = nil, nil
	s.stopBodyClock()
}

// abortBDAT stops a Deliverer that was receiving BDAT chunks.
func (s *session) abortBDAT() {
	if s.bdat != nil {
		s.bdat.d.finish(errAborted)
		s.bdat = nil
		s.stopBodyClock()
	}
}

// parseBDAT parses "size [LAST]" (RFC 3030 section 3).
func parseBDAT(arg string) (size int64, last bool, ok bool) {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 || len(f) == 2 && !strings.EqualFold(f[1], "LAST") {
		return 0, false, false
	}
	n, err := strconv.ParseUint(f[0], 10, 63)
	return int64(n), len(f) == 2, err == nil
}
