package smtpd

import (
	"bufio"
	"cmp"
	"crypto/tls"
	"fmt"
	"strings"

	"powermail/impl/mail"
)

// handler runs one command. It returns the reply to send, or nil when it has
// already replied itself (STARTTLS).
type handler func(s *session, arg string) *mail.Reply

// commands is the command table (RFC 5321 section 4.1.1, plus extensions).
var commands map[string]handler

func init() { // in init: HELP refers to the table
	commands = map[string]handler{
		"EHLO": (*session).cmdEHLO, "HELO": (*session).cmdHELO,
		"MAIL": (*session).cmdMAIL, "RCPT": (*session).cmdRCPT,
		"DATA": (*session).cmdDATA, "BDAT": (*session).cmdBDAT,
		"RSET": (*session).cmdRSET, "NOOP": (*session).cmdNOOP,
		"QUIT": (*session).cmdQUIT, "HELP": (*session).cmdHELP,
		"VRFY": (*session).cmdVRFY, "EXPN": (*session).cmdEXPN,
		"STARTTLS": (*session).cmdSTARTTLS,
	}
}

func (s *session) cmdEHLO(arg string) *mail.Reply { return s.greet(arg, true) }
func (s *session) cmdHELO(arg string) *mail.Reply { return s.greet(arg, false) }

// greet handles EHLO and HELO; both reset any transaction (RFC 5321 4.1.4).
func (s *session) greet(arg string, esmtp bool) *mail.Reply {
	if !validHelo(arg) {
		return &mail.Reply{Code: 501, Enhanced: "5.5.4", Text: "EHLO/HELO needs a domain or address literal"}
	}
	s.resetTx()
	s.helo, s.esmtp = arg, esmtp
	// No enhanced code on EHLO/HELO replies (RFC 2034 section 3).
	if !esmtp {
		return reply(250, "", "%s", s.srv.cfg.Hostname)
	}
	ext := []string{s.srv.cfg.Hostname, "PIPELINING", fmt.Sprintf("SIZE %d", s.srv.cfg.MaxMessageBytes),
		"8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING"}
	if s.srv.cfg.TLSConfig != nil && !s.tls {
		ext = append(ext, "STARTTLS")
	}
	return reply(250, "", "%s", strings.Join(append(ext, "HELP"), "\n"))
}

func (s *session) cmdMAIL(arg string) *mail.Reply {
	switch {
	case s.helo == "":
		return replyNeedHelo
	case s.tx != nil:
		return &mail.Reply{Code: 503, Enhanced: "5.5.1", Text: "nested MAIL command"}
	}
	path, params, r := splitPathArg(arg, "FROM")
	if r != nil {
		return r
	}
	if params != "" && !s.esmtp {
		return replyBadParam // parameters need EHLO (RFC 5321 4.1.1.2)
	}
	p, r := parseMailParams(params, s.srv.cfg.MaxMessageBytes)
	if r != nil {
		return r
	}
	if path != "" { // "<>" is the null reverse-path of bounces
		if _, r := parseMailbox(path, p.smtputf8); r == replyBadMailbox {
			return replyBadSender
		} else if r != nil {
			return r
		}
	}
	s.tx = &Transaction{SessionID: s.id, ClientIP: s.remote, Helo: s.helo, MailFrom: path,
		DeclaredSize: p.size, ESMTP: s.esmtp, TLS: s.tls, SMTPUTF8: p.smtputf8}
	s.established()
	return &mail.Reply{Code: 250, Enhanced: "2.1.0", Text: "sender OK"}
}

func (s *session) cmdRCPT(arg string) *mail.Reply {
	switch {
	case s.tx == nil:
		return replyNoTx
	case s.bdat != nil:
		return replyBadSequence
	case len(s.tx.Recipients) >= s.srv.cfg.MaxRecipients:
		return &mail.Reply{Code: 452, Enhanced: "4.5.3", Text: "too many recipients"} // RFC 5321 4.5.3.1.10
	}
	path, params, r := splitPathArg(arg, "TO")
	if r != nil {
		return r
	}
	if params != "" {
		return replyBadParam // we announce no RCPT parameters
	}
	addr, r := s.recipientAddress(path)
	if r != nil {
		return r
	}
	if s.tx.hasRecipient(addr) {
		return &mail.Reply{Code: 250, Enhanced: "2.1.5", Text: "recipient OK (duplicate)"}
	}
	return s.resolve(addr)
}

