package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"powermail/impl/devcluster"
)

// binDir holds the daemons built for this test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := devcluster.BuildTestBinaries("powermail-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startCluster starts a cluster for one test and stops it at the end; on
// failure the daemons' logs are printed.
func startCluster(t *testing.T, opt devcluster.Options) *devcluster.Cluster {
	t.Helper()
	opt.BinDir = binDir
	opt.Dir = t.TempDir()
	if opt.Users == nil {
		opt.Users = []devcluster.User{{Name: "demo@example.com", Password: "demo"}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := devcluster.Start(ctx, opt)
	if err != nil {
		dumpLogs(t, opt.Dir)
		t.Fatalf("starting cluster: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			dumpLogs(t, opt.Dir)
		}
	})
	return c
}

func dumpLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if len(data) > 8000 {
			data = data[len(data)-8000:]
		}
		t.Logf("--- %s ---\n%s", filepath.Base(l), data)
	}
}
