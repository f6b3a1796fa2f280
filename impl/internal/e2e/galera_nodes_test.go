//go:build galera

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
	"powermail/impl/testenv"
)

// galeraProvider is Debian's galera-4 library.
const galeraProvider = "/usr/lib/galera/libgalera_smm.so"

// galeraReadyTimeout bounds the wait for one node to join and sync.
const galeraReadyTimeout = 90 * time.Second

// galeraNode is one mariadbd of a test cluster, with its own directory and
// loopback ports: SQL, group communication, IST and SST.
type galeraNode struct {
	name                 string
	dir                  string
	sql, gcomm, ist, sst string // host:port
	cmd                  *exec.Cmd
	done                 chan struct{}
}

// startGalera starts a three-node MariaDB Galera cluster on loopback
// ports and returns its nodes, all synced; the cluster is stopped at the
// end of the test. mariadbd runs as the mysql user, because the rsync
// state transfer it uses to let a node join cannot write as root.
func startGalera(t *testing.T) []*galeraNode {
	testenv.NeedTool(t, "mariadbd", "mariadb-server")
	testenv.NeedTool(t, "mariadb-install-db", "mariadb-server")
	testenv.NeedTool(t, "rsync", "rsync")
	if _, err := os.Stat(galeraProvider); err != nil {
		t.Fatalf("%s missing (apt-get install galera-4): %v", galeraProvider, err)
	}
	base, err := os.MkdirTemp("", "pm-galera-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(base, 0o755)) // mysql must reach its directory
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(base)
		}
	})

	nodes := make([]*galeraNode, 3)
	for i := range nodes {
		nodes[i] = newGaleraNode(t, base, i)
	}
	cluster := make([]string, len(nodes))
	for i, n := range nodes {
		cluster[i] = n.gcomm
	}
	seed := filepath.Join(nodes[0].dir, "data")
	out, err := exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+seed, "--user=mysql",
		"--auth-root-authentication-method=normal", "--skip-test-db").CombinedOutput()
	require.NoError(t, err, "mariadb-install-db: %s", out)
	for i, n := range nodes {
		n.writeConfig(t, cluster)
		require.NoError(t, exec.Command("chown", "-R", "mysql:mysql", n.dir).Run())
		n.start(t, i == 0) // the first node bootstraps a new cluster
		t.Cleanup(n.stop)
		err := n.waitReady()
		if errors.Is(err, errExited) && i > 0 {
			// A joiner's state transfer can fail on a loaded machine
			// (an rsync port taken meanwhile); one more try, logged.
			t.Logf("%s failed to join, starting it again:\n%s", n.name, n.logTail())
			n.start(t, false)
			err = n.waitReady()
		}
		require.NoError(t, err)
	}
	return nodes
}

func newGaleraNode(t *testing.T, base string, i int) *galeraNode {
	n := &galeraNode{name: fmt.Sprintf("node%d", i+1)}
	n.dir = filepath.Join(base, n.name)
	require.NoError(t, os.MkdirAll(filepath.Join(n.dir, "data"), 0o755))
	for _, p := range []*string{&n.sql, &n.gcomm, &n.ist, &n.sst} {
		addr, err := devcluster.FreeAddr()
		require.NoError(t, err)
		*p = addr
	}
	return n
}

// writeConfig writes the node's my.cnf: loopback only, small buffers, and
// short failure detection (suspect a silent peer after 3 s) so that a
// killed node leaves the cluster's view quickly.
func (n *galeraNode) writeConfig(t *testing.T, cluster []string) {
	port := n.sql[strings.LastIndex(n.sql, ":")+1:]
	cnf := fmt.Sprintf(`[mariadbd]
datadir=%[1]s/data
socket=%[1]s/sock
pid-file=%[1]s/pid
log-error=%[1]s/err
bind-address=127.0.0.1
port=%[2]s
user=mysql
skip-name-resolve
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=32M
innodb_log_file_size=16M
wsrep_on=ON
wsrep_provider=%[3]s
wsrep_cluster_name=powermail-test
wsrep_cluster_address=gcomm://%[4]s
wsrep_node_address=%[5]s
wsrep_node_name=%[6]s
wsrep_provider_options=gmcast.listen_addr=tcp://%[5]s;ist.recv_addr=%[7]s;gcache.size=16M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT5S
wsrep_sst_method=rsync
wsrep_sst_receive_address=%[8]s
`, n.dir, port, galeraProvider, strings.Join(cluster, ","), n.gcomm, n.name, n.ist, n.sst)
	require.NoError(t, os.WriteFile(filepath.Join(n.dir, "my.cnf"), []byte(cnf), 0o644))
}

func (n *galeraNode) start(t *testing.T, bootstrap bool) {
	n.done = make(chan struct{})
	args := []string{"--defaults-file=" + filepath.Join(n.dir, "my.cnf")}
	if bootstrap {
		args = append(args, "--wsrep-new-cluster")
	}
	n.cmd = exec.Command("mariadbd", args...)
	out, err := os.Create(filepath.Join(n.dir, "out"))
	require.NoError(t, err)
	n.cmd.Stdout, n.cmd.Stderr = out, out
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, n.cmd.Start())
	go func() { n.cmd.Wait(); out.Close(); close(n.done) }()
}

var errExited = errors.New("exited while starting")

// waitReady waits until the node has joined and synced (wsrep_ready ON).
func (n *galeraNode) waitReady() error {
	db, err := sql.Open("mysql", "root@tcp("+n.sql+")/?timeout=1s")
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(galeraReadyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-n.done:
			return fmt.Errorf("%s %w:\n%s", n.name, errExited, n.logTail())
		default:
		}
		var name, ready string
		if db.QueryRow("SHOW STATUS LIKE 'wsrep_ready'").Scan(&name, &ready) == nil && ready == "ON" {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %v:\n%s", n.name, galeraReadyTimeout, n.logTail())
}

// kill ends the node at once (kill -9), as a machine that loses power.
func (n *galeraNode) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

// stop shuts the node down (SIGTERM), then kills it if it lingers.
func (n *galeraNode) stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(20 * time.Second):
		n.kill()
	}
}

func (n *galeraNode) logTail() string {
	errLog, _ := os.ReadFile(filepath.Join(n.dir, "err"))
	out, _ := os.ReadFile(filepath.Join(n.dir, "out"))
	data := append(out, errLog...)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// exec runs one statement on the node.
func (n *galeraNode) exec(ctx context.Context, t *testing.T, stmt string) {
	db, err := sql.Open("mysql", "root@tcp("+n.sql+")/")
	require.NoError(t, err)
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	require.NoError(t, err, stmt)
}
