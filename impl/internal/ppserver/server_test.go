package ppserver_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"powermail/impl/internal/ppserver"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/pp"
	"powermail/impl/ppclient"
)

var ann = mailbox.MustParse("ann@example.com")

func TestNewRefusesShortSecret(t *testing.T) {
	for _, s := range []string{"", "short"} {
		if _, err := ppserver.New(ppserver.Config{Secret: []byte(s)}, newFakeStore(t.TempDir()), quietLog); !errors.Is(err, ppserver.ErrShortSecret) {
			t.Errorf("secret %q: %v", s, err)
		}
	}
}

func TestWrongSecretIsRefused(t *testing.T) {
	c, _ := newPipeClient(t, newServer(t, newFakeStore(t.TempDir())), "not the right secret at all")
	err := c.Ping(ctxT(t))
	var werr *pp.Error
	if !errors.As(err, &werr) || werr.Code != pp.CodeAuthFailed {
		t.Fatalf("got %v", err)
	}
}

// TestImpostorIsDetected: a server that does not know the secret cannot
// produce the server proof, so the client refuses to talk to it.
func TestImpostorIsDetected(t *testing.T) {
	impostor := func(ctx context.Context, _ string) (net.Conn, error) {
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			r := bufio.NewReader(s)
			s.Write([]byte("OK " + pp.Banner + " " + pp.NewNonce() + "\r\n"))
			r.ReadString('\n')
			s.Write([]byte("OK " + strings.Repeat("ab", 32) + "\r\n")) // a guess
			r.ReadString('\n')
		}()
		return c, nil
	}
	c := ppclient.New(ppclient.Config{Addr: "impostor", Secret: testSecret, ClientName: "t", Dial: impostor})
	err := c.Ping(ctxT(t))
	if !errors.Is(err, ppclient.ErrImpostor) || !errors.Is(err, ppclient.ErrUnreachable) {
		t.Fatalf("got %v", err)
	}
}

