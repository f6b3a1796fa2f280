package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lineProto is a toy protocol on the skeleton: "auth" establishes the
// session, "slow" is a command that takes a while ("slow?" then says
// whether its reads would be interrupted), "quit" releases the slot before
// its reply, anything else is echoed.
type lineProto struct{ slow time.Duration }

func (p lineProto) ServeConn(c *Conn) {
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "hello\n")
	for {
		raw, err := c.ReadLine(r, time.Minute, 64)
		switch {
		case errors.Is(err, ErrClosing):
			fmt.Fprintf(c, "bye closing\n")
			return
		case errors.Is(err, ErrLineTooLong):
			fmt.Fprintf(c, "too long\n")
			continue
		case err != nil:
			return
		}
		switch line := strings.TrimSpace(string(raw)); line {
		case "auth":
			c.Established()
			fmt.Fprintf(c, "ok\n")
		case "slow":
			time.Sleep(p.slow)
			fmt.Fprintf(c, "done\n")
		case "slow?":
			time.Sleep(p.slow)
			fmt.Fprintf(c, "closing=%v interrupted=%v\n", c.Closing(), c.Interrupted())
		case "quit":
			c.Release()
			fmt.Fprintf(c, "bye\n")
			return
		default:
			fmt.Fprintf(c, "%s\n", line)
		}
	}
}

func (lineProto) Refuse(w io.Writer, reason string) { fmt.Fprintf(w, "busy %s\n", reason) }

type testServer struct {
	s    *Server
	addr string
	done chan error
}

func start(t *testing.T, cfg Config, opt Options) *testServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	opt.Log = slog.New(slog.DiscardHandler)
	ts := &testServer{s: New(cfg, lineProto{slow: 300 * time.Millisecond}, opt), addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() { ts.done <- ts.s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		ts.s.Shutdown(ctx)
	})
	return ts
}

type client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dialFrom connects from local address ip (any 127.0.0.0/8 address works
// on Linux loopback) and reads the first line.
func (ts *testServer) dialFrom(t *testing.T, ip string) (*client, string) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", ts.addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	cl := &client{t: t, c: c, r: bufio.NewReader(c)}
	return cl, cl.line()
}

func (cl *client) line() string {
	s, err := cl.r.ReadString('\n')
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimSpace(s)
}

func (cl *client) cmd(s string) string {
	fmt.Fprintf(cl.c, "%s\n", s)
	return cl.line()
}

// A line over the limit is consumed and refused; the next one is read as
// usual, and lines that arrived together are answered in order.
func TestReadLine(t *testing.T) {
	ts := start(t, Config{}, Options{Name: "t"})
	c, _ := ts.dialFrom(t, "127.0.0.2")
	fmt.Fprintf(c.c, "%s\nab\ncd\n", strings.Repeat("x", 5000))
	assert.Equal(t, "too long", c.line())
	assert.Equal(t, "ab", c.line())
	assert.Equal(t, "cd", c.line())
}

func TestPerAddressLimit(t *testing.T) {
	ts := start(t, Config{MaxConnectionsPerIP: 2}, Options{Name: "t"})
	for range 2 {
		_, hi := ts.dialFrom(t, "127.0.0.1")
		require.Equal(t, "hello", hi)
	}
	_, hi := ts.dialFrom(t, "127.0.0.1")
	assert.Equal(t, "busy per_ip", hi)
	_, hi = ts.dialFrom(t, "127.0.0.2")
	assert.Equal(t, "hello", hi, "another address is not affected")
}

// A full server makes room by closing the oldest idle session that is not
// established; an established or busy one stays.
func TestFullServerEvictsOldestIdleNewSession(t *testing.T) {
	ts := start(t, Config{MaxConnections: 3}, Options{Name: "t", EvictEstablished: true})
	authed, _ := ts.dialFrom(t, "127.0.0.2")
	require.Equal(t, "ok", authed.cmd("auth"))
	idleNew, _ := ts.dialFrom(t, "127.0.0.3")
	busy, _ := ts.dialFrom(t, "127.0.0.4")
	fmt.Fprintf(busy.c, "slow\n")
	time.Sleep(50 * time.Millisecond) // the slow command is running

	newcomer, hi := ts.dialFrom(t, "127.0.0.5")
	require.Equal(t, "hello", hi)
	assert.Equal(t, "bye closing", idleNew.line(), "the idle session that never logged in made room")
	assert.Equal(t, "done", busy.line(), "a busy session is never evicted")
	assert.Equal(t, "x", authed.cmd("x"), "the established session stays")
	assert.Equal(t, "y", newcomer.cmd("y"))
}

// A backend (EvictEstablished false) never drops its authenticated pools:
// when every session is established, a new connection is refused.
func TestBackendKeepsEstablishedSessions(t *testing.T) {
	ts := start(t, Config{MaxConnections: 2}, Options{Name: "t"})
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		c, _ := ts.dialFrom(t, ip)
		require.Equal(t, "ok", c.cmd("auth"))
	}
	_, hi := ts.dialFrom(t, "127.0.0.4")
	assert.Equal(t, "busy full", hi)
}

