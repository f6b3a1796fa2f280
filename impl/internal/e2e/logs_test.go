package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// log-format = json gives one JSON object per line from every daemon, for
// the whole life of the process (start, traffic, shutdown).
func TestEveryDaemonLogsJSON(t *testing.T) {
	jsonLogs := []string{"-log-format", "json", "-log-level", "debug"}
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2,
		ExtraBackend: jsonLogs, ExtraSMTP: jsonLogs, ExtraPOP: jsonLogs})
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, sample))
	p := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	p.uidl()
	p.quit()
	require.NoError(t, c.Close())

	for _, name := range []string{"pplistener-0", "pplistener-1", "powersmtp", "powerpop"} {
		assertJSONLines(t, filepath.Join(c.Dir(), "logs", name+".log"))
	}
}

func assertJSONLines(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "%s: not JSON: %s", filepath.Base(path), sc.Text())
		assert.Contains(t, rec, "msg")
		assert.Contains(t, rec, "level")
		n++
	}
	require.NoError(t, sc.Err())
	assert.Positive(t, n, "%s logged nothing", filepath.Base(path))
}
