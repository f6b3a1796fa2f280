package pop3d

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// implementation is the RFC 2449 section 6.9 IMPLEMENTATION capability.
const implementation = "powermail"

// cmdCapa is RFC 2449 section 5. Mechanisms that need plaintext credentials
// are listed only where they would be accepted, so that a client knows it
// must use STLS first (RFC 2595 section 4).
func (s *session) cmdCapa(string) reply {
	caps := []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}
	if s.state == stateAuthorization {
		if s.plaintextAllowed() {
			caps = append(caps, "USER", "SASL PLAIN")
		}
		if s.srv.cfg.TLS != nil && !s.tls {
			caps = append(caps, "STLS")
		}
	}
	caps = append(caps, "IMPLEMENTATION "+implementation)
	return okLines("capability list follows", caps)
}

// cmdQuit is RFC 1939 section 6: in TRANSACTION it enters UPDATE, removes
// the messages marked deleted, and releases the maildrop and its lock
// BEFORE replying. RFC 1939 lists the release after the reply, but no
// command can follow QUIT, and a client that has read the reply may log in
// again at once (a mail client's next poll, a benchmark): it must find its
// mailbox free, not "-ERR [IN-USE]" because this session is still on its
// way out.
func (s *session) cmdQuit(string) reply {
	defer s.c.Release() // the same for the connection slot
	if s.state == stateAuthorization {
		return reply{ok: true, text: "powermail POP3 server signing off", close: true}
	}
	s.state = stateUpdate
	r := s.update()
	s.closeDrop()
	return r
}

// update applies the DELE marks (RFC 1939 section 6) and returns the reply
// to QUIT.
func (s *session) update() reply {
	var marked []int
	for i, d := range s.deleted {
		if d {
			marked = append(marked, i)
		}
	}
	if len(marked) > 0 {
		ctx, cancel := context.WithTimeout(s.c.Context(), s.srv.cfg.BackendTimeout)
		defer cancel()
		if err := s.drop.Delete(ctx, marked); err != nil {
			s.log.Warn("pop3 delete failed", "box", s.box, "messages", len(marked), "err", err)
			r := errReply(codeSysTemp, "some deleted messages not removed")
			r.close = true
			return r
		}
	}
	n, _ := s.stat()
	s.log.Info("pop3 quit", "box", s.box, "deleted", len(marked), "left", n)
	return reply{ok: true, text: fmt.Sprintf("powermail POP3 server signing off (%d messages left)", n), close: true}
}

// stat counts the messages not marked deleted and their octets.
func (s *session) stat() (n int, size int64) {
	for i, m := range s.msgs {
		if !s.deleted[i] {
			n++
			size += m.Size
		}
	}
	return n, size
}

// cmdStat is RFC 1939 section 5 STAT.
func (s *session) cmdStat(string) reply {
	n, size := s.stat()
	return okReply("%d %d", n, size)
}

// cmdList is RFC 1939 section 5 LIST [msg].
func (s *session) cmdList(arg string) reply {
	return s.listing(arg, func(i int) string { return strconv.FormatInt(s.msgs[i].Size, 10) })
}

// cmdUIDL is RFC 1939 section 7 UIDL [msg].
func (s *session) cmdUIDL(arg string) reply {
	return s.listing(arg, func(i int) string { return s.msgs[i].UID })
}

// listing answers LIST and UIDL: one "n value" for an argument, else a
// multi-line list of every message not marked deleted.
func (s *session) listing(arg string, value func(i int) string) reply {
	if arg != "" {
		i, r, ok := s.message(arg)
		if !ok {
			return r
		}
		return okReply("%d %s", i+1, value(i))
	}
	var lines []string
	for i := range s.msgs {
		if !s.deleted[i] {
			lines = append(lines, strconv.Itoa(i+1)+" "+value(i))
		}
	}
	n, size := s.stat()
	return okLines(fmt.Sprintf("%d messages (%d octets)", n, size), lines)
}

// message parses a message number argument (1-based) and returns the index
// of a message that exists and is not marked deleted.
func (s *session) message(arg string) (i int, r reply, ok bool) {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	switch {
	case err != nil || n < 1:
		return 0, misuse("invalid message number"), false
	case n > len(s.msgs):
		return 0, errReply("", "no such message, only %d in maildrop", len(s.msgs)), false
	case s.deleted[n-1]:
		return 0, errReply("", "message %d already deleted", n), false
	}
	return n - 1, reply{}, true
}

// cmdDele is RFC 1939 section 5 DELE msg: only a mark until UPDATE.
func (s *session) cmdDele(arg string) reply {
	i, r, ok := s.message(arg)
	if !ok {
		return r
	}
	s.deleted[i] = true
	return okReply("message %d deleted", i+1)
}

// cmdRset is RFC 1939 section 5 RSET.
func (s *session) cmdRset(string) reply {
	clear(s.deleted)
	n, size := s.stat()
	return okReply("maildrop has %d messages (%d octets)", n, size)
}

// cmdNoop is RFC 1939 section 5 NOOP.
func (s *session) cmdNoop(string) reply { return okReply("") }
