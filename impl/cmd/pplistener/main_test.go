package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"powermail/impl/config"
	"powermail/impl/ppclient"
)

const testSecret = "sixteen bytes at least"

func TestExampleConfigLoadsAndValidates(t *testing.T) {
	cfg := Defaults()
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(testSecret+"\n"), 0o600)
	args := []string{"-config", "../../../deploy/config/pplistener.conf", "-secret-file", secret, "-root", t.TempDir()}
	if err := config.Load("pplistener", args, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if b, _ := cfg.SecretBytes(); string(b) != testSecret {
		t.Fatalf("secret %q: the file's newline must not be part of it", b)
	}
}

func TestValidateRefusesBadSettings(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for name, spoil := range map[string]func(*Config){
		"empty secret":   func(c *Config) { c.Secret = "" },
		"short secret":   func(c *Config) { c.Secret = "short" },
		"both secrets":   func(c *Config) { c.SecretFile = "/etc/x" },
		"missing file":   func(c *Config) { c.Secret, c.SecretFile = "", missing },
		"no root":        func(c *Config) { c.Root = "" },
		"bad log level":  func(c *Config) { c.Log.Level = "loud" },
		"bad log format": func(c *Config) { c.Log.Format = "xml" },
		"no conns":       func(c *Config) { c.Conn.MaxConnections = 0 },
		"per-ip > total": func(c *Config) { c.Conn.MaxConnectionsPerIP = c.Conn.MaxConnections + 1 },
		"negative ttl":   func(c *Config) { c.TombstoneTTL = -time.Hour },
	} {
		cfg := Defaults()
		cfg.Root, cfg.Secret = "/srv/mail", testSecret
		if err := cfg.Validate(); err != nil {
			t.Fatalf("good config refused: %v", err)
		}
		spoil(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRunServesAndStops starts the daemon on a free port, talks to it, and
// stops it as SIGTERM would.
func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	cfg := Defaults()
	args := []string{"-listen", "127.0.0.1:0", "-metrics-listen", "", "-root", t.TempDir(),
		"-secret", testSecret, "-log-level", "error"}
	if err := config.Load("pplistener", args, &cfg); err != nil {
		t.Fatal(err)
	}
	log, _ := cfg.Log.New(io.Discard)
	go func() { done <- run(runCtx, cfg, log, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	c := ppclient.New(ppclient.Config{Addr: addr, Secret: testSecret, ClientName: "test"})
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"powermail_listener_requests_total", "powermail_store_free_bytes", "powermail_store_min_free_bytes"} {
		if !strings.Contains(gathered(t), name) {
			t.Errorf("metric %s missing", name)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run after stop: %v", err)
	}
}

func gathered(t *testing.T) string {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	return strings.Join(names, " ")
}
