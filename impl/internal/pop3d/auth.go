package pop3d

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"powermail/impl/mailbox"
)

// credentialCheck verifies credentials for a normalized login.
type credentialCheck func(ctx context.Context, login string) (mailbox.Name, error)

// normalizeLogin accepts PowerMail's "user%domain" for "user@domain", which
// clients that cannot type "@" in a user name field rely on. Only a login
// without "@" is changed, and only its last "%", since "%" is valid in a
// local part ("a%b@example.com" stays as it is).
func normalizeLogin(login string) string {
	if strings.Contains(login, "@") {
		return login
	}
	if i := strings.LastIndexByte(login, '%'); i >= 0 {
		return login[:i] + "@" + login[i+1:]
	}
	return login
}

// plaintextAllowed reports whether the client may send a password in clear
// (RFC 2595 section 2.1: the server should refuse it without TLS).
func (s *session) plaintextAllowed() bool {
	switch {
	case s.tls || s.srv.cfg.PlaintextAuth == PlaintextAlways:
		return true
	case s.srv.cfg.PlaintextAuth == PlaintextLoopback:
		return isLoopback(s.raw.RemoteAddr())
	}
	return false
}

func (s *session) refusePlaintext() reply {
	metricLogins.WithLabelValues(loginPlaintext).Inc()
	if s.srv.cfg.TLS != nil {
		return errReply(codeAuth, "plaintext authentication requires TLS: use STLS first")
	}
	return errReply(codeAuth, "plaintext authentication not allowed from your address")
}

// cmdUser is RFC 1939 section 7 USER name.
func (s *session) cmdUser(arg string) reply {
	if !s.plaintextAllowed() {
		return s.refusePlaintext()
	}
	if arg == "" {
		return misuse("USER needs a name")
	}
	s.user = arg
	return okReply("send PASS")
}

// cmdPass is RFC 1939 section 7 PASS string. The whole rest of the line is
// the password: "the server may treat spaces in the argument as part of the
// password, instead of as argument separators".
func (s *session) cmdPass(arg string) reply {
	user := s.user
	s.user = ""
	if user == "" {
		return misuse("USER first")
	}
	return s.login(user, func(ctx context.Context, login string) (mailbox.Name, error) {
		return s.srv.auth.Authenticate(ctx, login, arg)
	})
}

// cmdAPOP is RFC 1939 section 7 APOP name digest, where digest is the hex
// MD5 of the greeting's timestamp followed by the shared secret.
func (s *session) cmdAPOP(arg string) reply {
	f := strings.Fields(arg)
	switch {
	case s.srv.apop == nil:
		return misuse("APOP not available")
	case len(f) != 2:
		return misuse("usage: APOP name digest")
	}
	digest := strings.ToLower(f[1])
	return s.login(f[0], func(ctx context.Context, login string) (mailbox.Name, error) {
		box, secret, err := s.srv.apop.APOPSecret(ctx, login)
		if err != nil {
			return "", err
		}
		sum := md5.Sum([]byte(s.timestamp + secret))
		if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(digest)) != 1 {
			return "", ErrAuthFailed
		}
		return box, nil
	})
}

// cmdAuth is RFC 5034 AUTH with the PLAIN mechanism (RFC 4616).
func (s *session) cmdAuth(arg string) reply {
	f := strings.Fields(arg)
	switch {
	case len(f) == 0:
		// RFC 1734 clients (Outlook among them) send a bare AUTH to list
		// the mechanisms; RFC 5034 dropped it but answering costs nothing.
		return okLines("SASL mechanisms follow", []string{"PLAIN"})
	case !strings.EqualFold(f[0], "PLAIN") || len(f) > 2:
		return misuse("unsupported SASL mechanism, use PLAIN")
	case !s.plaintextAllowed():
		return s.refusePlaintext()
	}
	resp, r, ok := s.saslResponse(f[1:])
	if !ok {
		return r
	}
	authz, authc, pass, valid := decodePlain(resp)
	if !valid {
		return misuse("malformed PLAIN response")
	}
	return s.login(authc, func(ctx context.Context, login string) (mailbox.Name, error) {
		// No proxy authorization: an authzid must name the same user.
		if authz != "" && !strings.EqualFold(normalizeLogin(authz), login) {
			return "", ErrAuthFailed
		}
		return s.srv.auth.Authenticate(ctx, login, pass)
	})
}

// saslResponse returns the client's response: the initial response of the
// AUTH line if given ("=" means empty, RFC 5034 section 4), else the line
// after an empty "+ " challenge. ok is false when r must be sent instead.
func (s *session) saslResponse(initial []string) (resp string, r reply, ok bool) {
	if len(initial) == 1 {
		if initial[0] == "=" {
			return "", reply{}, true
		}
		return initial[0], reply{}, true
	}
	s.w.WriteString("+ \r\n")
	if s.flush(s.srv.cfg.WriteTimeout) != nil {
		return "", reply{sent: true, close: true}, false
	}
	line, err := s.readLine(maxSASLLineBytes)
	switch {
	case errors.Is(err, errLineTooLong):
		return "", misuse("SASL response longer than %d octets", maxSASLLineBytes), false
	case err != nil:
		s.readFailed(err)
		return "", reply{sent: true, close: true}, false
	case line == "*": // RFC 5034 section 4: the client cancels
		return "", errReply("", "AUTH cancelled"), false
	}
	return line, reply{}, true
}

// decodePlain splits a base64 RFC 4616 message authzid NUL authcid NUL passwd.
func decodePlain(resp string) (authz, authc, pass string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", "", "", false
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}
