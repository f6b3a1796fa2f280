package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"powermail/impl/devcluster"
)

// binDir holds the daemons built for this test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "powermail-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "building daemons:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", dir+"/", "./impl/cmd/...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	cmd.Stderr = os.Stderr
	return cmd.Run()
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
