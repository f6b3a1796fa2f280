package relay

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
)

// fakeMTA answers a scripted SMTP dialog and records what it received.
type fakeMTA struct {
	ln       net.Listener
	rcptCode string // reply to RCPT
	lines    chan []string
}

func startMTA(t *testing.T, rcptCode string) *fakeMTA {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	m := &fakeMTA{ln: ln, rcptCode: rcptCode, lines: make(chan []string, 1)}
	go m.serve()
	t.Cleanup(func() { ln.Close() })
	return m
}

func (m *fakeMTA) serve() {
	c, err := m.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	r := bufio.NewReader(c)
	var got []string
	defer func() { m.lines <- got }()
	c.Write([]byte("220 fake ESMTP\r\n"))
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		got = append(got, line)
		switch {
		case inData && line == ".\r\n":
			inData = false
			c.Write([]byte("250 2.0.0 queued\r\n"))
		case inData:
		case strings.HasPrefix(line, "RCPT"):
			c.Write([]byte(m.rcptCode + " rcpt\r\n"))
		case strings.HasPrefix(line, "DATA"):
			inData = true
			c.Write([]byte("354 go on\r\n"))
		case strings.HasPrefix(line, "QUIT"):
			c.Write([]byte("221 bye\r\n"))
			return
		default:
			c.Write([]byte("250 ok\r\n"))
		}
	}
}

func client(m *fakeMTA) *Client {
	return New(Config{Addr: m.ln.Addr().String(), HeloName: "mx.test", IOTimeout: 2 * time.Second})
}

func TestRelaySendsStoredFormUnchanged(t *testing.T) {
	m := startMTA(t, "250")
	sink, err := client(m).Start(context.Background(), "s@a.example", []string{"x@b.example", "y@b.example"})
	require.NoError(t, err)
	stored := "Subject: t\r\n\r\n..stuffed\r\nend\r\n"
	_, err = sink.Write([]byte(stored))
	require.NoError(t, err)
	require.NoError(t, sink.Commit())
	got := strings.Join(<-m.lines, "")
	assert.Contains(t, got, "RCPT TO:<x@b.example>\r\nRCPT TO:<y@b.example>\r\nDATA\r\n"+stored+".\r\nQUIT\r\n")
	assert.Contains(t, got, "MAIL FROM:<s@a.example>\r\n")
}

func TestRelayRefusalKeepsClass(t *testing.T) {
	for code, want := range map[string]int{"550": 550, "450": 451} {
		m := startMTA(t, code)
		_, err := client(m).Start(context.Background(), "", []string{"x@b.example"})
		var e *mail.Reply
		require.ErrorAs(t, err, &e, code)
		assert.Equal(t, want, e.Code)
	}
}

func TestRelayUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	c := New(Config{Addr: addr, HeloName: "mx.test", IOTimeout: time.Second})
	_, err = c.Start(context.Background(), "", []string{"x@b.example"})
	require.Error(t, err)
	var e *mail.Reply
	assert.False(t, errors.As(err, &e), "transport errors are not SMTP replies")
}

func TestRelayBoundsReplies(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("220-" + strings.Repeat("x", maxReplyBytes*2) + "\r\n"))
	}()
	c := New(Config{Addr: ln.Addr().String(), HeloName: "mx.test", IOTimeout: 2 * time.Second})
	_, err = c.Start(context.Background(), "", []string{"x@b.example"})
	assert.Error(t, err)
}
