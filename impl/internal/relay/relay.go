// Package relay hands forwarded messages to the outgoing SMTP host, the
// "smtp-sender" of PowerMail. It is a minimal RFC 5321 client that sends the
// stored form unchanged: the stored form is already CRLF and dot-stuffed
// (RFC 5321 section 4.5.2), so the DATA phase is the stored bytes plus
// "." CRLF, with no per-byte processing. (net/smtp's Data writer would
// dot-stuff a second time.)
package relay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"powermail/impl/internal/delivery"
	"powermail/impl/mail"
)

// Config names the outgoing host and the deadlines.
type Config struct {
	Addr      string        // host:port of the outgoing SMTP server
	HeloName  string        // our name in EHLO
	IOTimeout time.Duration // bound for each command and for the final reply
}

// Client opens one SMTP transaction per forwarded message.
type Client struct{ cfg Config }

// New returns a relay client.
func New(cfg Config) *Client { return &Client{cfg: cfg} }

// maxReplyBytes bounds one (possibly multi-line) reply; RFC 5321 section
// 4.5.3.1.5 allows 512 bytes a line, and textproto alone would buffer any
// length.
const maxReplyBytes = 64 << 10

// Start connects and sends the envelope for all recipients at once; the
// message is then written to the returned sink.
func (c *Client) Start(ctx context.Context, from string, rcpts []string) (delivery.RelaySink, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	s := &session{conn: conn, w: bufio.NewWriter(conn), timeout: c.cfg.IOTimeout, budget: &budget{r: conn}}
	s.r = textproto.NewReader(bufio.NewReader(s.budget))
	if err := s.envelope(c.cfg.HeloName, from, rcpts); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

type session struct {
	conn    net.Conn
	r       *textproto.Reader
	w       *bufio.Writer
	budget  *budget
	timeout time.Duration
}

func (s *session) envelope(helo, from string, rcpts []string) error {
	steps := []struct {
		cmd  string
		want int
	}{{"", 220}, {"EHLO " + helo, 250}, {"MAIL FROM:<" + from + ">", 250}}
	for _, r := range rcpts {
		steps = append(steps, struct {
			cmd  string
			want int
		}{"RCPT TO:<" + r + ">", 250})
	}
	steps = append(steps, struct {
		cmd  string
		want int
	}{"DATA", 354})
	for _, st := range steps {
		if err := s.step(st.cmd, st.want); err != nil {
			return err
		}
	}
	return nil
}

// step sends cmd (none for the greeting) and checks the reply class.
func (s *session) step(cmd string, want int) error {
	s.conn.SetDeadline(time.Now().Add(s.timeout))
	if cmd != "" {
		if _, err := s.w.WriteString(cmd + "\r\n"); err != nil {
			return s.transport(err)
		}
		if err := s.w.Flush(); err != nil {
			return s.transport(err)
		}
	}
	s.budget.left = maxReplyBytes
	code, msg, err := s.r.ReadResponse(want)
	if err == nil {
		return nil
	}
	if _, ok := err.(*textproto.Error); ok {
		return refused(code, cmd, msg)
	}
	return s.transport(err)
}

// Write sends stored-form bytes of the message.
func (s *session) Write(p []byte) (int, error) {
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	n, err := s.w.Write(p)
	if err != nil {
		return n, s.transport(err)
	}
	return n, nil
}

// Commit ends the data (the stored form ends in CRLF) and waits for 250.
func (s *session) Commit() error {
	defer s.conn.Close()
	if err := s.step(".", 250); err != nil {
		return err
	}
	s.step("QUIT", 221) // the message is accepted; QUIT's reply does not matter
	return nil
}

// Cancel drops the connection: without the final "." the relay discards
// the message (RFC 5321 section 3.8).
func (s *session) Cancel() { s.conn.Close() }

func (s *session) transport(err error) error {
	s.conn.Close()
	return fmt.Errorf("relay: %w", err)
}

// refused keeps a permanent refusal permanent, so the sender learns that the
// forward destination does not exist, and makes everything else a 451.
func refused(code int, cmd, msg string) error {
	text := fmt.Sprintf("forward refused by relay at %s: %d %s", verb(cmd), code, msg)
	if code/100 == 5 {
		return &mail.Reply{Code: 550, Enhanced: "5.1.0", Text: text}
	}
	return &mail.Reply{Code: 451, Enhanced: "4.4.0", Text: text}
}

func verb(cmd string) string {
	if cmd == "" {
		return "greeting"
	}
	v, _, _ := strings.Cut(cmd, " ")
	return v
}

// budget bounds the bytes read for one reply.
type budget struct {
	r    net.Conn
	left int
}

var errReplyTooLong = errors.New("reply too long")

func (b *budget) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errReplyTooLong
	}
	n, err := b.r.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}
