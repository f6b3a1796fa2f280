package powercut

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// needFUSE skips a test on a machine without FUSE, except under CI, where
// a skip would let the run pass having tested nothing.
func needFUSE(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %v", err)
		}
		t.Skip(err)
	}
}

// mountDisk mounts a new Disk on a temporary directory; it is unmounted
// when the test ends, whatever happened.
func mountDisk(t *testing.T) (*Disk, string) {
	t.Helper()
	needFUSE(t)
	mnt := t.TempDir()
	d, err := Mount(mnt, filepath.Join(t.TempDir(), "state"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d, mnt
}

// write creates or replaces path with data, fsyncing the file when sync.
func write(t *testing.T, path, data string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	require.NoError(t, err)
	_, err = f.WriteString(data)
	require.NoError(t, err)
	if sync {
		require.NoError(t, f.Sync())
	}
	require.NoError(t, f.Close())
}

// fsync fsyncs path, a file or a directory.
func fsync(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

// mkdir makes dir and fsyncs its parent: a durable directory.
func mkdir(t *testing.T, dir string) {
	t.Helper()
	require.NoError(t, os.Mkdir(dir, 0o755))
	fsync(t, filepath.Dir(dir))
}

func cut(t *testing.T, d *Disk) {
	t.Helper()
	require.NoError(t, d.Cut())
}

// content reads path; "<absent>" when it does not exist.
func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "<absent>"
	}
	require.NoError(t, err)
	return string(b)
}

func links(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

func TestUnsyncedDataIsLost(t *testing.T) {
	d, mnt := mountDisk(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "never synced", false)
	fsync(t, mnt)
	cut(t, d)
	require.Equal(t, "", content(t, p), "the name was durable, the data was not")

	write(t, p, "synced", true)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(" and more")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, "synced and more", content(t, p))
	cut(t, d)
	require.Equal(t, "synced", content(t, p), "what was written after the fsync")
	require.Equal(t, Stats{FileSyncs: 1, DirSyncs: 1, Cuts: 2}, d.Stats())
}

func TestFileFsyncKeepsDataButNotTheName(t *testing.T) {
	d, mnt := mountDisk(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "data", true)
	cut(t, d)
	require.Equal(t, "<absent>", content(t, p), "fsync(file) does not persist its name")

	write(t, p, "data", true)
	fsync(t, mnt)
	cut(t, d)
	require.Equal(t, "data", content(t, p), "fsync(dir) does")
}

func TestNewDirectoryNeedsItsParentFsynced(t *testing.T) {
	d, mnt := mountDisk(t)
	dir := filepath.Join(mnt, "d")
	require.NoError(t, os.Mkdir(dir, 0o755))
	write(t, filepath.Join(dir, "f"), "data", true)
	fsync(t, dir)
	cut(t, d)
	require.NoDirExists(t, dir, "the directory's own entry was never fsynced")

	require.NoError(t, os.Mkdir(dir, 0o755))
	write(t, filepath.Join(dir, "f"), "data", true)
	fsync(t, dir)
	fsync(t, mnt)
	cut(t, d)
	require.Equal(t, "data", content(t, filepath.Join(dir, "f")))
}

func TestModeNeedsFsyncNotFdatasync(t *testing.T) {
	d, mnt := mountDisk(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "data", true)
	fsync(t, mnt)
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, os.Chmod(p, 0o604))
	require.NoError(t, unix.Fdatasync(int(f.Fd())))
	cut(t, d)
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "fdatasync keeps data, not the mode")

	require.NoError(t, os.Chmod(p, 0o604))
	fsync(t, p)
	cut(t, d)
	fi, err = os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o604), fi.Mode().Perm())
}

// TestRename: a rename from A/a to B/b is two directory entries, each
// durable with its own directory's fsync.
func TestRename(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sync       []string
		oldA, newB string
	}{
		{"no fsync: undone", nil, "data", "<absent>"},
		{"both fsynced", []string{"A", "B"}, "<absent>", "data"},
		{"target only: two names", []string{"B"}, "data", "data"},
		{"source only: gone", []string{"A"}, "<absent>", "<absent>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, mnt := mountDisk(t)
			a, b := filepath.Join(mnt, "A", "a"), filepath.Join(mnt, "B", "b")
			mkdir(t, filepath.Join(mnt, "A"))
			mkdir(t, filepath.Join(mnt, "B"))
			write(t, a, "data", true)
			fsync(t, filepath.Dir(a))
			require.NoError(t, os.Rename(a, b))
			for _, dir := range tc.sync {
				fsync(t, filepath.Join(mnt, dir))
			}
			cut(t, d)
			require.Equal(t, tc.oldA, content(t, a))
			require.Equal(t, tc.newB, content(t, b))
		})
	}
}

