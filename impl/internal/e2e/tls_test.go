package e2e

import (
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// TLS as `make run` sets it up: curl and Python's smtplib/poplib require
// TLS (STARTTLS, RFC 3207; STLS, RFC 2595) and verify the self-signed
// certificate against the file pmdev prints.
func TestTLSWithCurlAndPython(t *testing.T) {
	for _, tool := range []string{"curl", "python3", "swaks"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (.ci/run installs it)", tool)
		}
	}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, TLS: true})
	ca := c.Cert.CertFile

	send := exec.Command("curl", "-sS", "--max-time", "30", "--ssl-reqd", "--cacert", ca, "smtp://"+c.SMTPAddr,
		"--mail-from", "s@remote.example", "--mail-rcpt", "demo@example.com", "-T", "-")
	send.Stdin = strings.NewReader(sample)
	out, err := send.CombinedOutput()
	require.NoError(t, err, "curl smtp with STARTTLS: %s", out)
	out, err = exec.Command("curl", "-sS", "--max-time", "30", "--ssl-reqd", "--cacert", ca,
		"pop3://"+c.POPAddr+"/1", "-u", "demo@example.com:demo").CombinedOutput()
	require.NoError(t, err, "curl pop3 with STLS: %s", out)
	assert.True(t, strings.HasSuffix(string(out), sample), "curl pop3 got %q", out)
	assert.Contains(t, string(out), "with ESMTPS", "the Received: header records TLS")

	// Without the certificate, curl must refuse (exit 60: peer certificate
	// cannot be authenticated), or the test above proves nothing.
	err = exec.Command("curl", "-sS", "--max-time", "30", "--ssl-reqd",
		"pop3://"+c.POPAddr+"/1", "-u", "demo@example.com:demo").Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 60, exit.ExitCode())

	host, smtpPort, _ := net.SplitHostPort(c.SMTPAddr)
	_, popPort, _ := net.SplitHostPort(c.POPAddr)
	py := exec.Command("python3", "testdata/tls_roundtrip.py", host, smtpPort, popPort, ca, "demo@example.com", "demo")
	py.Stdin = strings.NewReader(sample)
	var stderr strings.Builder
	py.Stderr = &stderr
	got, err := py.Output()
	require.NoError(t, err, "smtplib/poplib over TLS: %s", stderr.String())
	// Message 1 is curl's; both carry the same body.
	assert.True(t, strings.HasSuffix(string(got), sample), "poplib got %q", got)

	// The swaks line pmdev prints: STARTTLS required and verified.
	out, err = exec.Command("swaks", "--server", c.SMTPAddr, "--to", "demo@example.com", "--from", "s@remote.example",
		"--tls", "--tls-verify", "--tls-ca-path", ca, "--timeout", "30").CombinedOutput()
	require.NoError(t, err, "swaks: %s", out)
	assert.Contains(t, string(out), "<~  250 2.0.0 OK id=")
}
