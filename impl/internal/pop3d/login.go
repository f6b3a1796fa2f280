package pop3d

import (
	"context"
	"errors"
	"fmt"
	"time"

	"powermail/impl/mailbox"
)

// login runs the part of every login mechanism after the protocol exchange:
// penalty delay, credential check, maildrop lock, maildrop open, and the
// move to TRANSACTION (RFC 1939 section 4).
//
// The penalty has two parts (see penalty.go). The failures of this client
// address with this login are slept BEFORE the check, so that the outcome,
// good or bad, is never known sooner than they allow. The failures of the
// address as a whole and of the login from anywhere are slept only when
// this attempt fails too: they say that someone is guessing, not that this
// attempt is the guesser, and another user behind the same address, or the
// owner of the attacked login on their own address, must not pay for them.
func (s *session) login(login string, check credentialCheck) reply {
	login = normalizeLogin(login)
	keys := newPenaltyKeys(s.ip, login)
	before := s.srv.penalty.delay(keys.pair)
	if r, ok := s.penaltySleep(login, before); !ok {
		return r
	}
	ctx, cancel := context.WithTimeout(s.c.Context(), s.srv.cfg.BackendTimeout)
	defer cancel()
	box, err := check(ctx, login)
	if err == nil && box == "" {
		err = errors.New("Authenticator returned no mailbox and no error")
	}
	switch {
	case errors.Is(err, ErrAuthFailed):
		return s.loginFailed(login, keys, before)
	case err != nil:
		return s.checkUnavailable(login, keys, before, err)
	}
	s.srv.penalty.clear(keys.pair)
	return s.open(ctx, login, box)
}

// penaltySleep waits d (if positive) in this session only; ok is false when
// the server shuts down meanwhile and r must be sent instead.
func (s *session) penaltySleep(login string, d time.Duration) (r reply, ok bool) {
	if d <= 0 {
		return reply{}, true
	}
	s.log.Info("pop3 login delayed", "login", login, "delay", d)
	if err := s.srv.clock.Sleep(s.c.Stopping(), d); err != nil {
		r = errReply(codeSysTemp, "server shutting down")
		r.close = true
		return r, false
	}
	return reply{}, true
}

// loginFailed gives one reply for unknown user and wrong password alike
// (nothing tells an attacker which logins exist) and raises the penalty. The
// reply waits until the attempt has been delayed by its worst key in all,
// counting what was slept before the check: a failed attempt always costs
// the Dovecot-like 2, 4, 8, 15 s of whichever key has failed most.
func (s *session) loginFailed(login string, keys penaltyKeys, slept time.Duration) reply {
	rest := s.srv.penalty.delay(keys.all()...) - slept
	s.srv.penalty.fail(keys.all()...)
	metricLogins.WithLabelValues(loginFailed).Inc()
	s.log.Info("pop3 login failed", "login", login)
	if r, ok := s.penaltySleep(login, rest); !ok {
		return r
	}
	r := errReply(codeAuth, "authentication failed")
	if s.authFailures++; s.authFailures >= s.srv.cfg.MaxAuthFailures {
		r.text += "; closing"
		r.close = true
	}
	return r
}

// checkUnavailable answers a login whose credentials could not be checked
// (the userbase is down, the password checks are saturated) with
// -ERR [SYS/TEMP], but not sooner than this address's failures allow, and
// when the checks are saturated (ErrBusy) not sooner than a failed login
// from a clean address (AuthDelayBase). Answered at once, a guessing flood
// that meets saturated checks retries at full speed: smtp-under-auth-flood
// measured 11,000 such replies a second to 19 addresses, powerpop spending
// 0.8 of a core on them, SMTP delivery p99 up 15-fold. The client is told
// to try later, so the wait costs an honest one nothing; the login's
// failures from other addresses are not slept (its owner is not the
// guesser), and nothing is recorded as a failure, since nothing was checked.
func (s *session) checkUnavailable(login string, keys penaltyKeys, slept time.Duration, err error) reply {
	wait := s.srv.penalty.delay(keys.ip)
	if errors.Is(err, ErrBusy) {
		wait = max(wait, s.srv.cfg.AuthDelayBase)
	}
	if r, ok := s.penaltySleep(login, wait-slept); !ok {
		return r
	}
	return s.backendFailure(err, "authentication", "login", login)
}

// open locks and opens the maildrop of an authenticated login.
func (s *session) open(ctx context.Context, login string, box mailbox.Name) reply {
	if !s.srv.locks.tryLock(box) {
		// RFC 1939 section 8 and RFC 2449 section 8.1.1.
		metricLogins.WithLabelValues(loginInUse).Inc()
		s.log.Info("pop3 maildrop in use", "login", login, "box", box)
		return errReply(codeInUse, "maildrop already in use by another session")
	}
	drop, err := s.srv.drops.Open(ctx, box)
	if err != nil {
		s.srv.locks.unlock(box)
		return s.backendFailure(err, "maildrop open", "box", box)
	}
	msgs := drop.Messages()
	if err := checkListing(msgs); err != nil {
		_ = drop.Close()
		s.srv.locks.unlock(box)
		return s.backendFailure(err, "maildrop open", "box", box)
	}
	s.box, s.drop, s.msgs = box, drop, msgs
	s.deleted = make([]bool, len(s.msgs))
	s.state = stateTransaction
	s.c.Established()
	metricLogins.WithLabelValues(loginOK).Inc()
	n, size := s.stat()
	s.log.Info("pop3 login", "login", login, "box", box, "messages", n, "octets", size, "tls", s.tls)
	return okReply("maildrop has %d messages (%d octets)", n, size)
}

// backendFailure turns an error of the userbase or maildrop into the RFC
// 3206 reply; the details go to the log only.
func (s *session) backendFailure(err error, what string, attrs ...any) reply {
	s.log.Warn("pop3 "+what+" failed", append(attrs, "err", err)...)
	if IsTemporary(err) {
		metricLogins.WithLabelValues(loginTempFail).Inc()
		return errReply(codeSysTemp, "%s temporarily unavailable, try again later", what)
	}
	metricLogins.WithLabelValues(loginPermFail).Inc()
	return errReply(codeSysPerm, "%s failed", what)
}

// maxUIDBytes is RFC 1939 section 7: a unique-id is 1 to 70 characters.
const maxUIDBytes = 70

// checkListing asserts what the protocol needs of a Maildrop's listing:
// UIDs of 1-70 octets in 0x21-0x7E (RFC 1939 section 7), unique, and sizes
// that are not negative. A maildrop that breaks this has a bug; refusing
// the session beats showing clients UIDs they would mis-parse.
func checkListing(msgs []Message) error {
	seen := make(map[string]bool, len(msgs))
	for i, m := range msgs {
		if len(m.UID) < 1 || len(m.UID) > maxUIDBytes || m.Size < 0 || seen[m.UID] {
			return fmt.Errorf("maildrop listing: message %d has UID %q size %d", i+1, m.UID, m.Size)
		}
		for _, c := range []byte(m.UID) {
			if c < 0x21 || c > 0x7e {
				return fmt.Errorf("maildrop listing: message %d: UID %q has byte %#x", i+1, m.UID, c)
			}
		}
		seen[m.UID] = true
	}
	return nil
}
