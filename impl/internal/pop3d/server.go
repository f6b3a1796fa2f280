package pop3d

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"

	"powermail/impl/internal/serve"
)

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = serve.ErrServerClosed

// Server serves POP3 sessions on the server skeleton (package serve), which
// accepts, admits and shuts down connections. Create it with New; it is
// safe for concurrent use by several Serve calls (one per listener).
type Server struct {
	cfg     Config
	auth    Authenticator
	apop    APOPAuthenticator // nil when auth cannot give secrets
	drops   Maildrops
	log     *slog.Logger
	clock   Clock
	penalty *penalties
	locks   lockSet
	sk      *serve.Server
}

// New validates cfg and returns a Server (the constructor of every
// protocol server: configuration, what it serves, logger).
func New(cfg Config, auth Authenticator, drops Maildrops, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if auth == nil || drops == nil {
		return nil, errors.New("pop3d: Authenticator and Maildrops are required")
	}
	s := &Server{cfg: cfg, auth: auth, drops: drops, log: log, clock: cfg.Clock}
	if s.clock == nil {
		s.clock = realClock{}
	}
	s.apop, _ = auth.(APOPAuthenticator)
	s.penalty = newPenalties(s.clock, cfg.AuthDelayBase, cfg.AuthDelayMax, cfg.AuthDelayForget)
	// POP3 clients reconnect: an idle logged-in session may make room too.
	s.sk = serve.New(cfg.Conn, handler{s}, serve.Options{Name: "pop3", EvictEstablished: true, Log: s.log})
	return s, nil
}

// Serve accepts connections on ln until Shutdown; it returns ErrServerClosed
// then.
func (s *Server) Serve(ln net.Listener) error { return s.sk.Serve(ln) }

// ServeConn runs one POP3 session on conn and closes it (tests and
// inetd-style mains); connection limits apply.
func (s *Server) ServeConn(conn net.Conn) { s.sk.ServeConn(conn) }

// Shutdown stops the listeners and ends every session: sessions waiting for a
// command are told "-ERR [SYS/TEMP]" and closed; a command in progress (a
// QUIT applying deletes, a RETR) finishes first unless ctx ends, at which
// point the connections close and their commands' contexts are cancelled.
func (s *Server) Shutdown(ctx context.Context) error { return s.sk.Shutdown(ctx) }

// handler is the Server as the skeleton's serve.Handler.
type handler struct{ s *Server }

func (h handler) ServeConn(c *serve.Conn) {
	metricConnections.Inc()
	defer metricConnections.Dec()
	newSession(h.s, c).run()
}

// Refuse answers a connection over a limit. RFC 2449 section 8.1.2:
// SYS/TEMP says "try again later".
func (h handler) Refuse(w io.Writer, reason string) {
	text := "too many connections"
	if reason == "shutdown" {
		text = "server shutting down"
	}
	_, _ = io.WriteString(w, "-ERR ["+codeSysTemp+"] "+text+"\r\n")
	metricRefused.WithLabelValues("limit").Inc()
}
