// Package ppclient is the client of one pplistener backend, used by
// powersmtp, powerpop, ppadmin and chaos. It keeps a pool of authenticated
// connections, puts a deadline on every exchange, and never reuses a
// connection that failed or was interrupted: a half-read reply left in a
// pooled connection would be taken for the answer to the next command.
//
// Errors: a *pp.Error is the server's answer (its Temporary method tells
// 4xx from 5xx); anything else is a *TransportError, which matches
// ErrUnreachable and is temporary. IsTemporary covers both.
package ppclient

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"powermail/impl/pp"
)

// Config of a Client. Zero durations and MaxIdle get the defaults below.
type Config struct {
	Addr        string // host:port of the pplistener
	Secret      string // shared secret; never sent
	ClientName  string // this host, for the backend's log (letters, digits, . - _)
	DialTimeout time.Duration
	IOTimeout   time.Duration // bound on each exchange (and each upload chunk)
	MaxIdle     int           // idle connections kept for reuse
	// Dial, if set, replaces the TCP dialer: tests use net.Pipe, chaos
	// tools a connection that injects faults.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Defaults for zero Config fields.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultIOTimeout   = 30 * time.Second
	// DefaultMaxIdle: a front end keeps about one connection per session
	// in flight to each backend; dialling (with its authentication) for
	// every message beyond the pool costs more than an idle socket.
	DefaultMaxIdle = 64
	// pingAfterIdle: a connection idle longer than this is checked with
	// PING before reuse, since the server may have closed it meanwhile.
	pingAfterIdle = 2 * time.Second
	// maxIdleAge: older idle connections are closed rather than checked;
	// it stays well below the server's idle timeout.
	maxIdleAge = time.Minute
)

// Client talks to one backend. It is safe for concurrent use.
type Client struct {
	cfg Config

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
}

// New returns a client; it does not connect until the first request.
func New(cfg Config) *Client {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.IOTimeout <= 0 {
		cfg.IOTimeout = DefaultIOTimeout
	}
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = DefaultMaxIdle
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	return &Client{cfg: cfg}
}

// Addr returns the backend address.
func (c *Client) Addr() string { return c.cfg.Addr }

// Close closes idle connections; connections in use close when released.
func (c *Client) Close() error {
	c.mu.Lock()
	idle := c.idle
	c.idle, c.closed = nil, true
	c.mu.Unlock()
	for _, cn := range idle {
		cn.nc.Close()
	}
	return nil
}

// acquire returns a healthy connection: a pooled one or a new one; reused
// tells which. A pooled connection is taken if the server has not closed
// it (conn.alive, no round trip) and, if it sat idle for checkAfter or
// longer, it also answers PING (a peer that vanished without closing).
// With unchecked (a repeatable request's first attempt) a recently used
// connection is taken without the look at its socket, a syscall per
// request: if the server closed it, the request fails without an answer
// and do repeats it, checking every pooled connection it then takes.
func (c *Client) acquire(ctx context.Context, checkAfter time.Duration, unchecked bool) (cn *conn, reused bool, err error) {
	for {
		cn := c.popIdle()
		if cn == nil {
			break
		}
		recent := time.Since(cn.lastUsed) < checkAfter
		if recent && unchecked && cn.r.Buffered() == 0 {
			return cn, true, nil
		}
		if cn.alive() && (recent || c.healthy(ctx, cn)) {
			return cn, true, nil
		}
		cn.nc.Close()
	}
	cn, err = c.dial(ctx)
	return cn, false, err
}

func (c *Client) popIdle() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.idle) > 0 {
		cn := c.idle[len(c.idle)-1]
		c.idle = c.idle[:len(c.idle)-1]
		if time.Since(cn.lastUsed) < maxIdleAge {
			return cn
		}
		cn.nc.Close()
	}
	return nil
}

func (c *Client) healthy(ctx context.Context, cn *conn) bool {
	cn.watch(ctx)
	err := cn.refresh(ctx, c.cfg.IOTimeout)
	if err == nil {
		_, err = cn.roundTrip(pp.Command{Verb: pp.VerbPing})
	}
	return cn.unwatch() && err == nil
}

// release returns cn to the pool when the exchange ended cleanly: no error,
// or an ERR reply (the stream is still in step), except 421, after which
// the server closes.
func (c *Client) release(cn *conn, err error) {
	var werr *pp.Error
	reusable := err == nil || (errors.As(err, &werr) && !isShutdown(err))
	c.mu.Lock()
	if reusable && !c.closed && len(c.idle) < c.cfg.MaxIdle {
		cn.lastUsed = time.Now()
		c.idle = append(c.idle, cn)
		cn = nil
	}
	c.mu.Unlock()
	if cn != nil {
		cn.nc.Close()
	}
}

// do runs one exchange on a pooled connection under ctx and IOTimeout.
//
// A pooled connection can be dead without our knowing (the backend
// restarted a moment ago). If the exchange fails on a reused connection
// before a single reply byte arrived, it is repeated once on a new
// connection. That is safe because every verb is idempotent: reads, COMMIT
// and ABORT by design, DELETE because a tombstone is written even for an
// absent message. (An upload is not retried here; see Begin.)
func (c *Client) do(ctx context.Context, op string, exchange func(cn *conn) error) error {
	retry, err := c.attempt(ctx, exchange, true)
	if retry && ctx.Err() == nil {
		// The pool may hold more connections the server closed (it
		// restarted): this time each is looked at before it is used.
		_, err = c.attempt(ctx, exchange, false)
	}
	return c.wrap(op, ctx, err)
}

func (c *Client) attempt(ctx context.Context, exchange func(cn *conn) error, unchecked bool) (retry bool, err error) {
	cn, reused, err := c.acquire(ctx, pingAfterIdle, unchecked)
	if err != nil {
		return false, c.wrap("dial", ctx, err)
	}
	cn.watch(ctx)
	received := cn.received
	if err = cn.refresh(ctx, c.cfg.IOTimeout); err == nil {
		err = exchange(cn)
	}
	// A cancellation that lands after a complete reply is harmless: the
	// stream is in step and the next use sets a fresh deadline. One that
	// lands mid-exchange shows up as an I/O error, and release discards.
	cn.unwatch()
	silent := cn.received == received // read before release hands cn to others
	c.release(cn, err)
	return reused && (noAnswer(err, silent) || isShutdown(err)), err
}

// noAnswer: the exchange failed without a single byte from the server.
func noAnswer(err error, silent bool) bool {
	var werr *pp.Error
	return err != nil && silent && !errors.As(err, &werr)
}

// isShutdown: the reply was the 421 that a server sends to idle
// connections when it shuts down, before it read our command.
func isShutdown(err error) bool {
	var werr *pp.Error
	return errors.As(err, &werr) && werr.Code == pp.CodeShutdown
}

// wrap leaves server replies alone and turns everything else into a
// *TransportError.
func (c *Client) wrap(op string, ctx context.Context, err error) error {
	var werr *pp.Error
	var terr *TransportError
	var derr *DestinationError
	if err == nil || errors.As(err, &werr) || errors.As(err, &terr) || errors.As(err, &derr) {
		return err
	}
	return &TransportError{Addr: c.cfg.Addr, Op: op, Err: orCtx(ctx, err)}
}
