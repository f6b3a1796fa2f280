package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
	"powermail/impl/testenv"
)

// Every daemon's real /metrics, and the file ppadmin repair writes for
// node_exporter, pass `promtool check metrics`; and every metric that
// deploy/prometheus/alerts.yml names is exported by one of them, so no
// alert waits on a series that never exists.
func TestMetricsPassPromtoolAndFeedTheAlerts(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool", "prometheus")
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2})
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, sample))
	p := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	p.uidl()
	p.quit()

	pages := map[string][]byte{"ppadmin repair -metrics-file": repairMetrics(t, c)}
	addrs := map[string]string{"powersmtp": c.SMTPMetrics, "powerpop": c.POPMetrics}
	for i, b := range c.Backends {
		addrs["pplistener-"+strconv.Itoa(i)] = b.MetricsAddr
	}
	for name, addr := range addrs {
		page, err := devcluster.FetchMetrics(context.Background(), addr)
		require.NoError(t, err, name)
		pages[name] = page
	}
	exported := map[string]bool{}
	for name, page := range pages {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = bytes.NewReader(page)
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "promtool check metrics on %s:\n%s", name, out)
		m, err := devcluster.ParseMetrics(page)
		require.NoError(t, err, name)
		for family := range m {
			exported[family] = true
		}
	}
	for _, name := range alertMetrics(t) {
		assert.True(t, exported[name] || exported[histogramFamily(name)], "alerts.yml uses %s, which no daemon exports", name)
	}
}

// repairMetrics runs the scan that feeds the below-R alerts.
func repairMetrics(t *testing.T, c *devcluster.Cluster) []byte {
	prom := filepath.Join(t.TempDir(), "powermail.prom")
	out, err := exec.Command(filepath.Join(binDir, "ppadmin"), "-db", c.DBPath, "repair", "-dry-run",
		"-backend-secret-file", filepath.Join(c.Dir(), "secret"), "-metrics-file", prom).CombinedOutput()
	require.NoError(t, err, "ppadmin repair: %s", out)
	page, err := os.ReadFile(prom)
	require.NoError(t, err)
	require.Contains(t, string(page), "powermail_repair_messages_below_r 0\n")
	return page
}

func alertMetrics(t *testing.T) []string {
	rules, err := os.ReadFile("../../../deploy/prometheus/alerts.yml")
	require.NoError(t, err)
	names := regexp.MustCompile(`\bpowermail_[a-z0-9_]+`).FindAllString(string(rules), -1)
	require.NotEmpty(t, names)
	return names
}

// histogramFamily is the family of a histogram's _count, _sum or _bucket series.
func histogramFamily(series string) string {
	for _, suffix := range []string{"_count", "_sum", "_bucket"} {
		if base, ok := strings.CutSuffix(series, suffix); ok {
			return base
		}
	}
	return series
}
