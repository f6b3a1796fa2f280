package pop3d

import (
	"bufio"
	"context"
	"crypto/tls"
)

// cmdSTLS is RFC 2595 section 4 STLS.
func (s *session) cmdSTLS(string) reply {
	switch {
	case s.srv.cfg.TLS == nil || s.tls:
		return misuse("STLS not available")
	case s.r.Buffered() > 0:
		// Bytes after STLS in the same read were sent in clear before the
		// handshake: a man in the middle's injected commands would run as
		// if sent under TLS (CVE-2011-0411). Refuse and hang up.
		s.log.Warn("pop3 command pipelined after STLS, closing")
		r := errReply("", "command received after STLS before TLS negotiation; closing")
		r.close = true
		return r
	}
	if !s.send(okReply("begin TLS negotiation")) {
		return reply{sent: true, close: true}
	}
	tc := tls.Server(s.raw, s.srv.cfg.TLS)
	ctx, cancel := context.WithTimeout(s.c.Stopping(), s.srv.cfg.HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.log.Info("pop3 TLS handshake failed", "err", err)
		return reply{sent: true, close: true}
	}
	// New reader and writer on the tls.Conn: nothing read in clear survives.
	s.conn, s.tls = tc, true
	s.r = bufio.NewReaderSize(tc, readBufferBytes)
	s.w = bufio.NewWriterSize(tc, writeBufferBytes)
	s.user = "" // RFC 2595 section 4: forget what the client said in clear
	s.log.Debug("pop3 TLS started", "version", tls.VersionName(tc.ConnectionState().Version))
	return reply{ok: true, sent: true}
}
