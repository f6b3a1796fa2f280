package smtpd

import (
	"context"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCurl sends a message with curl (libcurl's SMTP client, a program we did
// not write) over STARTTLS with certificate verification.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	srv, del := newTestServer(t, testConfig())
	addr := listen(t, srv)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCert.Certificate[0]})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, "--silent", "--show-error", "--crlf", "--ssl-reqd", "--cacert", caFile,
		"--url", "smtp://"+addr+"/client.example", "--mail-from", "a@remote.test",
		"--mail-rcpt", "u@local.test", "--upload-file", "-")
	cmd.Stdin = strings.NewReader("Subject: curl\n\n.a dot line\nbye\n") // --crlf: curl sends CRLF; it dot-stuffs itself
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	msgs := del.messages()
	if len(msgs) != 1 || !msgs[0].tx.TLS {
		t.Fatalf("delivered %+v", msgs)
	}
	if body := string(msgs[0].body); !strings.HasSuffix(body, "Subject: curl\r\n\r\n..a dot line\r\nbye\r\n") {
		t.Errorf("stored body %q", body)
	}
}
