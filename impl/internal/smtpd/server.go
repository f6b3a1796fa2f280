package smtpd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"time"

	"powermail/impl/internal/serve"
	"powermail/impl/internal/wallclock"
	"powermail/impl/msgid"
)

// Server runs SMTP sessions on the server skeleton (package serve), which
// accepts, admits and shuts down connections.
type Server struct {
	cfg       Config
	resolver  Resolver
	deliverer Deliverer
	log       *slog.Logger
	now       func() time.Time // the clock of deadlines, read only through this field
	wall      *wallclock.Clock // the wall clock of what outlives the session (see stamp)
	ids       msgid.Generator  // every id of this process: they never go back
	sk        *serve.Server
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = serve.ErrServerClosed

// New validates cfg and returns a server that uses resolver and deliverer.
func New(cfg Config, resolver Resolver, deliverer Deliverer, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if resolver == nil || deliverer == nil || log == nil {
		return nil, fmt.Errorf("smtpd: resolver, deliverer and logger are required")
	}
	s := &Server{cfg: cfg, resolver: resolver, deliverer: deliverer, log: log, now: time.Now, wall: wallclock.New(shiftClock)}
	// Senders retry: an idle session that has sent mail may make room too.
	s.sk = serve.New(cfg.Conn, protocol{s}, serve.Options{Name: "smtp", EvictEstablished: true, Log: log})
	return s, nil
}

// Serve accepts connections on ln until Shutdown; it returns ErrServerClosed
// then.
func (s *Server) Serve(ln net.Listener) error { return s.sk.Serve(ln) }

// ServeConn runs a session on conn and closes it (tests); connection
// limits apply.
func (s *Server) ServeConn(conn net.Conn) { s.sk.ServeConn(conn) }

// Shutdown stops accepting and ends the sessions: one waiting for a command
// gets 421 at once (a transaction before DATA, or between BDAT chunks, is
// abandoned); one in DATA reads the body to its end, gets its 250 or
// refusal, and then 421. When ctx ends first, the rest are closed: a body
// still arriving then fails and its delivery is aborted (not acknowledged:
// the client retries).
func (s *Server) Shutdown(ctx context.Context) error { return s.sk.Shutdown(ctx) }

// protocol is the Server as the skeleton's serve.Handler.
type protocol struct{ s *Server }

func (p protocol) ServeConn(c *serve.Conn) { newSession(p.s, c).serve() }

// Refuse answers a connection over a limit with 421 (RFC 5321 3.8).
func (p protocol) Refuse(w io.Writer, reason string) {
	metricRefused.WithLabelValues(reason).Inc()
	r := replyTooManyConns
	if reason == "shutdown" {
		r = replyShuttingDown
	}
	fmt.Fprintf(w, "%s\r\n", r)
}

func remoteIP(conn net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// deadlineConn arms a deadline before every read and write: the next bytes
// must come within idle (the per-command timeout), and no read may wait past
// the end of the session, nor past the end of the message body while one is
// being received. Arming per call covers command lines, DATA and BDAT chunks
// alike, and the TLS layer above it.
type deadlineConn struct {
	*serve.Conn
	idle       time.Duration
	sessionEnd time.Time
	bodyEnd    time.Time // zero outside a message body
	now        func() time.Time
}

func (c *deadlineConn) deadline() time.Time {
	d := c.now().Add(c.idle)
	if d.After(c.sessionEnd) {
		d = c.sessionEnd
	}
	if !c.bodyEnd.IsZero() && d.After(c.bodyEnd) {
		d = c.bodyEnd
	}
	return d
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(c.deadline()); err != nil {
		return 0, err
	}
	// Checked after arming: a wake-up (shutdown, eviction) that came
	// before it would otherwise be overwritten; one after it cuts the
	// read short as usual. A DATA body is read on at shutdown (the
	// session is busy then), so its transaction can finish.
	if c.Interrupted() {
		return 0, os.ErrDeadlineExceeded
	}
	return c.Conn.Read(p)
}

// Write is bounded by idle only, not by the end of the session, so the 421
// that announces a session timeout can still be sent.
func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(c.now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// sessionContext ends with the session; the Resolver and Deliverer get it.
func (s *Server) sessionContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.SessionTimeout)
}
