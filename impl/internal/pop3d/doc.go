// Package pop3d is powerpop's POP3 protocol server. It knows the protocol and
// its security rules; it does not know where messages live or how passwords
// are checked. Those come from two small interfaces defined here and
// implemented elsewhere: Authenticator (the userbase) and Maildrops (the merged
// multi-backend maildrop). Only the powerpop main knows the concrete types.
//
// # Protocol
//
// RFC 1939 POP3 with the RFC 2449 extensions TOP, UIDL, USER, RESP-CODES,
// PIPELINING, AUTH-RESP-CODE and IMPLEMENTATION; RFC 5034 AUTH PLAIN; RFC 2595
// STLS; APOP when the Authenticator also implements APOPAuthenticator.
//
// A session is in one of the RFC 1939 states, AUTHORIZATION, TRANSACTION or
// UPDATE (type state). Every verb is listed once in the command table
// (commands.go) with the states that allow it; the dispatcher refuses the rest,
// so no handler has to re-check the state.
//
// # Messages on the wire
//
// A stored message is already in POP3 wire form: CRLF line endings, lines
// starting with "." doubled, no terminating ".\r\n". RETR therefore writes
// "+OK", lets the Maildrop copy the stored bytes straight into the connection
// (socket to socket; Go uses splice(2) when both ends are TCP), then writes
// the terminator. No byte of a message body passes through this package's
// buffers on RETR. TOP is the exception: it must find the end of the header
// and count body lines, so it scans the bytes, and stops the copy early.
//
// The "+OK" of RETR goes out just before the first message byte, so a
// Maildrop that fails before writing (every copy unreachable) is answered
// "-ERR [SYS/TEMP]" and the session goes on. Once bytes went out, a failure
// can only be signalled by closing the connection: the client then discards
// the partial message instead of taking it for a whole one.
//
// # The maildrop lock (RFC 1939 section 8)
//
// Within one Server a mailbox can be open in one session only; a second login
// gets "-ERR [IN-USE]" (RFC 2449 section 8.1.1). Nothing holds across
// powerpop instances: there is no shared lock service, and adding one would
// be a single point of failure, which PowerMail's design forbids. Two
// instances can therefore serve the same mailbox at once. That is safe
// because the Maildrop's deletes are idempotent and recorded as tombstones on
// the backends: a message deleted by one session is never shown again to a
// later session, and a message deleted by both is simply deleted twice. The
// cost is that both concurrent sessions may download the same message, which
// POP3 clients already tolerate through UIDL; a RETR of a message that the
// other session has just deleted gets "-ERR [SYS/TEMP]".
//
// # Security
//
//   - Unknown user and wrong password give the same reply, "-ERR [AUTH]
//     authentication failed"; the Authenticator must return ErrAuthFailed for
//     both.
//   - Brute force: every failed login raises a penalty for the client
//     address with that login (the pair), for the address, and for the
//     login from anywhere (AuthDelayBase, doubling, capped at AuthDelayMax;
//     forgotten AuthDelayForget after the last failure; a success clears
//     the pair only). The pair's penalty is slept BEFORE the credentials are
//     checked, whatever the outcome: a quick "+OK" cannot reveal a right
//     guess early. The address's and the login's penalties delay only a
//     failed attempt's reply, so another user behind the same address, or
//     the attacked user on their own address, logs in without waiting; a
//     failed attempt waits for its worst key in all. An attacker who hangs
//     up instead of waiting gains nothing: the session keeps its per-address
//     connection slot until the delay is over. The sleep blocks only that
//     session.
//   - Plaintext credentials (USER/PASS, AUTH PLAIN) are accepted without TLS
//     only where Config.PlaintextAuth allows (default: loopback clients only).
//     APOP sends no password and is not restricted.
//   - A client is an IPv4 address or an IPv6 /64 (one host's usual share)
//     for the per-IP connection limit and the login penalty.
//   - STLS (RFC 2595): bytes pipelined after the STLS command are a
//     command-injection attempt (CVE-2011-0411); the connection is refused
//     and closed. After the handshake, reader and writer are new, over the
//     tls.Conn, and the AUTHORIZATION state starts afresh.
//   - Limits: command lines of 255 octets (RFC 2449 section 4), an idle
//     autologout timer of at least 10 minutes (RFC 1939 section 3),
//     connections in total and per IP, protocol errors and failed logins per
//     session.
//
// Logs carry a session id and never a password or an AUTH payload.
package pop3d
