package pop3c

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRetrUnstuffsDots serves RETR responses whose byte-stuffed lines fall
// on every position of the read buffer, and checks the body read back.
func TestRetrUnstuffsDots(t *testing.T) {
	bodies := []string{
		"", "a\r\n", ".\r\n", "..x\r\n", "a\r\n.b\r\n..\r\nc\r\n", ".start\r\nend.\r\n",
	}
	stuffed := []string{
		"", "a\r\n", "..\r\n", "...x\r\n", "a\r\n..b\r\n...\r\nc\r\n", "..start\r\nend.\r\n",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("+OK hi\r\n"))
		buf := make([]byte, 100)
		for _, s := range stuffed {
			c.Read(buf) // one RETR command
			resp := "+OK\r\n" + s + ".\r\n"
			for i := range len(resp) { // one byte at a time: every split
				c.Write([]byte{resp[i]})
			}
		}
	}()
	c, err := Dial(context.Background(), ln.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	for i, want := range bodies {
		got, err := c.Retr(i+1, nil)
		require.NoError(t, err)
		require.Equal(t, want, string(got), "body %d", i)
	}
}