// With EvictWithinGroup (a backend), an address at its limit makes room
// from its own idle sessions that never authenticated; its established
// ones stay, and then a new connection from it is refused.
func TestEvictWithinGroup(t *testing.T) {
	ts := start(t, Config{MaxConnectionsPerIP: 2}, Options{Name: "t", EvictWithinGroup: true})
	waitIdle := func(n int) {
		for deadline := time.Now().Add(5 * time.Second); ts.s.IdleSessions() != n; time.Sleep(time.Millisecond) {
			require.True(t, time.Now().Before(deadline), "%d sessions idle, want %d", ts.s.IdleSessions(), n)
		}
	}
	authed, _ := ts.dialFrom(t, "127.0.0.2")
	require.Equal(t, "ok", authed.cmd("auth"))
	lurker, _ := ts.dialFrom(t, "127.0.0.2")
	waitIdle(2)
	client, hi := ts.dialFrom(t, "127.0.0.2")
	require.Equal(t, "hello", hi)
	assert.Equal(t, "bye closing", lurker.line(), "the idle session that never authenticated made room")
	require.Equal(t, "ok", client.cmd("auth"))
	_, hi = ts.dialFrom(t, "127.0.0.2")
	assert.Equal(t, "busy per_ip", hi, "established sessions are never evicted")
	assert.Equal(t, "x", authed.cmd("x"))
}

// Many idle connections from many addresses cannot lock a client out.
func TestIdleFloodCannotLockOut(t *testing.T) {
	ts := start(t, Config{MaxConnections: 20, MaxConnectionsPerIP: 5}, Options{Name: "t", EvictEstablished: true})
	for i := range 40 {
		ts.dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i%10))
	}
	c, hi := ts.dialFrom(t, "127.0.2.1")
	require.Equal(t, "hello", hi)
	assert.Equal(t, "ok", c.cmd("auth"))
}

func TestNewTimeoutBeforeFirstStep(t *testing.T) {
	ts := start(t, Config{NewTimeout: 200 * time.Millisecond}, Options{Name: "t"})
	lazy, _ := ts.dialFrom(t, "127.0.0.2")
	prompt, _ := ts.dialFrom(t, "127.0.0.3")
	require.Equal(t, "ok", prompt.cmd("auth"))
	time.Sleep(400 * time.Millisecond)
	assert.Equal(t, "<EOF>", lazy.line(), "closed after NewTimeout")
	assert.Equal(t, "z", prompt.cmd("z"), "an established session waits longer")
}

// Shutdown ends idle sessions at once, lets a command in flight finish,
// and then returns; Serve returns ErrServerClosed.
func TestShutdownDrains(t *testing.T) {
	ts := start(t, Config{}, Options{Name: "t"})
	idle, _ := ts.dialFrom(t, "127.0.0.2")
	busy, _ := ts.dialFrom(t, "127.0.0.3")
	fmt.Fprintf(busy.c, "slow\n")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ts.s.Shutdown(ctx))
	assert.Equal(t, "bye closing", idle.line())
	assert.Equal(t, "done", busy.line(), "the command in flight finished")
	assert.Equal(t, "bye closing", busy.line(), "then the session ended")
	assert.True(t, errors.Is(<-ts.done, ErrServerClosed))
	_, err := net.DialTimeout("tcp", ts.addr, time.Second)
	assert.Error(t, err, "nothing listens any more")
}

// A session busy with a command when Shutdown begins is Closing (it will
// say goodbye after) but not Interrupted: the rest of its command (a
// message body) is still read.
func TestShutdownDoesNotInterruptABusySession(t *testing.T) {
	ts := start(t, Config{}, Options{Name: "t"})
	busy, _ := ts.dialFrom(t, "127.0.0.3")
	fmt.Fprintf(busy.c, "slow?\n")
	require.Eventually(t, func() bool { return ts.s.IdleSessions() == 0 }, 5*time.Second, time.Millisecond, "the command was read")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, ts.s.Shutdown(ctx))
	assert.Equal(t, "closing=true interrupted=false", busy.line())
	assert.Equal(t, "bye closing", busy.line())
}

func TestShutdownDeadlineClosesTheRest(t *testing.T) {
	ts := start(t, Config{}, Options{Name: "t"})
	ts.s.h = lineProto{slow: 5 * time.Second}
	busy, _ := ts.dialFrom(t, "127.0.0.3")
	fmt.Fprintf(busy.c, "slow\n")
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.s.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 6*time.Second)
}

// A client that reconnects as soon as it has read the reply to QUIT finds
// its slot free (the slot is released before the reply).
func TestQuitReleasesTheSlotBeforeTheReply(t *testing.T) {
	ts := start(t, Config{MaxConnectionsPerIP: 1}, Options{Name: "t"})
	for i := range 200 {
		c, hi := ts.dialFrom(t, "127.0.0.2")
		require.Equal(t, "hello", hi, "connection %d", i)
		require.Equal(t, "bye", c.cmd("quit"))
		c.c.Close()
	}
}

func TestGroup(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7:25":              "192.0.2.7/32",
		"[2001:db8:1:2:3::4]:25":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::]:110": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:25":     "192.0.2.7/32",
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		require.NoError(t, err)
		assert.Equal(t, want, Group(a).String(), addr)
	}
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	assert.False(t, Group(c1.RemoteAddr()).IsValid(), "a pipe has no group")
}
