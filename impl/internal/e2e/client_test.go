package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// send delivers body to rcpts with Go's net/smtp, an independent client.
func send(addr, from string, rcpts []string, body string) error {
	return smtp.SendMail(addr, nil, from, rcpts, []byte(body))
}

// popClient is a minimal POP3 client on net/textproto.
type popClient struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func popLogin(t *testing.T, addr, user, pass string) *popClient {
	t.Helper()
	p := popUser(t, addr, user)
	p.ok("PASS " + pass)
	return p
}

// popUser connects and sends USER; PASS is the caller's.
func popUser(t *testing.T, addr, user string) *popClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	p := &popClient{t: t, conn: conn, tp: textproto.NewConn(conn)}
	t.Cleanup(func() { conn.Close() })
	p.ok("")
	p.ok("USER " + user)
	return p
}

// ok sends cmd (none for the greeting) and requires "+OK".
func (p *popClient) ok(cmd string) string {
	p.t.Helper()
	line, err := p.cmd(cmd)
	require.NoError(p.t, err)
	require.True(p.t, strings.HasPrefix(line, "+OK"), "%s: %s", cmd, line)
	return line
}

func (p *popClient) cmd(cmd string) (string, error) {
	if cmd != "" {
		if err := p.tp.PrintfLine("%s", cmd); err != nil {
			return "", err
		}
	}
	return p.tp.ReadLine()
}

// uidl returns the unique ids in message-number order.
func (p *popClient) uidl() []string {
	p.ok("UIDL")
	lines, err := p.tp.ReadDotLines()
	require.NoError(p.t, err)
	var out []string
	for _, l := range lines {
		f := strings.Fields(l)
		require.Len(p.t, f, 2)
		out = append(out, f[1])
	}
	return out
}

// retr returns message n as the client sees it (dot-unstuffed, CRLF).
func (p *popClient) retr(n int) string {
	p.ok(fmt.Sprintf("RETR %d", n))
	data, err := io.ReadAll(p.tp.DotReader())
	require.NoError(p.t, err)
	// DotReader turns CRLF into LF; put CRLF back for comparison.
	return strings.ReplaceAll(string(data), "\n", "\r\n")
}

func (p *popClient) quit() { p.ok("QUIT") }

// messageFiles finds the message files of a backend: per inode, the number
// of mailbox links. It reads the store layout (mbox/xx/yy/<hash>/<id>).
func messageFiles(t *testing.T, root string) map[uint64]int {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(root, "mbox", "*", "*", "*", "*"))
	require.NoError(t, err)
	inodes := map[uint64]int{}
	for _, p := range paths {
		base := filepath.Base(p)
		if base == "name" || strings.HasSuffix(base, ".tomb") {
			continue
		}
		st, err := os.Stat(p)
		require.NoError(t, err)
		inodes[st.Sys().(*syscall.Stat_t).Ino]++
	}
	return inodes
}

// tmpEntries lists what is left in a backend's tmp/.
func tmpEntries(t *testing.T, root string) []string {
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// scrape sums the samples of the metric name whose labels include want, as
// served at addr/metrics (parsed with expfmt by devcluster.Scrape).
func scrape(t *testing.T, addr, name string, want map[string]string) float64 {
	t.Helper()
	m, err := devcluster.Scrape(context.Background(), addr)
	require.NoError(t, err)
	return m.Sum(name, want)
}