func TestRenameWithinADirectory(t *testing.T) {
	d, mnt := mountDisk(t)
	tmp, final := filepath.Join(mnt, "tmp"), filepath.Join(mnt, "final")
	write(t, final, "old", true)
	write(t, tmp, "new", true)
	fsync(t, mnt)
	require.NoError(t, os.Rename(tmp, final))
	cut(t, d)
	require.Equal(t, "old", content(t, final), "rename not durable without fsync of the directory")

	require.NoError(t, os.Rename(tmp, final))
	fsync(t, mnt)
	cut(t, d)
	require.Equal(t, "new", content(t, final))
	require.Equal(t, "<absent>", content(t, tmp))
}

func TestRenamedDirectoryComesBackOnce(t *testing.T) {
	d, mnt := mountDisk(t)
	mkdir(t, filepath.Join(mnt, "A"))
	mkdir(t, filepath.Join(mnt, "B"))
	mkdir(t, filepath.Join(mnt, "A", "x"))
	write(t, filepath.Join(mnt, "A", "x", "f"), "data", true)
	fsync(t, filepath.Join(mnt, "A", "x"))
	require.NoError(t, os.Rename(filepath.Join(mnt, "A", "x"), filepath.Join(mnt, "B", "x")))
	fsync(t, filepath.Join(mnt, "B"))
	cut(t, d)
	found := 0
	for _, parent := range []string{"A", "B"} {
		if c := content(t, filepath.Join(mnt, parent, "x", "f")); c != "<absent>" {
			require.Equal(t, "data", c)
			found++
		}
	}
	require.Equal(t, 1, found, "durable in both parents, shown in one")
}

func TestLinkAndUnlink(t *testing.T) {
	d, mnt := mountDisk(t)
	mkdir(t, filepath.Join(mnt, "A"))
	mkdir(t, filepath.Join(mnt, "B"))
	a, b := filepath.Join(mnt, "A", "f"), filepath.Join(mnt, "B", "f")
	write(t, a, "data", true)
	fsync(t, filepath.Dir(a))
	require.NoError(t, os.Link(a, b))
	cut(t, d)
	require.Equal(t, "<absent>", content(t, b), "link without fsync of its directory")

	require.NoError(t, os.Link(a, b))
	fsync(t, filepath.Dir(b))
	cut(t, d)
	require.Equal(t, "data", content(t, b))
	require.Equal(t, uint64(2), links(t, a), "one inode, two durable names")

	require.NoError(t, os.Remove(a))
	cut(t, d)
	require.Equal(t, "data", content(t, a), "unlink without fsync of its directory is undone")

	require.NoError(t, os.Remove(a))
	fsync(t, filepath.Dir(a))
	cut(t, d)
	require.Equal(t, "<absent>", content(t, a))
	require.Equal(t, uint64(1), links(t, b))
}

// TestCutWithFileOpen: a process that survives the cut (it should have
// been killed) cannot make anything durable on the new mount.
func TestCutWithFileOpen(t *testing.T) {
	d, mnt := mountDisk(t)
	p := filepath.Join(mnt, "f")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("one")
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	fsync(t, mnt)
	_, err = f.WriteString(" two")
	require.NoError(t, err)

	cut(t, d)
	require.Equal(t, "one", content(t, p))
	_, _ = f.WriteString(" three") // may fail or go nowhere; it must not show
	require.Error(t, f.Sync(), "fsync through the old mount")
	require.Equal(t, "one", content(t, p))
	cut(t, d)
	require.Equal(t, "one", content(t, p))
}

// TestSyncfsMakesNothingDurable: syncfs(2) and sync(2) on a FUSE mount do
// not reach the file system (see the package doc), so a store that relies
// on them loses what only they would have persisted.
func TestSyncfsMakesNothingDurable(t *testing.T) {
	d, mnt := mountDisk(t)
	p := filepath.Join(mnt, "f")
	write(t, p, "data", true)
	f, err := os.Open(mnt)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, unix.Syncfs(int(f.Fd())))
	unix.Sync()
	require.Zero(t, d.Stats().DirSyncs, "syncfs reached the file system as a directory fsync")
	cut(t, d)
	require.Equal(t, "<absent>", content(t, p))
}
