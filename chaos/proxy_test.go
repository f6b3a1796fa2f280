package chaos

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers every line with itself.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(addr, line string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestProxyModes(t *testing.T) {
	p, err := NewProxy(echoServer(t))
	require.NoError(t, err)
	defer p.Close()

	got, err := roundTrip(p.Addr(), "hello")
	require.NoError(t, err)
	require.Equal(t, "hello\n", got)

	p.SetMode(Blackhole)
	_, err = roundTrip(p.Addr(), "hello")
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "a blackhole answers nothing: %v", err)

	p.SetMode(Reset)
	long := string(make([]byte, 2*resetAfterBytes))
	_, err = roundTrip(p.Addr(), long)
	require.Error(t, err, "a reset proxy cuts a stream past resetAfterBytes")

	p.SetMode(Pass)
	got, err = roundTrip(p.Addr(), "again")
	require.NoError(t, err)
	require.Equal(t, "again\n", got)
}