func TestClientOverPipe(t *testing.T) {
	st := newFakeStore(t.TempDir())
	c, _ := newPipeClient(t, newServer(t, st), testSecret)
	ctx := ctxT(t)
	id := msgid.New(time.Now())
	u, err := c.Begin(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("hello\r\n"))
	if err := u.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(ctx, id, []mailbox.Name{ann}); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if n, err := c.Get(ctx, ann, id, &sb); err != nil || n != 7 || sb.String() != "hello\r\n" {
		t.Fatalf("Get: %d %q %v", n, sb.String(), err)
	}
	// Cancel mid-upload: the connection is dropped and the server cancels.
	u, _ = c.Begin(ctx, msgid.New(time.Now()))
	u.Write(make([]byte, 100<<10))
	u.Cancel()
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.cancelled == 1 && st.uploading == 0 })
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownFinishesCommitInFlight: Shutdown waits for a commit that has
// started, whose client still gets its OK, and closes idle connections.
func TestShutdownFinishesCommitInFlight(t *testing.T) {
	st := newFakeStore(t.TempDir())
	srv := newServer(t, st)
	c, p := newPipeClient(t, srv, testSecret)
	ctx := ctxT(t)
	id := msgid.New(time.Now())
	u, _ := c.Begin(ctx, id)
	u.Write([]byte("x"))
	if err := u.Finish(); err != nil {
		t.Fatal(err)
	}
	idle := p.rawConn(t) // a second, idle connection
	r := bufio.NewReader(idle)
	if greeting, _ := r.ReadString('\n'); !strings.HasPrefix(greeting, "OK ") {
		t.Fatalf("greeting %q", greeting) // the session is registered now
	}
	farewell := make(chan string, 1)
	go func() {
		line, _ := r.ReadString('\n')
		farewell <- line
	}()
	st.commitGate, st.commitStarted = make(chan struct{}), make(chan struct{})
	committed := make(chan error)
	go func() { committed <- c.Commit(ctx, id, []mailbox.Name{ann}) }()
	<-st.commitStarted
	shut := make(chan error)
	go func() { shut <- srv.Shutdown(ctx) }()
	select {
	case <-shut:
		t.Fatal("Shutdown returned with a commit in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(st.commitGate)
	if err := <-committed; err != nil {
		t.Fatalf("commit in flight: %v", err)
	}
	c.Close() // nobody reads the pooled connection: let the server's 421 fail fast
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if line := <-farewell; !strings.HasPrefix(line, "ERR 421") {
		t.Fatalf("idle connection got %q, want ERR 421", line)
	}
}

func TestShutdownBoundedByContext(t *testing.T) {
	st := newFakeStore(t.TempDir())
	srv := newServer(t, st)
	c, _ := newPipeClient(t, srv, testSecret)
	ctx := ctxT(t)
	id := msgid.New(time.Now())
	u, _ := c.Begin(ctx, id)
	u.Finish()
	st.commitGate, st.commitStarted = make(chan struct{}), make(chan struct{})
	defer close(st.commitGate)
	go c.Commit(ctx, id, []mailbox.Name{ann})
	<-st.commitStarted
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	go func() { time.Sleep(200 * time.Millisecond); st.commitGate <- struct{}{} }()
	if err := srv.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestUnauthenticatedFloodCannotLockOut is issue 14: connections that
// never AUTH, from any number of addresses, cannot keep a front end out.
// When the server is full, the oldest idle unauthenticated connection
// makes room (ERR 421); an authenticated one is never evicted; and when
// every connection is authenticated, a new one is refused.
func TestUnauthenticatedFloodCannotLockOut(t *testing.T) {
	srv := newServer(t, newFakeStore(t.TempDir()), func(c *ppserver.Config) { c.Conn.MaxConnections = 2 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	addr := ln.Addr().String()
	pool := authenticated(t, addr)
	var flood []greeted
	for i := range 5 {
		waitFor(t, func() bool { return ppserver.IdleSessions(srv) == 1+min(i, 1) })
		g := dialGreeting(t, addr)
		if !strings.HasPrefix(g.line, "OK ") {
			t.Fatalf("flood connection %d: %q", i, g.line)
		}
		if i > 0 { // it took the place of the one before
			if line, _ := flood[i-1].r.ReadString('\n'); !strings.HasPrefix(line, "ERR 421 idle connection closed") {
				t.Fatalf("flood connection %d, evicted: %q", i-1, line)
			}
		}
		flood = append(flood, g)
	}
	if line := pool.cmd(t, "PING"); line != "OK pong" {
		t.Fatalf("the authenticated connection after the flood: %q", line)
	}
	waitFor(t, func() bool { return ppserver.IdleSessions(srv) == 2 })
	pool2 := authenticated(t, addr) // evicts the last flood connection
	pool2.cmd(t, "PING")
	if line := dialGreeting(t, addr).line; !strings.HasPrefix(line, "ERR 421 too many") {
		t.Fatalf("every connection authenticated, a new one: %q", line)
	}
}

// rawSession is an authenticated connection spoken to line by line.
type rawSession struct {
	net.Conn
	r *bufio.Reader
}

func authenticated(t *testing.T, addr string) rawSession {
	t.Helper()
	g := dialGreeting(t, addr)
	snonce, ok := strings.CutPrefix(strings.TrimSpace(g.line), "OK "+pp.Banner+" ")
	if !ok {
		t.Fatalf("greeting %q", g.line)
	}
	cnonce := pp.NewNonce()
	s := rawSession{g.Conn, g.r}
	if line := s.cmd(t, "AUTH test "+cnonce+" "+pp.ClientProof([]byte(testSecret), snonce, cnonce, "test")); !strings.HasPrefix(line, "OK ") {
		t.Fatalf("AUTH: %q", line)
	}
	return s
}

func (s rawSession) cmd(t *testing.T, line string) string {
	t.Helper()
	if _, err := s.Write([]byte(line + "\r\n")); err != nil {
		t.Fatal(err)
	}
	reply, err := s.r.ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return strings.TrimSuffix(reply, "\r\n")
}

type greeted struct {
	net.Conn
	r    *bufio.Reader
	line string
}

// dialGreeting connects and reads the first line the server sends.
func dialGreeting(t *testing.T, addr string) greeted {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	r := bufio.NewReader(c)
	line, _ := r.ReadString('\n')
	return greeted{c, r, line}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in time")
}
