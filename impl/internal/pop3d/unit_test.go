package pop3d

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestTopWriterIsIndependentOfWriteBoundaries(t *testing.T) {
	msg := string(stuff(msgDots + "line 5\r\nline 6\r\n"))
	cases := []struct {
		lines int
		want  string
	}{
		{0, "Subject: dots\r\n\r\n"},
		{2, "Subject: dots\r\n\r\n..starts with a dot\r\n...two dots\r\n"},
		{100, msg},
	}
	for _, tc := range cases {
		for _, chunk := range []int{1, 2, 3, 7, len(msg)} {
			var out bytes.Buffer
			tw := &topWriter{dst: &out, bodyLeft: tc.lines}
			var err error
			for p := msg; p != "" && err == nil; p = p[min(chunk, len(p)):] {
				_, err = tw.Write([]byte(p[:min(chunk, len(p))]))
			}
			if err != nil && !errors.Is(err, errTopDone) {
				t.Fatalf("TOP %d in %d-byte writes: %v", tc.lines, chunk, err)
			}
			if out.String() != tc.want {
				t.Errorf("TOP %d in %d-byte writes: %q, want %q", tc.lines, chunk, out.String(), tc.want)
			}
		}
	}
}

// readerFromSpy records whether ReadFrom was used, as *net.TCPConn's would
// be to splice.
type readerFromSpy struct {
	bytes.Buffer
	readFrom bool
}

func (s *readerFromSpy) ReadFrom(r io.Reader) (int64, error) {
	s.readFrom = true
	return s.Buffer.ReadFrom(r)
}

func TestMessageWriterPassesReadFromThrough(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	s := newSessionOn(&Server{log: discardLogger()}, addrConn{c2, tcpAddr("127.0.0.1:1")})
	spy := &readerFromSpy{}
	mw := &messageWriter{s: s, status: "+OK 5 octets\r\n", dst: spy}
	go func() { _, _ = io.Copy(io.Discard, c1) }()
	n, err := io.Copy(mw, io.LimitReader(strings.NewReader("hello, world"), 5))
	if err != nil || n != 5 || mw.n != 5 || !spy.readFrom || spy.String() != "hello" || !mw.started {
		t.Fatalf("n=%d counted=%d readFrom=%v content=%q err=%v", n, mw.n, spy.readFrom, spy.String(), err)
	}
}

func TestPenaltyDoublesCapsAndForgets(t *testing.T) {
	clock := newFakeClock()
	p := newPenalties(clock, 2*time.Second, 15*time.Second, time.Minute)
	var got []time.Duration
	for range 6 {
		p.fail("k")
		got = append(got, p.delay("k", "other"))
	}
	want := "[2s 4s 8s 15s 15s 15s]"
	if fmt.Sprint(got) != want {
		t.Fatalf("delays %v, want %s", got, want)
	}
	clock.advance(time.Minute)
	if d := p.delay("k"); d != 0 {
		t.Fatalf("delay %v after the forget time", d)
	}
	p.fail("k")
	if d := p.delay("k"); d != 2*time.Second {
		t.Fatalf("a failure after forgetting restarts at %v, want 2s", d)
	}
	p.clear("k")
	if d := p.delay("k"); d != 0 {
		t.Fatalf("delay %v after clear", d)
	}
}

func TestPenaltyTableIsBounded(t *testing.T) {
	clock := newFakeClock()
	p := newPenalties(clock, time.Second, time.Second, time.Minute)
	for i := range maxPenaltyEntries + 10 {
		p.fail(fmt.Sprint(i))
	}
	if len(p.entries) != maxPenaltyEntries {
		t.Fatalf("%d entries, want the bound %d", len(p.entries), maxPenaltyEntries)
	}
	clock.advance(time.Minute)
	p.fail("new")
	if len(p.entries) != 1 {
		t.Fatalf("expired entries not swept: %d", len(p.entries))
	}
}

func TestNormalizeLogin(t *testing.T) {
	for in, want := range map[string]string{
		"user%example.com": "user@example.com",
		"a%b%example.com":  "a%b@example.com",
		"a%b@example.com":  "a%b@example.com",
		"user@example.com": "user@example.com",
		"no-domain":        "no-domain",
		"%":                "@",
		"User%Example.COM": "User@Example.COM",
	} {
		if got := normalizeLogin(in); got != want {
			t.Errorf("normalizeLogin(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsTemporary(t *testing.T) {
	for err, want := range map[error]bool{
		ErrTemporary:                       true,
		fmt.Errorf("x: %w", ErrTemporary):  true,
		fmt.Errorf("x: %w", tempErr{}):     true,
		context.DeadlineExceeded:           true,
		errBackend:                         false,
		fmt.Errorf("x: %w", ErrAuthFailed): false,
	} {
		if got := IsTemporary(err); got != want {
			t.Errorf("IsTemporary(%v) = %v, want %v", err, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults: %v", err)
	}
	for key, change := range map[string]func(*Config){
		"hostname":               func(c *Config) { c.Hostname = "" },
		"idle-timeout":           func(c *Config) { c.IdleTimeout = 9 * time.Minute },
		"write-timeout":          func(c *Config) { c.WriteTimeout = 0 },
		"retr-timeout":           func(c *Config) { c.RetrTimeout = time.Second },
		"backend-timeout":        func(c *Config) { c.BackendTimeout = 0 },
		"tls-handshake-timeout":  func(c *Config) { c.HandshakeTimeout = -1 },
		"max-connections":        func(c *Config) { c.Conn.MaxConnections = 0 },
		"max-connections-per-ip": func(c *Config) { c.Conn.MaxConnectionsPerIP = c.Conn.MaxConnections + 1 },
		"new-connection-timeout": func(c *Config) { c.Conn.NewTimeout = 0 },
		"max-errors":             func(c *Config) { c.MaxErrors = 0 },
		"max-auth-failures":      func(c *Config) { c.MaxAuthFailures = 0 },
		"plaintext-auth":         func(c *Config) { c.PlaintextAuth = "sometimes" },
		"auth-delay-max":         func(c *Config) { c.AuthDelayMax = c.AuthDelayBase - 1 },
		"auth-delay-forget":      func(c *Config) { c.AuthDelayForget = 0 },
	} {
		c := Defaults()
		change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("%s: got %v, want an error naming the key", key, err)
		}
	}
}

func TestShutdownEndsIdleSessions(t *testing.T) {
	w := newWorld()
	srv := w.server(t, testConfig(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	conn, err := net.DialTimeout("tcp", ln.Addr().String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.login("alice@example.com", "secret")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	c.expectPrefix("-ERR [SYS/TEMP] server shutting down")
	c.expectClosed()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if err := srv.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
}

func TestRemoteIPGroupsIPv6By64(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.1:110":              "192.0.2.1",
		"[::ffff:192.0.2.1]:110":     "192.0.2.1",
		"[2001:db8:1:2:3:4:5:6]:110": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1]:9":   "2001:db8:1:2::/64",
		"[::1]:110":                  "::/64",
	} {
		if got := remoteIP(tcpAddr(addr)); got != want {
			t.Errorf("remoteIP(%s) = %q, want %q", addr, got, want)
		}
	}
}
