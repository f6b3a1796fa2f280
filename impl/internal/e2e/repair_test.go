// Repair on a cluster of real processes: mail sent with net/smtp, the
// ppadmin binary run as an operator would.

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"powermail/impl/devcluster"
)

// cmdTimeout bounds one ppadmin run.
const cmdTimeout = 60 * time.Second

const box = "ann@example.com"

// ppadmin runs the built binary against the cluster's userbase and
// decodes its -json output into v.
func ppadmin(t *testing.T, c *devcluster.Cluster, v any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	full := append([]string{"-db", c.DBPath}, args...)
	full = append(full, "-json", "-backend-secret-file", filepath.Join(c.Dir(), "secret"))
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "ppadmin"), full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ppadmin %v: %v\n%s", args, err, stderr.String())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("ppadmin %v: %v: %q", args, err, out)
	}
}

// mailboxState is the part of "ppadmin mailbox -json" the test reads.
type mailboxState struct {
	BelowTarget int `json:"below_target"`
	Messages    []struct {
		ID      string   `json:"id"`
		Copies  int      `json:"copies"`
		Holders []holder `json:"holders"`
	} `json:"messages"`
}

type holder struct {
	Addr string `json:"backend"`
}

type repairReport struct {
	ReReplicated int      `json:"re_replicated"`
	Errors       int      `json:"errors"`
	Samples      []string `json:"error_samples"`
}

// storedPath is where a backend keeps a message (the store's layout: the
// mailbox directory is named by the SHA-256 of the canonical name).
func storedPath(root, id string) string {
	sum := sha256.Sum256([]byte(box))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(root, "mbox", h[0:2], h[2:4], h, id)
}

// TestRepairAfterDiskLoss: R=2 over three backends; one loses its disk and
// restarts empty; ppadmin repair brings every message back to two copies,
// byte-identical to the survivors, and a second run copies nothing.
func TestRepairAfterDiskLoss(t *testing.T) {
	c := startCluster(t, devcluster.Options{Backends: 3, Redundancy: 2,
		Users: []devcluster.User{{Name: box, Password: "pw"}}})
	const n = 12
	for i := range n {
		body := fmt.Sprintf("Subject: repair %d\r\n\r\n%s\r\n", i, strings.Repeat("line\r\n", 10*i+1))
		if err := smtp.SendMail(c.SMTPAddr, nil, "sender@example.org", []string{box}, []byte(body)); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	var before mailboxState
	ppadmin(t, c, &before, "mailbox", box)
	lost := 0
	for _, m := range before.Messages {
		for _, h := range m.Holders {
			if h.Addr == c.Backends[0].Addr {
				lost++
			}
		}
	}
	if len(before.Messages) != n || before.BelowTarget != 0 || lost == 0 {
		t.Fatalf("before: %d messages, %d below R, %d on backend 0", len(before.Messages), before.BelowTarget, lost)
	}
	loseDisk(t, c, 0)

	var rep repairReport
	ppadmin(t, c, &rep, "repair")
	if rep.ReReplicated != lost || rep.Errors != 0 {
		t.Fatalf("repair: %+v, want %d copies", rep, lost)
	}
	var after mailboxState
	ppadmin(t, c, &after, "mailbox", box)
	if len(after.Messages) != n || after.BelowTarget != 0 {
		t.Fatalf("after: %d messages, %d below R", len(after.Messages), after.BelowTarget)
	}
	for _, m := range after.Messages {
		checkIdentical(t, c, m.ID, m.Holders)
	}
	ppadmin(t, c, &rep, "repair")
	if rep.ReReplicated != 0 || rep.Errors != 0 {
		t.Fatalf("second run: %+v", rep)
	}
}

// loseDisk stops backend i, empties its data root and starts it again.
func loseDisk(t *testing.T, c *devcluster.Cluster, i int) {
	if err := c.StopBackend(i); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(c.Backends[i].Root); err != nil {
		t.Fatal(err)
	}
	if err := c.StartBackend(i); err != nil {
		t.Fatal(err)
	}
}

// checkIdentical reads the message from each holder's disk.
func checkIdentical(t *testing.T, c *devcluster.Cluster, id string, holders []holder) {
	t.Helper()
	var first []byte
	for _, h := range holders {
		for _, b := range c.Backends {
			if b.Addr != h.Addr {
				continue
			}
			data, err := os.ReadFile(storedPath(b.Root, id))
			if err != nil {
				t.Fatalf("%s on %s: %v", id, b.Addr, err)
			}
			if first != nil && !bytes.Equal(first, data) {
				t.Errorf("%s: copies differ", id)
			}
			first = data
		}
	}
	if len(holders) != 2 || first == nil {
		t.Errorf("%s: %d copies", id, len(holders))
	}
}
