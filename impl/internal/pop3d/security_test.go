package pop3d

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

const s = time.Second

// failLogin runs one failed USER/PASS login in a new session from remote.
func failLogin(t *testing.T, srv *Server, remote, user string) {
	t.Helper()
	c := dial(t, srv, remote)
	c.expectPrefix("+OK")
	c.cmd("USER " + user)
	if got := c.cmd("PASS wrong"); got != "-ERR [AUTH] authentication failed" {
		t.Fatalf("failed login: %q", got)
	}
	c.close()
}

func TestAuthDelayGrowsPerIP(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	// Different logins from one IP: the IP's penalty grows 2, 4, 8, 15 (cap).
	for i := range 6 {
		failLogin(t, srv, "192.0.2.1:1000", "user"+string(rune('a'+i))+"@example.com")
	}
	want := []time.Duration{2 * s, 4 * s, 8 * s, 15 * s, 15 * s}
	if got := w.clock.sleeps(); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	// Another IP with another login is not delayed at all.
	c := dial(t, srv, "192.0.2.2:1000")
	c.login("alice@example.com", "secret")
	if n := len(w.clock.sleeps()); n != len(want) {
		t.Fatalf("an unrelated client was delayed: %v", w.clock.sleeps())
	}
	// Failures are forgotten after AuthDelayForget.
	w.clock.advance(testConfig().AuthDelayForget)
	failLogin(t, srv, "192.0.2.1:1000", "usera@example.com")
	if n := len(w.clock.sleeps()); n != len(want) {
		t.Fatalf("penalty survived AuthDelayForget: %v", w.clock.sleeps())
	}
}

func TestAuthDelayGrowsPerLogin(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	// One login attacked from many IPs (a botnet): the login's penalty grows.
	for i := range 4 {
		failLogin(t, srv, "198.51.100."+string(rune('1'+i))+":1000", "alice@example.com")
	}
	want := []time.Duration{2 * s, 4 * s, 8 * s}
	if got := w.clock.sleeps(); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
	// "%" and case are the same login: no escaping the penalty by spelling.
	failLogin(t, srv, "198.51.100.9:1000", "ALICE%example.com")
	if got := w.clock.sleeps(); got[len(got)-1] != 15*s {
		t.Fatalf("respelled login delayed %v, want 15s", got)
	}
}

// TestAuthPenaltySparesInnocentLogins is issue 14: after five wrong
// passwords for one login from one address, neither another user behind that
// address nor the attacked user on their own address waits; the attacker's
// pair and the address's further failures still do.
func TestAuthPenaltySparesInnocentLogins(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	const attacker, elsewhere = "192.0.2.66:1000", "203.0.113.5:1000"
	for range 5 {
		failLogin(t, srv, attacker, "alice@example.com")
	}
	want := []time.Duration{2 * s, 4 * s, 8 * s, 15 * s}
	if got := w.clock.sleeps(); !slices.Equal(got, want) {
		t.Fatalf("attack delays %v, want %v", got, want)
	}
	loginAndQuit := func(remote, user, pass string) {
		c := dial(t, srv, remote)
		c.login(user, pass)
		c.cmd("QUIT")
		c.close()
	}
	loginAndQuit(attacker, "bob@example.com", "hunter 2")
	loginAndQuit(elsewhere, "alice@example.com", "secret")
	if got := w.clock.sleeps(); len(got) != len(want) {
		t.Fatalf("innocent logins were delayed: %v", got[len(want):])
	}
	// The attacker's own pair waits before any check, right password or not.
	loginAndQuit(attacker, "alice@example.com", "secret")
	want = append(want, 15*s)
	// That success cleared the pair (not the address or the login).
	loginAndQuit(attacker, "alice@example.com", "secret")
	// The address's failures still delay its next failure, whatever login.
	failLogin(t, srv, attacker, "carol@example.com")
	want = append(want, 15*s)
	if got := w.clock.sleeps(); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v", got, want)
	}
}

