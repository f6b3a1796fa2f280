package chaos

import (
	"context"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

// TestRefusedAfterCommitIsNeverListed (issue 14): both replicas of a
// message commit it durably and are killed before they can answer, so
// powersmtp answers 451 while two committed copies exist on disks it cannot
// reach. Its VOID then goes to the third backend (a tombstone there hides
// the id everywhere); after both backends come back, no POP3 login ever
// lists the message, although its copies are still on their disks.
func TestRefusedAfterCommitIsNeverListed(t *testing.T) {
	bin := failpointBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt := devcluster.Options{BinDir: bin, Dir: t.TempDir(), Backends: 3, Redundancy: 2, WriteQuorum: 2,
		Users: []devcluster.User{{Name: "v@example.com", Password: "v"}}}
	envMu.Lock() // the daemons inherit the failpoint from our environment
	os.Setenv(envFailpoints, fpListener+"beforeCommitReply=return(true)")
	dc, err := devcluster.Start(ctx, opt)
	os.Unsetenv(envFailpoints)
	envMu.Unlock()
	require.NoError(t, err)
	defer dc.Close()

	body := "Subject: refused\r\nX-Void-Test: 1\r\n\r\nthis must never show\r\n"
	err = smtp.SendMail(dc.SMTPAddr, nil, "s@remote.example", []string{"v@example.com"}, []byte(body))
	require.Error(t, err)
	require.Contains(t, err.Error(), "451", "refused with 451 after both replicas died")

	var dead, holding []int
	for i, b := range dc.Backends {
		if b.Proc().Exited() {
			dead = append(dead, i)
			if copiesOnDisk(t, b.Root) > 0 {
				holding = append(holding, i)
			}
		}
	}
	require.Len(t, dead, 2, "the two replicas were killed after committing")
	require.Len(t, holding, 2, "and both hold a committed copy on disk")
	for _, i := range dead { // back, without the failpoint
		require.NoError(t, dc.StartBackend(i))
	}
	time.Sleep(2 * devcluster.HealthInterval)
	for range 3 {
		p, err := popLogin(dc.POPAddr, "v@example.com", "v")
		require.NoError(t, err)
		list, err := p.uidl()
		require.NoError(t, err)
		assert.Empty(t, list, "a refused message is listed")
		require.NoError(t, p.quit())
	}
}

// copiesOnDisk counts message files (44 hex digits) under a backend root.
func copiesOnDisk(t *testing.T, root string) int {
	n := 0
	err := filepath.WalkDir(filepath.Join(root, "mbox"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && len(d.Name()) == msgIDLen && !strings.Contains(d.Name(), ".") {
			n++
		}
		return err
	})
	require.NoError(t, err)
	return n
}
