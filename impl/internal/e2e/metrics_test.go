package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	_ "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
	"powermail/impl/testenv"
	"powermail/impl/userbase"
)

// Every daemon's real /metrics, and the file ppadmin repair writes for
// node_exporter, pass `promtool check metrics`; and every metric that
// deploy/prometheus/alerts.yml names is exported by one of them, so no
// alert waits on a series that never exists. The userbase is MariaDB, as in
// deploy/config (its failover metrics exist only with driver mysql).
func TestMetricsPassPromtoolAndFeedTheAlerts(t *testing.T) {
	promtool := testenv.NeedTool(t, "promtool", "prometheus")
	ub := mysqlUserbase(t)
	c := startCluster(t, devcluster.Options{Backends: 2, Redundancy: 2, MySQL: ub})
	require.NoError(t, send(c.SMTPAddr, "s@remote.example", []string{"demo@example.com"}, sample))
	p := popLogin(t, c.POPAddr, "demo@example.com", "demo")
	p.uidl()
	p.quit()

	pages := map[string][]byte{"ppadmin repair -metrics-file": repairMetrics(t, c, ub)}
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

// mysqlUserbase is the MariaDB of PM_TEST_MYSQL_DSN with tables of this
// test's own (dropped at the end), so parallel runs never share rows. CI
// must have it; elsewhere the test skips without it.
func mysqlUserbase(t *testing.T) *userbase.Config {
	dsn := os.Getenv("PM_TEST_MYSQL_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PM_TEST_MYSQL_DSN is not set but CI is")
		}
		t.Skip("PM_TEST_MYSQL_DSN not set (e.g. root@tcp(127.0.0.1:3306)/test)")
	}
	cfg := userbase.Defaults()
	cfg.Driver, cfg.DSN = userbase.DriverMySQL, dsn
	var r [4]byte
	rand.Read(r[:])
	cfg.TablePrefix = "e2e" + hex.EncodeToString(r[:]) + "_"
	t.Cleanup(func() {
		db, err := sql.Open("mysql", dsn)
		require.NoError(t, err)
		defer db.Close()
		for _, table := range userbase.TableNames() {
			_, err := db.Exec("DROP TABLE IF EXISTS " + cfg.TablePrefix + table)
			assert.NoError(t, err)
		}
	})
	return &cfg
}

// repairMetrics runs the scan that feeds the below-R alerts.
func repairMetrics(t *testing.T, c *devcluster.Cluster, ub *userbase.Config) []byte {
	prom := filepath.Join(t.TempDir(), "powermail.prom")
	out, err := exec.Command(filepath.Join(binDir, "ppadmin"), "-driver", "mysql", "-dsn", ub.DSN,
		"-table-prefix", ub.TablePrefix, "repair", "-dry-run",
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
