package pop3d

import (
	"strings"
)

// stateSet is a set of states in which a verb is allowed.
type stateSet uint8

const (
	inAuthorization stateSet = 1 << stateAuthorization
	inTransaction   stateSet = 1 << stateTransaction
	inBoth                   = inAuthorization | inTransaction
)

func (ss stateSet) has(st state) bool { return ss&(1<<st) != 0 }

// command is one row of the command table: the handler gets the rest of the
// line after the verb and its space, verbatim (PASS needs the spaces).
type command struct {
	run    func(*session, string) reply
	states stateSet
}

// commands lists every verb once with the states that allow it (RFC 1939
// sections 4-6, RFC 2449, RFC 5034, RFC 2595). No verb is valid in UPDATE: the
// server enters it on QUIT and leaves it by closing the connection.
var commands = map[string]command{
	"CAPA": {(*session).cmdCapa, inBoth}, // RFC 2449 section 5
	"QUIT": {(*session).cmdQuit, inBoth},
	"USER": {(*session).cmdUser, inAuthorization},
	"PASS": {(*session).cmdPass, inAuthorization},
	"APOP": {(*session).cmdAPOP, inAuthorization},
	"AUTH": {(*session).cmdAuth, inAuthorization}, // RFC 5034
	"STLS": {(*session).cmdSTLS, inAuthorization}, // RFC 2595 section 4
	"STAT": {(*session).cmdStat, inTransaction},
	"LIST": {(*session).cmdList, inTransaction},
	"UIDL": {(*session).cmdUIDL, inTransaction},
	"RETR": {(*session).cmdRetr, inTransaction},
	"TOP":  {(*session).cmdTop, inTransaction},
	"DELE": {(*session).cmdDele, inTransaction},
	"RSET": {(*session).cmdRset, inTransaction},
	"NOOP": {(*session).cmdNoop, inTransaction},
}

// dispatch runs one command line and returns its reply. readErr is
// errLineTooLong when the line was refused by the reader.
func (s *session) dispatch(line string, readErr error) reply {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb) // RFC 1939 section 3: keywords are case-insensitive
	cmd, known := commands[verb]
	label := verb
	var r reply
	switch {
	case readErr != nil:
		label, r = "other", misuse("command line longer than %d octets", maxCommandBytes)
	case !known:
		label, r = "other", misuse("unknown command")
	case !cmd.states.has(s.state):
		r = misuse("%s not allowed in %s state", verb, s.state)
	default:
		r = cmd.run(s, arg)
	}
	metricCommands.WithLabelValues(label, r.result()).Inc()
	return s.countErrors(r)
}

// misuse returns the -ERR reply to a client mistake (bad verb, state or
// syntax). Only these count towards MaxErrors: failures of ours
// ([SYS/TEMP]) must not end a session, and failed logins have their own limit.
func misuse(format string, args ...any) reply {
	r := errReply("", format, args...)
	r.misuse = true
	return r
}

// countErrors closes the session after MaxErrors client mistakes, a bound on
// what a confused or hostile client can make the server do.
func (s *session) countErrors(r reply) reply {
	if !r.misuse {
		return r
	}
	if s.errors++; s.errors >= s.srv.cfg.MaxErrors {
		r.text += "; too many errors, closing"
		r.close = true
	}
	return r
}