// recipientAddress returns the canonical address of a RCPT path. The bare
// "<postmaster>" must be accepted (RFC 5321 section 4.5.1); it is resolved as
// postmaster@PostmasterDomain (default: Hostname) like any other address, so
// the userbase must hold that mailbox.
func (s *session) recipientAddress(path string) (string, *mail.Reply) {
	if strings.EqualFold(path, "postmaster") {
		return "postmaster@" + strings.ToLower(cmp.Or(s.srv.cfg.PostmasterDomain, s.srv.cfg.Hostname)), nil
	}
	name, r := parseMailbox(path, s.tx.SMTPUTF8)
	return string(name), r
}

// resolve asks the Resolver about addr and adds it to the transaction. Only
// the Resolver can make an address acceptable: nothing else is ever relayed.
func (s *session) resolve(addr string) *mail.Reply {
	rcpt, err := s.srv.resolver.Resolve(s.ctx, addr)
	if err != nil {
		r, internal := asReply(err)
		if internal {
			s.log.Warn("resolver failed", "err", err)
		}
		return r
	}
	rcpt.Address = addr
	s.tx.Recipients = append(s.tx.Recipients, rcpt)
	return &mail.Reply{Code: 250, Enhanced: "2.1.5", Text: "recipient OK"}
}

func (s *session) cmdRSET(arg string) *mail.Reply {
	if arg != "" {
		return replySyntax
	}
	s.resetTx()
	return &mail.Reply{Code: 250, Enhanced: "2.0.0", Text: "OK"}
}

// cmdNOOP ignores its argument, as RFC 5321 section 4.1.1.9 requires.
func (s *session) cmdNOOP(string) *mail.Reply {
	return &mail.Reply{Code: 250, Enhanced: "2.0.0", Text: "OK"}
}

func (s *session) cmdQUIT(arg string) *mail.Reply {
	s.quit = true
	return reply(221, "2.0.0", "%s closing connection", s.srv.cfg.Hostname)
}

func (s *session) cmdHELP(string) *mail.Reply {
	return &mail.Reply{Code: 214, Enhanced: "2.0.0", Text: "commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS\nsee RFC 5321"}
}

// cmdVRFY never confirms an address: that would help harvesters. 252 is the
// reply RFC 5321 section 3.5.3 gives for this case.
func (s *session) cmdVRFY(arg string) *mail.Reply {
	if arg == "" {
		return replySyntax
	}
	return &mail.Reply{Code: 252, Enhanced: "2.5.0", Text: "cannot VRFY, but will accept the message and attempt delivery"}
}

func (s *session) cmdEXPN(string) *mail.Reply {
	return &mail.Reply{Code: 502, Enhanced: "5.5.1", Text: "EXPN not supported"}
}

// cmdSTARTTLS upgrades the connection (RFC 3207).
func (s *session) cmdSTARTTLS(arg string) *mail.Reply {
	switch {
	case s.srv.cfg.TLSConfig == nil:
		return &mail.Reply{Code: 502, Enhanced: "5.5.1", Text: "STARTTLS not available"}
	case s.tls:
		return &mail.Reply{Code: 503, Enhanced: "5.5.1", Text: "TLS already active"}
	case arg != "":
		return replySyntax
	case s.tx != nil:
		return replyBadSequence
	case s.br.Buffered() > 0:
		// Bytes sent after STARTTLS before the handshake were written in
		// plain text, possibly by a man in the middle; executing them after
		// the upgrade is CVE-2011-0411. Refuse and close.
		s.quit = true
		return &mail.Reply{Code: 554, Enhanced: "5.5.1", Text: "commands pipelined after STARTTLS, closing connection"}
	}
	s.send(&mail.Reply{Code: 220, Enhanced: "2.0.0", Text: "ready to start TLS"})
	if err := s.flush(); err != nil {
		s.quit = true
		return nil
	}
	return s.handshake()
}

// handshake runs the TLS handshake and resets the session as RFC 3207
// section 4.2 requires: the client must say EHLO again.
func (s *session) handshake() *mail.Reply {
	tc := tls.Server(s.conn, s.srv.cfg.TLSConfig)
	if err := tc.HandshakeContext(s.ctx); err != nil {
		s.log.Info("TLS handshake failed", "err", err)
		s.quit = true
		return nil
	}
	s.conn, s.tls = tc, true
	s.br = bufio.NewReaderSize(tc, s.srv.cfg.readBufferBytes())
	s.bw.Reset(tc)
	s.helo, s.esmtp = "", false
	s.resetTx()
	return nil
}