func TestAuthDelayBlocksOnlyItsSession(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	failLogin(t, srv, "192.0.2.1:1000", "alice@example.com")
	w.clock.block = true
	slow := dial(t, srv, "192.0.2.1:1001")
	slow.expectPrefix("+OK")
	slow.send("USER alice@example.com", "PASS secret")
	select {
	case d := <-w.clock.sleeping:
		if d != 2*s {
			t.Fatalf("second attempt delayed %v, want 2s", d)
		}
	case <-time.After(testTimeout):
		t.Fatal("penalty sleep did not start")
	}
	// While that session sleeps, another client logs in without waiting.
	other := dial(t, srv, "192.0.2.2:1000")
	other.login("bob@example.com", "hunter 2")
	other.cmd("QUIT")
	w.clock.wake <- struct{}{}
	slow.expectPrefix("+OK send PASS")
	slow.expectPrefix("+OK maildrop has 4 messages")
}

// TestSameReplyUnknownUserAndWrongPassword checks every mechanism: nothing on
// the wire tells whether a login exists.
func TestSameReplyUnknownUserAndWrongPassword(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), apopAuth{w.auth})
	timestamp := regexp.MustCompile(`<[^>]+>`)
	try := func(user, pass string) []string {
		c := dial(t, srv, "127.0.0.1:1000")
		c.line()
		replies := []string{c.cmd("USER " + user), c.cmd("PASS " + pass),
			c.cmd("AUTH PLAIN " + b64("\x00"+user+"\x00"+pass))}
		c.close()
		c = dial(t, srv, "127.0.0.1:1000")
		digest := md5.Sum([]byte(timestamp.FindString(c.line()) + pass))
		return append(replies, c.cmd("APOP "+user+" "+hex.EncodeToString(digest[:])))
	}
	unknown := try("nobody@example.com", "secret")
	wrong := try("alice@example.com", "not-the-secret")
	if !slices.Equal(unknown, wrong) {
		t.Fatalf("unknown user got %q, wrong password got %q", unknown, wrong)
	}
	if got := try("alice@example.com", "secret"); got[3] != "+OK maildrop has 4 messages (1732 octets)" {
		t.Fatalf("right credentials: %q", got)
	}
}

func TestAPOPNeedsSecretAndGreetingTimestamp(t *testing.T) {
	w := newWorld()
	plain := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:1000")
	if g := plain.line(); strings.Contains(g, "<") {
		t.Fatalf("greeting offers APOP without a secret source: %q", g)
	}
	c := dial(t, w.server(t, testConfig(), apopAuth{w.auth}), "127.0.0.1:1000")
	ts := regexp.MustCompile(`^\+OK .* (<\d+\.[0-9a-f]+@pop\.test>)$`).FindStringSubmatch(c.line())
	if ts == nil {
		t.Fatal("greeting lacks an RFC 1939 section 7 timestamp")
	}
	digest := md5.Sum([]byte(ts[1] + "hunter 2"))
	if got := c.cmd("APOP bob%example.com " + strings.ToUpper(hex.EncodeToString(digest[:]))); got != "+OK maildrop has 0 messages (0 octets)" {
		t.Fatalf("APOP: %q", got)
	}
}

