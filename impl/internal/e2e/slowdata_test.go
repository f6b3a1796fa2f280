package e2e

import (
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// Issue 14's slow sender, scaled down: the backends drop a stream silent
// for 2 s (pplistener idle-timeout), powersmtp keeps it alive by sending
// what arrived every backend-io-timeout/2 (1 s), and a body must be
// complete within data-timeout. Margins allow for a loaded machine.
const (
	slowByteGap     = 100 * time.Millisecond // far below command-timeout (3 s)
	slowDataTimeout = 10 * time.Second
)

// slowDial starts an SMTP transaction to demo@example.com up to the 354.
func slowDial(t *testing.T, addr string) (net.Conn, *textproto.Conn) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	tp := textproto.NewConn(conn)
	_, _, err = tp.ReadResponse(220)
	require.NoError(t, err)
	for _, c := range []struct {
		cmd  string
		code int
	}{{"EHLO slow.example", 250}, {"MAIL FROM:<slow@remote.example>", 250}, {"RCPT TO:<demo@example.com>", 250}, {"DATA", 354}} {
		_, err := tp.Cmd("%s", c.cmd)
		require.NoError(t, err)
		_, _, err = tp.ReadResponse(c.code)
		require.NoError(t, err, c.cmd)
	}
	return conn, tp
}

// trickle writes s one byte every slowByteGap until it is sent or the
// server stops reading; it returns when it has stopped.
func trickle(conn net.Conn, s string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range len(s) {
			if _, err := conn.Write([]byte{s[i]}); err != nil {
				return
			}
			time.Sleep(slowByteGap)
		}
	}()
	return done
}

func TestSlowDataIsStoredOrRefusedWhole(t *testing.T) {
	// Three backends for R=2: a health check that times out on a loaded
	// machine does not leave too few.
	c := startCluster(t, devcluster.Options{Backends: 3, Redundancy: 2,
		ExtraBackend: []string{"-idle-timeout", "2s"},
		ExtraSMTP: []string{"-backend-io-timeout", "2s", "-command-timeout", "3s",
			"-data-timeout", slowDataTimeout.String()}})

	// About 4.5 s of trickle, the first line alone 2.5 s: longer than the
	// backends wait for a frame; the message is stored, 250.
	const body = "Subject: a slow message\r\n\r\nslow but sure\r\n"
	conn, tp := slowDial(t, c.SMTPAddr)
	<-trickle(conn, body+".\r\n")
	_, msg, err := tp.ReadResponse(250)
	require.NoError(t, err, "slow sender within data-timeout: %s", msg)

	// About 22 s of trickle: 421 once data-timeout has run out, nothing
	// stored, nothing left in tmp/.
	conn, tp = slowDial(t, c.SMTPAddr)
	start := time.Now()
	stopped := trickle(conn, "Subject: slower\r\n\r\n"+strings.Repeat("z", 200)+"\r\n.\r\n")
	code, msg, err := tp.ReadResponse(421)
	require.NoError(t, err, "sender beyond data-timeout: %d %s", code, msg)
	assert.Contains(t, msg, "took too long")
	assert.Less(t, time.Since(start), 2*slowDataTimeout)
	<-stopped

	p := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	require.Len(t, p.uidl(), 1, "only the message that arrived in time")
	assert.True(t, strings.HasSuffix(p.retr(1), body))
	p.quit()
	copies := 0
	for _, b := range c.Backends {
		copies += len(messageFiles(t, b.Root))
		assert.Eventually(t, func() bool { return len(tmpEntries(t, b.Root)) == 0 },
			5*time.Second, 50*time.Millisecond, "tmp/ of %s", b.Addr)
	}
	assert.Equal(t, 2, copies, "R copies of the one message, none of the other")
}
