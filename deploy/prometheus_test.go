// Package deploy holds the files an operator installs (systemd units,
// example configurations, Prometheus scrape configuration and alerts);
// these tests check them with the tools that will read them.
package deploy

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/testenv"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

func TestPrometheusConfig(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool", "prometheus")
	out := run(t, promtool, "check", "config", "prometheus/prometheus.yml")
	assert.Contains(t, out, "1 rule files found")
}

// The rules parse, and their unit tests (alerts_test.yml: each alert fires
// on the series it is about, and not on a healthy neighbour) pass.
func TestAlertRules(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool", "prometheus")
	run(t, promtool, "check", "rules", "prometheus/alerts.yml")
	run(t, promtool, "test", "rules", "prometheus/alerts_test.yml")
}
