package e2e

import (
	"bufio"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

func replyCode(t *testing.T, err error) int {
	t.Helper()
	var te *textproto.Error
	require.True(t, errors.As(err, &te), "want an SMTP reply, got %v", err)
	return te.Code
}

// padded is a message with a body of about n bytes in 100-byte lines.
func padded(n int) string {
	return "Subject: quota\r\n\r\n" + strings.Repeat(strings.Repeat("q", 98)+"\r\n", n/100+1)
}

// Quotas: 552 5.2.2 at end of data when the message does not fit; 452
// 4.2.2 at RCPT once the mailbox is known to be full (RFC 5321 4.5.3.1.10).
func TestQuota(t *testing.T) {
	users := []devcluster.User{
		{Name: "small@example.com", Password: "x", QuotaBytes: 1000},
		{Name: "roomy@example.com", Password: "x"},
		{Name: "other@example.com", Password: "x", QuotaBytes: 1000},
	}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: users})

	err := send(c.SMTPAddr, "s@remote.example", []string{"other@example.com"}, padded(1500))
	assert.Equal(t, 552, replyCode(t, err), "does not fit at end of data")

	// With a roomy co-recipient the message is accepted for both (one reply
	// for all recipients: the most generous wins), which fills "small".
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"small@example.com", "roomy@example.com"}, padded(1500)))
	err = send(c.SMTPAddr, "s@remote.example", []string{"small@example.com"}, padded(10))
	assert.Equal(t, 452, replyCode(t, err), "full mailbox refused at RCPT")
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"roomy@example.com"}, padded(10)))
}

// smtpSink is a minimal outgoing relay that records one transaction.
type smtpSink struct {
	ln    net.Listener
	got   chan []string
	addr  string
	reply string
}

func startSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &smtpSink{ln: ln, got: make(chan []string, 4), addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go s.serve()
	return s
}

func (s *smtpSink) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *smtpSink) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	var lines []string
	c.Write([]byte("220 sink\r\n"))
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		lines = append(lines, line)
		switch {
		case inData && line == ".\r\n":
			inData = false
			c.Write([]byte("250 queued\r\n"))
			s.got <- lines
		case inData:
		case strings.HasPrefix(line, "DATA"):
			inData = true
			c.Write([]byte("354 go\r\n"))
		case strings.HasPrefix(line, "QUIT"):
			c.Write([]byte("221 bye\r\n"))
			return
		default:
			c.Write([]byte("250 ok\r\n"))
		}
	}
}

// A forward-only mailbox is relayed to the outgoing host in one transaction
// and nothing is stored for it; a local co-recipient is stored as usual.
func TestForwardOnlyMailboxIsRelayed(t *testing.T) {
	sink := startSink(t)
	users := []devcluster.User{
		{Name: "demo@example.com", Password: "demo"},
		{Name: "fwd@example.com", Forward: []string{"far@elsewhere.example", "near@elsewhere.example"}},
	}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: users,
		ExtraSMTP: []string{"-relay-host", sink.addr}})
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"fwd@example.com", "demo@example.com"}, sample))

	var got []string
	select {
	case got = <-sink.got:
	case <-time.After(10 * time.Second):
		t.Fatal("relay got nothing")
	}
	text := strings.Join(got, "")
	assert.Contains(t, text, "RCPT TO:<far@elsewhere.example>\r\nRCPT TO:<near@elsewhere.example>\r\n")
	// On the wire the relay sees the message dot-stuffed (RFC 5321 4.5.2):
	// exactly the stored form, ended by "." CRLF.
	stuffed := strings.ReplaceAll(sample, "\r\n.", "\r\n..")
	assert.Contains(t, text, stuffed+".\r\n")

	p := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	assert.Len(t, p.uidl(), 1, "the local recipient's copy is stored")
	p.quit()
}

// Without a relay host, a forward-only mailbox is refused temporarily, so
// nothing is lost: the sender retries.
func TestForwardWithoutRelayIsTemporary(t *testing.T) {
	users := []devcluster.User{{Name: "fwd@example.com", Forward: []string{"far@elsewhere.example"}}}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: users})
	err := send(c.SMTPAddr, "s@remote.example", []string{"fwd@example.com"}, sample)
	assert.Equal(t, 451, replyCode(t, err))
}

// A mailbox with a quota does not cost a listing on every backend per
// message (issue 11): the front end keeps an estimate and counts exactly
// only when it is old or says full.
func TestQuotaChecksDoNotListPerMessage(t *testing.T) {
	users := []devcluster.User{{Name: "big@example.com", Password: "x", QuotaBytes: 10 << 20}}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: users})
	lists := func() (n float64) {
		for _, b := range c.Backends {
			n += scrape(t, b.MetricsAddr, "powermail_listener_requests_total", map[string]string{"result": "ok", "verb": "LIST"})
		}
		return n
	}
	before := lists()
	const messages = 20
	for range messages {
		require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"big@example.com"}, padded(1000)))
	}
	assert.LessOrEqual(t, lists()-before, float64(len(c.Backends)),
		"one exact count for %d messages (it was two per message per backend)", messages)
}
