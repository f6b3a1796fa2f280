package e2e

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// topMessage has 3 header lines (plus our Received: header, which may be
// folded) and 10 body lines.
const topMessage = "From: a@remote.example\r\nTo: demo@example.com\r\nSubject: top\r\n\r\n" +
	"1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7\r\n8\r\n9\r\n10\r\n"

const topBodyLines = 10

// topCluster starts a cluster whose powerpop serves metrics, holding one
// topMessage, and returns it with powerpop's metrics address.
func topCluster(t *testing.T) (*devcluster.Cluster, string) {
	metrics, err := devcluster.FreeAddr()
	require.NoError(t, err)
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2,
		ExtraPOP: []string{"-metrics-listen", metrics}})
	require.NoError(t, send(c.SMTPAddr, "a@remote.example", []string{"demo@example.com"}, topMessage))
	return c, metrics
}

// markedDown is how often powerpop took a backend out of service.
func markedDown(t *testing.T, c *devcluster.Cluster, metrics string) float64 {
	var n float64
	for _, b := range c.Backends {
		n += scrape(t, metrics, "powermail_backend_marked_down_total", map[string]string{"backend": b.Addr})
	}
	return n
}

// RFC 1939 section 7: TOP sends the header, the blank line and n body
// lines, and ends with the terminator like any multi-line reply. Asked with
// poplib and curl for 0, 2 and more lines than the body has.
func TestTopWithPoplibAndCurl(t *testing.T) {
	c, metrics := topCluster(t)
	host, port, _ := net.SplitHostPort(c.POPAddr)
	out, err := exec.Command("python3", "testdata/top.py", host, port, "demo@example.com", "demo",
		"0", "2", "1000").CombinedOutput()
	require.NoError(t, err, "poplib: %s", out)
	var headers []int
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var asked, header, body int
		_, err := fmt.Sscan(line, &asked, &header, &body)
		require.NoError(t, err, line)
		assert.Equal(t, min(asked, topBodyLines), body, "TOP 1 %d: body lines", asked)
		assert.GreaterOrEqual(t, header, 4, "TOP 1 %d: the whole header", asked)
		headers = append(headers, header)
		require.Equal(t, headers[0], headers[i], "the header is the same whatever the count")
	}
	for _, n := range []int{0, 2, 1000} {
		got := curlTop(t, c.POPAddr, n)
		head, body, ok := strings.Cut(got, "\r\n\r\n")
		require.True(t, ok, "TOP 1 %d via curl has the blank line: %q", n, got)
		assert.Contains(t, head, "Subject: top")
		assert.Equal(t, min(n, topBodyLines), strings.Count(body, "\r\n"), "TOP 1 %d via curl: %q", n, body)
	}
	assert.Zero(t, markedDown(t, c, metrics), "a TOP that stops early is not a backend failure")
}

// curlTop runs "TOP 1 n" with curl's custom-request mode, which prints the
// multi-line reply without the status line and terminator.
func curlTop(t *testing.T, addr string, n int) string {
	out, err := exec.Command("curl", "-sS", "--max-time", "30", "pop3://"+addr+"/",
		"-u", "demo@example.com:demo", "-X", fmt.Sprintf("TOP 1 %d", n)).Output()
	require.NoError(t, err, "curl TOP 1 %d", n)
	return string(out)
}

// Neither TOP nor a client that resets the connection in the middle of a
// RETR takes a healthy backend out of service, and another user logging in
// meanwhile sees the whole mailbox.
func TestClientSideStopsDoNotMarkBackendsDown(t *testing.T) {
	c, metrics := topCluster(t)
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("y", 78)+"\r\n", 64<<10) // ~5 MiB
	require.NoError(t, send(c.SMTPAddr, "a@remote.example", []string{"demo@example.com"}, big))
	for i := 0; i < 20; i++ {
		p := popLoginWhenFree(t, c.POPAddr, "demo@example.com", "demo")
		p.ok("TOP 1 0")
		lines, err := p.tp.ReadDotLines()
		require.NoError(t, err)
		require.Contains(t, lines, "Subject: top")
		resetDuringRetr(t, p, 2)
	}
	assert.Zero(t, markedDown(t, c, metrics))
	p := popLoginWhenFree(t, c.POPAddr, "demo@example.com", "demo")
	assert.Len(t, p.uidl(), 2)
	p.quit()
}

// resetDuringRetr asks for message n, reads a little of it and resets the
// connection (SO_LINGER 0 sends RST), as a client that crashed would.
func resetDuringRetr(t *testing.T, p *popClient, n int) {
	p.ok(fmt.Sprintf("RETR %d", n))
	buf := make([]byte, 4096)
	_, err := p.conn.Read(buf)
	require.NoError(t, err)
	require.NoError(t, p.conn.(*net.TCPConn).SetLinger(0))
	p.conn.Close()
	time.Sleep(20 * time.Millisecond) // let powerpop see the reset before the next session
}

// popLoginWhenFree logs in, waiting while the mailbox is [IN-USE]: after a
// client resets its connection mid-RETR, the server holds the lock (RFC
// 1939 section 8) until its next write to that connection fails, which on
// a busy machine can come after the client has dialled again.
func popLoginWhenFree(t *testing.T, addr, user, pass string) *popClient {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := popUser(t, addr, user)
		line, err := p.cmd("PASS " + pass)
		require.NoError(t, err)
		if strings.HasPrefix(line, "+OK") {
			return p
		}
		require.True(t, strings.HasPrefix(line, "-ERR [IN-USE]") && time.Now().Before(deadline), "PASS: %s", line)
		p.conn.Close()
		time.Sleep(50 * time.Millisecond)
	}
}
