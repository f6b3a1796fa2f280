package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

const sample = "From: sender@remote.example\r\nTo: demo@example.com\r\nSubject: hello\r\n\r\n" +
	"first line\r\n.a line that starts with a dot\r\n..two dots\r\nlast line\r\n"

func TestSendWithNetSMTPFetchWithPOP(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 3, Redundancy: 2})
	require.NoError(t, send(c.SMTPAddr, "sender@remote.example", []string{"Demo@Example.COM"}, sample))

	p := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	uids := p.uidl()
	require.Len(t, uids, 1, "two replicas show as one message")
	got := p.retr(1)
	assert.True(t, strings.HasPrefix(got, "Received: from "), "trace header first: %q", got[:40])
	assert.True(t, strings.HasSuffix(got, sample), "bytes differ:\n%q", got)
	p.quit()

	copies := 0
	for _, b := range c.Backends {
		copies += len(messageFiles(t, b.Root))
	}
	assert.Equal(t, 2, copies, "R=2 copies")
}

func TestCurlSMTPAndPOP3(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required (.ci/run installs it)")
	}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	cmd := exec.Command("curl", "-sS", "--max-time", "30", "smtp://"+c.SMTPAddr,
		"--mail-from", "s@remote.example", "--mail-rcpt", "demo@example.com", "-T", "-")
	cmd.Stdin = strings.NewReader(sample)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "curl smtp: %s", out)

	out, err = exec.Command("curl", "-sS", "--max-time", "30", "pop3://"+c.POPAddr+"/1",
		"-u", "demo@example.com:demo").Output()
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(out), sample), "curl pop3 got %q", out)
}

// R=2, W=2 with one of two backends down: 451 and no copy anywhere, so the
// sender's retry cannot make a duplicate.
func TestOneBackendDownBelowQuorumRefuses(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	require.NoError(t, c.KillBackend(1))
	err := send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, sample)
	var te *textproto.Error
	require.True(t, errors.As(err, &te), "want an SMTP reply, got %v", err)
	assert.Equal(t, 451, te.Code)
	for _, b := range c.Backends {
		assert.Empty(t, messageFiles(t, b.Root), "copy left on %s", b.Addr)
	}
	assert.Empty(t, tmpEntries(t, c.Backends[0].Root), "prepared copy left in tmp/")
}

// R=3, W=2 with one of three down: 250 and two durable copies.
func TestOneBackendDownWithinQuorumAccepts(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 3, Redundancy: 3, WriteQuorum: 2})
	require.NoError(t, c.KillBackend(2))
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, sample))
	copies := 0
	for _, b := range c.Backends[:2] {
		copies += len(messageFiles(t, b.Root))
	}
	assert.Equal(t, 2, copies)
}

// One message to 100 recipients on R=2: one file per backend with 100
// links, and one transfer (one PREPARE) per backend.
func TestHundredRecipientsOneFilePerBackend(t *testing.T) {
	var users []devcluster.User
	var rcpts []string
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("user%02d@example.com", i)
		users = append(users, devcluster.User{Name: name})
		rcpts = append(rcpts, name)
	}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, Users: users})
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", rcpts, sample))
	for _, b := range c.Backends {
		files := messageFiles(t, b.Root)
		require.Len(t, files, 1, "one file on %s", b.Addr)
		for _, links := range files {
			assert.Equal(t, 100, links)
		}
		prepares := scrape(t, b.MetricsAddr, "powermail_listener_requests_total", map[string]string{"result": "ok", "verb": "PREPARE"})
		assert.Equal(t, 1.0, prepares, "transfers to %s", b.Addr)
	}
}

func TestUnknownRecipientRefused(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	err := send(c.SMTPAddr, "s@remote.example", []string{"nobody@example.com"}, sample)
	var te *textproto.Error
	require.True(t, errors.As(err, &te), "got %v", err)
	assert.Equal(t, 550, te.Code)
}

// A backend that comes back is used again without restarting anything.
func TestBackendRecoveryIsAutomatic(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	require.NoError(t, c.KillBackend(1))
	require.Error(t, send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, sample))
	require.NoError(t, c.StartBackend(1))
	sendEventually(t, c.SMTPAddr)
}

// "Additional machines can be added on the fly": a backend inserted into the
// userbase backends table takes mail without restarting powersmtp.
func TestBackendAddedOnTheFly(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	require.NoError(t, c.KillBackend(1))
	i, err := c.AddBackend(context.Background())
	require.NoError(t, err)
	sendEventually(t, c.SMTPAddr)
	assert.Len(t, messageFiles(t, c.Backends[i].Root), 1, "the new backend holds a copy")
}

// sendEventually retries a delivery for a few membership/health intervals.
func sendEventually(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := send(addr, "s@remote.example", []string{"demo@example.com"}, sample)
		if err == nil {
			return
		}
		require.True(t, time.Now().Before(deadline), "cluster change not picked up: %v", err)
		time.Sleep(200 * time.Millisecond)
	}
}
