package powercut

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// Disk is a mounted power-cut file system: a directory whose every
// operation passes through to a backing directory, and that can lose
// power (Cut).
type Disk struct {
	mountpoint string
	state      string // live-<gen>/ and objects/, never inside the mount

	mu     sync.Mutex // serialises namespace changes, syncs and cuts
	m      *model
	gen    uint64 // power cycle: bumped by every cut, names live-<gen>/
	stats  Stats
	server *fuse.Server // nil while unmounted
}

// Stats count what reached the file system.
type Stats struct {
	FileSyncs int `json:"file_syncs"` // fsync and fdatasync of files
	DirSyncs  int `json:"dir_syncs"`  // fsync of directories (FSYNCDIR)
	Cuts      int `json:"cuts"`
}

// Available says why this machine cannot mount a Disk, or nil: it needs
// the FUSE device and fusermount3 (Debian's fuse3).
func Available() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("powercut: no FUSE device: %w", err)
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		return fmt.Errorf("powercut: fusermount3 missing (Debian package fuse3): %w", err)
	}
	return nil
}

// Mount mounts a new, empty Disk on mountpoint (an existing directory).
// state is a directory outside the mount for the backing files; it must
// not exist yet or be empty.
func Mount(mountpoint, state string) (*Disk, error) {
	d := &Disk{mountpoint: mountpoint, state: state, m: newModel()}
	if err := os.MkdirAll(d.objectsDir(), 0o700); err != nil {
		return nil, fmt.Errorf("powercut: %w", err)
	}
	if err := os.Mkdir(d.liveDir(), 0o755); err != nil {
		return nil, fmt.Errorf("powercut: state directory in use: %w", err)
	}
	if err := d.mount(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Disk) liveDir() string    { return filepath.Join(d.state, fmt.Sprintf("live-%d", d.gen)) }
func (d *Disk) objectsDir() string { return filepath.Join(d.state, "objects") }

func (d *Disk) objectPath(id ino) string { return filepath.Join(d.objectsDir(), id.String()) }

// Mountpoint is where the disk is mounted.
func (d *Disk) Mountpoint() string { return d.mountpoint }

// Stats returns the counts so far.
func (d *Disk) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Disk) mount() error {
	root, err := fs.NewLoopbackRoot(d.liveDir())
	if err != nil {
		return fmt.Errorf("powercut: %w", err)
	}
	top := &node{LoopbackNode: root.(*fs.LoopbackNode), disk: d, gen: d.gen}
	top.id.Store(uint64(rootIno))
	opts := &fs.Options{MountOptions: fuse.MountOptions{FsName: "powercut", Name: "powercut",
		// With passthrough (root only) the kernel would read and write
		// the backing files itself: the same data, but a different
		// path for root and other users. Every operation comes here.
		DisabledCapabilities: fuse.CAP_PASSTHROUGH}}
	server, err := fs.Mount(d.mountpoint, top, opts)
	if err != nil {
		return fmt.Errorf("powercut: mount %s: %w", d.mountpoint, err)
	}
	d.server = server
	return nil
}

// Cut is a power cut. The mount goes away (a process that still has a
// file open keeps a descriptor that fails with EIO), everything that was
// not durable is lost, and the disk is mounted again at the same place,
// showing exactly what was durable. Kill the disk's users first: a cut
// with files open has to detach the old mount lazily.
func (d *Disk) Cut() error {
	d.mu.Lock()
	d.gen++ // from here on, operations of the old mount fail
	d.mu.Unlock()
	if err := d.unmount(); err != nil {
		return err
	}
	d.mu.Lock()
	err := d.rebuild()
	d.stats.Cuts++
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return d.mount()
}

// rebuild writes the durable image as the new generation's live
// directory, forgets what it lost and removes the old live directory.
func (d *Disk) rebuild() error {
	if err := os.Mkdir(d.liveDir(), 0o755); err != nil {
		return fmt.Errorf("powercut: %w", err)
	}
	forgotten, err := d.m.image(d.liveDir(), d.objectsDir())
	if err != nil {
		return fmt.Errorf("powercut: durable image: %w", err)
	}
	for _, id := range forgotten {
		if err := os.Remove(d.objectPath(id)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("powercut: %w", err)
		}
	}
	old := filepath.Join(d.state, fmt.Sprintf("live-%d", d.gen-1))
	return os.RemoveAll(old)
}

// Close unmounts the disk. The state directory stays, for a look.
func (d *Disk) Close() error {
	d.mu.Lock()
	d.gen++
	d.mu.Unlock()
	return d.unmount()
}

// unmount detaches the mount. go-fuse's Unmount retries a busy mount for
// a while and then gives up; the mount is then detached at once.
func (d *Disk) unmount() error {
	if d.server == nil {
		return nil
	}
	server := d.server
	d.server = nil
	if server.Unmount() == nil {
		return nil
	}
	return d.detach()
}

// detach ends a busy mount. MNT_FORCE aborts the FUSE connection, so what
// is still open fails with ENOTCONN and nothing waits on this process any
// more: a file of the mount still open when this process exits would
// otherwise hang its exit for good (the exit waits for a FLUSH that only
// this process could answer). Only root may force; for other users
// fusermount3 detaches lazily, and the old server answers (EIO for syncs
// and namespace changes, see node.begin) until the last file is closed.
func (d *Disk) detach() error {
	if unix.Unmount(d.mountpoint, unix.MNT_FORCE|unix.MNT_DETACH) == nil {
		return nil
	}
	out, err := exec.Command("fusermount3", "-u", "-z", d.mountpoint).CombinedOutput()
	if err != nil {
		return fmt.Errorf("powercut: lazy unmount of %s: %v: %s", d.mountpoint, err, out)
	}
	return nil
}