// selfSigned returns a server TLS config with a fresh certificate.
func selfSigned(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pop.test"},
		DNSNames: []string{"pop.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func tlsConfigNoPlaintext(t testing.TB) Config {
	cfg := testConfig()
	cfg.PlaintextAuth = PlaintextNever
	cfg.TLS = selfSigned(t)
	return cfg
}

func TestSTLSThenLogin(t *testing.T) {
	w := newWorld()
	c := dial(t, w.server(t, tlsConfigNoPlaintext(t), nil), "127.0.0.1:1000")
	c.expectPrefix("+OK")
	if got := c.cmd("USER alice@example.com"); got != "-ERR [AUTH] plaintext authentication requires TLS: use STLS first" {
		t.Fatalf("USER before STLS: %q", got)
	}
	c.send("CAPA")
	c.expectPrefix("+OK")
	if caps := string(c.multi()); !strings.Contains(caps, "STLS\r\n") || strings.Contains(caps, "USER") {
		t.Fatalf("CAPA before TLS:\n%s", caps)
	}
	c.expectTLS(c.cmd("STLS"))
	c.send("CAPA")
	c.expectPrefix("+OK")
	if caps := string(c.multi()); strings.Contains(caps, "STLS") || !strings.Contains(caps, "USER\r\n") {
		t.Fatalf("CAPA under TLS:\n%s", caps)
	}
	if got := c.cmd("STLS"); got != "-ERR STLS not available" {
		t.Fatalf("second STLS: %q", got)
	}
	c.cmd("USER alice@example.com")
	c.expectOK("PASS secret")
	c.send("RETR 2")
	c.expectPrefix("+OK 73 octets")
	if got := unstuff(c.multi()); got != msgDots {
		t.Fatalf("RETR over TLS: %q", got)
	}
}

// expectTLS checks the STLS reply and switches the client to TLS.
func (c *client) expectTLS(status string) {
	c.t.Helper()
	if status != "+OK begin TLS negotiation" {
		c.t.Fatalf("STLS: %q", status)
	}
	tc := tls.Client(c.conn, &tls.Config{InsecureSkipVerify: true, ServerName: "pop.test"})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
	c.r.Reset(tc)
}

func (c *client) expectOK(cmd string) {
	c.t.Helper()
	if got := c.cmd(cmd); !strings.HasPrefix(got, "+OK") {
		c.t.Fatalf("%s: %q", cmd, got)
	}
}

// TestSTLSInjection is CVE-2011-0411: a man in the middle appends a command
// to the client's STLS in the same packet, hoping it runs after the
// handshake as if the client had sent it under TLS.
func TestSTLSInjection(t *testing.T) {
	w := newWorld()
	cfg := tlsConfigNoPlaintext(t)
	cfg.PlaintextAuth = PlaintextAlways
	c := dial(t, w.server(t, cfg, nil), "127.0.0.1:1000")
	c.expectPrefix("+OK")
	c.send("STLS", "USER alice@example.com", "PASS secret")
	if got := c.line(); got != "-ERR command received after STLS before TLS negotiation; closing" {
		t.Fatalf("pipelined STLS: %q", got)
	}
	c.expectClosed()
	if w.auth.callCount() != 0 {
		t.Fatal("injected command reached the authenticator")
	}
}

func TestSTLSHandshakeFailureCloses(t *testing.T) {
	w := newWorld()
	c := dial(t, w.server(t, tlsConfigNoPlaintext(t), nil), "127.0.0.1:1000")
	c.expectPrefix("+OK")
	if got := c.cmd("STLS"); got != "+OK begin TLS negotiation" {
		t.Fatalf("STLS: %q", got)
	}
	c.send("USER alice@example.com") // plaintext where a ClientHello belongs
	c.expectClosed()
}

// TestUncheckedLoginIsNotAFastAnswer: when credentials cannot be checked
// because the checks are saturated (ErrBusy), -ERR [SYS/TEMP] comes no
// sooner than a failure from a clean address would (AuthDelayBase), and
// from an address that has been failing no sooner than its penalty: a
// guessing flood must not get a quicker answer than a wrong password. A
// userbase that is down answers a clean address at once. Nothing is
// recorded as a failure.
func TestUncheckedLoginIsNotAFastAnswer(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	const guesser, clean = "192.0.2.1:1000", "192.0.2.9:1000"
	for _, user := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		failLogin(t, srv, guesser, user)
	}
	tryLogin := func(remote string) {
		c := dial(t, srv, remote)
		c.expectPrefix("+OK")
		c.cmd("USER bob@example.com")
		if got := c.cmd("PASS hunter 2"); !strings.HasPrefix(got, "-ERR [SYS/TEMP]") {
			t.Fatalf("%s: %q", remote, got)
		}
		c.close()
	}
	w.auth.err = fmt.Errorf("userbase down: %w", ErrTemporary)
	tryLogin(clean)
	w.auth.err = fmt.Errorf("userbase: %w", ErrBusy)
	tryLogin(clean)
	tryLogin(guesser)
	want := []time.Duration{2 * s, 4 * s, 2 * s, 8 * s}
	if got := w.clock.sleeps(); !slices.Equal(got, want) {
		t.Fatalf("delays %v, want %v (failures, then the clean address, then the guesser's)", got, want)
	}
	if d := srv.penalty.delay("ip:192.0.2.9", "login:bob@example.com"); d != 0 {
		t.Fatalf("an unchecked login counted as a failure: penalty %v", d)
	}
}
