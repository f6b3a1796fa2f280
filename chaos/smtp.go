package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Limits of the chaos SMTP client. replyTimeout is longer than any fault
// window plus the server's backend timeout, so that a reply that is merely
// late is still read and the outcome is definite whenever it can be.
const (
	dialTimeout     = 3 * time.Second
	replyTimeout    = 40 * time.Second
	maxReplyLines   = 100
	maxReplyLineLen = 1024
)

// Outcome classes of an operation (Jepsen's ok / fail / info).
type Outcome string

const (
	OK   Outcome = "ok"   // 250 (or +OK): it happened and must stick
	Fail Outcome = "fail" // refused, or never fully sent: it must not have happened
	Info Outcome = "info" // no reply after the whole request: may or may not have happened
)

// sendResult is the outcome of one SMTP transaction.
type sendResult struct {
	Outcome Outcome
	Code    int // last reply code, 0 when none came
	Err     string
	DataAt  time.Time // just before DATA was sent: the server stamps the message after
	AckAt   time.Time // just after the 250 arrived: the server stamped the message before
}

// smtpConn is a minimal SMTP client: one transaction per connection.
type smtpConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// sendSMTP delivers m to rcpts through the server at addr.
func sendSMTP(addr string, rcpts []string, m message) sendResult {
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return sendResult{Outcome: Fail, Err: err.Error()}
	}
	defer c.Close()
	s := &smtpConn{conn: c, r: bufio.NewReader(c)}
	res, done := s.envelope(rcpts)
	if done {
		return res
	}
	res.Outcome, res.Code, res.Err = s.body(m)
	if res.Outcome == OK {
		res.AckAt = time.Now()
		s.write("QUIT\r\n")
	}
	return res
}

// body sends the message after the 354 and reads the final reply.
func (s *smtpConn) body(m message) (Outcome, int, string) {
	// From here on the server may have stored the message: a missing
	// reply is "info", not "fail".
	if err := s.write(string(m.Wire) + ".\r\n"); err != nil {
		return Fail, 0, "data not sent: " + err.Error()
	}
	code, text, err := s.reply()
	switch {
	case err != nil:
		return Info, 0, err.Error()
	case code == 250:
		return OK, code, ""
	}
	return Fail, code, text
}

// smtpStep is one command ("" for the greeting) and the reply it needs.
type smtpStep struct {
	cmd  string
	want int
}

// envelope runs greeting, EHLO, MAIL, RCPT and DATA; done means the
// transaction ended there (with that result). Otherwise the result holds
// the time DATA was sent.
func (s *smtpConn) envelope(rcpts []string) (res sendResult, done bool) {
	steps := []smtpStep{{"", 220}, {"EHLO chaos.invalid", 250}, {"MAIL FROM:<chaos@chaos.invalid>", 250}}
	for _, r := range rcpts {
		steps = append(steps, smtpStep{"RCPT TO:<" + r + ">", 250})
	}
	steps = append(steps, smtpStep{"DATA", 354})
	for _, st := range steps {
		res.DataAt = time.Now()
		code, text, err := s.cmd(st.cmd)
		if err != nil {
			return sendResult{Outcome: Fail, Code: code, Err: err.Error()}, true
		}
		if code != st.want {
			return sendResult{Outcome: Fail, Code: code, Err: text}, true
		}
	}
	return res, false
}

func (s *smtpConn) cmd(line string) (int, string, error) {
	if line != "" {
		if err := s.write(line + "\r\n"); err != nil {
			return 0, "", err
		}
	}
	return s.reply()
}

func (s *smtpConn) write(p string) error {
	s.conn.SetWriteDeadline(time.Now().Add(replyTimeout))
	_, err := s.conn.Write([]byte(p))
	return err
}

// reply reads a possibly multi-line reply (RFC 5321 section 4.2.1).
func (s *smtpConn) reply() (int, string, error) {
	s.conn.SetReadDeadline(time.Now().Add(replyTimeout))
	var text []string
	for i := 0; i < maxReplyLines; i++ {
		line, err := readLine(s.r)
		if err != nil {
			return 0, "", err
		}
		if len(line) < 3 {
			return 0, "", fmt.Errorf("short reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			return 0, "", fmt.Errorf("bad reply %q", line)
		}
		text = append(text, line)
		if len(line) == 3 || line[3] == ' ' {
			return code, strings.Join(text, " / "), nil
		}
	}
	return 0, "", errors.New("too many reply lines")
}

// readLine reads one CRLF line (without the CRLF), bounded in length.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxReplyLineLen {
			return "", errors.New("reply line too long")
		}
		if !isPrefix {
			return string(b), nil
		}
	}
}
