package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"powermail/impl/ppclient"
)

// TestBinarySIGTERM builds the real binary, serves a request, and checks
// that SIGTERM makes it exit cleanly (status 0) within the shutdown bound.
func TestBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "pplistener")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-metrics-listen", "", "-root", t.TempDir(),
		"-secret", testSecret, "-shutdown-timeout", "3s")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := waitForAddr(t, bufio.NewScanner(stderr))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := ppclient.New(ppclient.Config{Addr: addr, Secret: testSecret, ClientName: "test"})
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s after SIGTERM")
	}
}

// waitForAddr reads the log until the "listening" line and returns its addr.
func waitForAddr(t *testing.T, sc *bufio.Scanner) string {
	found := make(chan string, 1)
	go func() {
		for sc.Scan() {
			line := sc.Text()
			if _, rest, ok := strings.Cut(line, " addr="); ok && strings.Contains(line, "msg=listening") {
				found <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case addr := <-found:
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("no start-up line in the log")
		return ""
	}
}
