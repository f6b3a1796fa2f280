package bench

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"powermail/impl/devcluster"

	"golang.org/x/sys/unix"
)

// Addresses used by every scenario: mailbox i is user<i>@example.com with
// password pass<i> (the same on the peers).
const (
	rcptFormat = "user%d@example.com"
	passFormat = "pass%d"
	// frontConnsPerIP lifts the per-client-IP session limits: every
	// benchmark session comes from 127.0.0.1.
	frontConnsPerIP = "1000"
)

func users(n int, withPasswords bool) []devcluster.User {
	us := make([]devcluster.User, n)
	for i := range us {
		us[i].Name = fmt.Sprintf(rcptFormat, i)
		if withPasswords {
			us[i].Password = fmt.Sprintf(passFormat, i)
		}
	}
	return us
}

// startCluster starts 3 backends at redundancy r (W = r) with n mailboxes;
// tweaks change the options (more backends, another placement).
func (e *env) startCluster(ctx context.Context, name string, r, n int, withPasswords bool, tweaks ...func(*devcluster.Options)) (*devcluster.Cluster, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dir := filepath.Join(e.opt.WorkDir, name)
	opt := devcluster.Options{BinDir: e.opt.BinDir, Dir: dir,
		Backends: 3, Redundancy: r, WriteQuorum: r, Users: users(n, withPasswords),
		ExtraBackend: e.opt.BackendFlags,
		ExtraSMTP:    []string{"-max-connections-per-ip", frontConnsPerIP},
		ExtraPOP:     []string{"-max-connections-per-ip", frontConnsPerIP}}
	for _, tweak := range tweaks {
		tweak(&opt)
	}
	c, err := devcluster.Start(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("starting cluster (logs in %s): %w", dir, err)
	}
	// Let the front ends see every backend healthy before the load starts.
	time.Sleep(2 * devcluster.HealthInterval)
	return c, nil
}

// stopCluster stops the daemons and frees the disk, then writes the
// removal back, so that the next measurement does not pay for this one's
// journal commits and discards.
func stopCluster(c *devcluster.Cluster) {
	c.Close()
	os.RemoveAll(c.Dir())
	if d, err := os.Open(filepath.Dir(c.Dir())); err == nil {
		_ = unix.Syncfs(int(d.Fd())) // best effort: only timing depends on it
		d.Close()
	}
}

// census counts what a backend holds on disk: message files (distinct
// inodes), directory entries naming them (links), the bytes of the
// distinct inodes (apparent size and allocated blocks), and other files
// (a mailbox's name file, tombstones, the lock).
type census struct {
	Files      int   `json:"message_files"`
	Links      int   `json:"message_links"`
	Bytes      int64 `json:"bytes"`
	BlockBytes int64 `json:"block_bytes"`
	Other      int   `json:"other_files"`
}

// isMessage matches a message file: a msgid, 44 lower-case hex digits.
func isMessage(name string) bool {
	if len(name) != 44 {
		return false
	}
	for _, c := range name {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func takeCensus(root string) (census, error) {
	var c census
	seen := map[uint64]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if !isMessage(d.Name()) {
			c.Other++
			return nil
		}
		st := info.Sys().(*syscall.Stat_t)
		c.Links++
		if !seen[st.Ino] {
			seen[st.Ino] = true
			c.Files++
			c.Bytes += st.Size
			c.BlockBytes += st.Blocks * 512
		}
		return nil
	})
	return c, err
}

func (c census) minus(o census) census {
	return census{c.Files - o.Files, c.Links - o.Links, c.Bytes - o.Bytes, c.BlockBytes - o.BlockBytes, c.Other - o.Other}
}
