package devcluster

import (
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The certificate is made once and reused, so a client that trusted it
// keeps trusting it after `make run` restarts.
func TestCertIsKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureCert(dir)
	require.NoError(t, err)
	again, err := EnsureCert(dir)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	out, err := exec.Command("openssl", "x509", "-in", first.CertFile, "-noout", "-fingerprint", "-sha256").Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), "="+first.Fingerprint, "pmdev prints what openssl prints")
}
