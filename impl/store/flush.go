package store

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// FlushMode says how the store makes its changes durable; see the package
// doc for the argument behind each.
type FlushMode string

const (
	// FlushAuto picks FlushSyncfs on file systems and kernels where it is
	// known to be sound, FlushFsync elsewhere.
	FlushAuto FlushMode = "auto"
	// FlushSyncfs: one syncfs(2) of the store's file system makes a whole
	// batch of concurrent writers durable (group commit).
	FlushSyncfs FlushMode = "syncfs"
	// FlushFsync: every writer fsyncs its own file and directories;
	// concurrent fsyncs of one directory are shared.
	FlushFsync FlushMode = "fsync"
)

// ParseFlushMode checks a configuration value.
func ParseFlushMode(s string) (FlushMode, error) {
	switch m := FlushMode(s); m {
	case FlushAuto, FlushSyncfs, FlushFsync:
		return m, nil
	}
	return "", fmt.Errorf("flush mode %q: want auto, syncfs or fsync", s)
}

// Magic numbers of the file systems whose syncfs(2) writes back every dirty
// inode and then flushes the device cache (statfs(2) f_type).
var syncfsSound = map[int64]string{
	unix.EXT4_SUPER_MAGIC:  "ext4",
	unix.XFS_SUPER_MAGIC:   "xfs",
	unix.BTRFS_SUPER_MAGIC: "btrfs",
}

// syncfsMinKernel: before Linux 5.8, syncfs(2) did not report write-back
// errors (commit 735e4ae5ba28), so a failed write could go unnoticed.
var syncfsMinKernel = [2]int{5, 8}

// resolveFlushMode turns auto into a mode for the file system of rootFd and
// says why. An explicit syncfs is refused where syncfs could lie.
func resolveFlushMode(m FlushMode, rootFd int) (FlushMode, string, error) {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(rootFd, &fs); err != nil {
		return "", "", err
	}
	name, known := syncfsSound[int64(fs.Type)]
	kernel, newEnough := kernelAtLeast(syncfsMinKernel)
	why := fmt.Sprintf("file system %s, kernel %s", orUnknown(name, fs.Type), kernel)
	switch {
	case m == FlushFsync:
		return m, why, nil
	case known && newEnough:
		return FlushSyncfs, why, nil
	case m == FlushSyncfs:
		return "", "", fmt.Errorf("flush mode syncfs: %s: syncfs(2) is trusted only on ext4, xfs and btrfs with Linux >= 5.8", why)
	}
	return FlushFsync, why, nil
}

func orUnknown(name string, magic int64) string {
	if name != "" {
		return name
	}
	return fmt.Sprintf("0x%x", magic)
}

// kernelAtLeast compares the running kernel's release with min.
func kernelAtLeast(min [2]int) (string, bool) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown", false
	}
	rel := string(bytes.TrimRight(u.Release[:], "\x00"))
	f := strings.FieldsFunc(rel, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return rel, false
	}
	major, _ := strconv.Atoi(f[0])
	minor, _ := strconv.Atoi(f[1])
	return rel, major > min[0] || major == min[0] && minor >= min[1]
}

// persistFile makes fd's data and metadata durable. Under FlushSyncfs this
// is the next group flush, then a check that none of fd's pages failed to
// reach the disk (writebackError).
func (s *Store) persistFile(fd int) error {
	if s.flush != FlushSyncfs {
		return syncFD(fd, kindFile)
	}
	if err := s.groupFlush(); err != nil {
		return err
	}
	return s.writebackError(fd)
}

// writebackError reports a write-back error on fd's file since fd was
// opened. syncfs(2) reports an error once per descriptor of the file
// system: a flush that started before a writer's last write (the one in
// flight when it joined the next) may write the writer's pages, meet the
// error and report it to its own batch, and the flush that covers the
// writer then succeeds, its pages clean but not on disk. The file's own
// error cursor (errseq, sampled when fd was opened) still holds it:
// sync_file_range(2) with SYNC_FILE_RANGE_WAIT_BEFORE waits for nothing
// after a flush and returns it (file_fdatawait_range, Linux >= 4.17). The
// caller must keep fd open from before its first write to after the flush.
func (s *Store) writebackError(fd int) error {
	if s.flush != FlushSyncfs {
		return nil // fsync(fd) reported the file's own errors
	}
	if err := syncFileRange(fd, 0, 0, unix.SYNC_FILE_RANGE_WAIT_BEFORE); err != nil {
		fsyncErrors.WithLabelValues(kindWriteback).Inc()
		s.log.Error("write-back of a file failed although its flush succeeded; the operation fails, no retry", "err", err)
		return noSpace(fmt.Errorf("store: write-back: %w", err))
	}
	return nil
}

// persistBeforeDir is persistFile for a new file whose directory the caller
// makes durable next (a tombstone, a mailbox's name file): under
// FlushSyncfs that one flush covers both.
func (s *Store) persistBeforeDir(fd int) error {
	if s.flush == FlushSyncfs {
		return nil
	}
	return syncFD(fd, kindFile)
}

// persistDirs makes the entries of every directory in dirs durable: one
// group flush, or an fsync of each directory (in parallel, each shared with
// concurrent callers for the same directory).
func (s *Store) persistDirs(dirs ...*dirHandle) error {
	switch {
	case len(dirs) == 0:
		return nil
	case s.flush == FlushSyncfs:
		return s.groupFlush()
	case len(dirs) == 1:
		return s.syncDir(dirs[0])
	}
	errs := make([]error, len(dirs))
	sem := make(chan struct{}, maxParallelDirSyncs)
	var wg sync.WaitGroup
	for i, d := range dirs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = s.syncDir(d)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// groupFlush returns once a syncfs(2) that started after the call has
// succeeded: everything the caller wrote before is then durable. Callers
// that arrive while a flush runs share the next one, so a batch of any
// size costs one flush, and a lone caller never waits for a timer.
func (s *Store) groupFlush() error {
	led, err := s.flushes.Do(func() error {
		flushRounds.Inc()
		return syncFS(s.rootFd)
	})
	if !led {
		flushShared.Inc()
	}
	if err != nil {
		s.log.Error("syncfs failed; every write of its batch fails, no retry", "err", err)
		return noSpace(fmt.Errorf("store: syncfs: %w", err))
	}
	return nil
}

// syncDir fsyncs the directory of h, sharing the fsync with concurrent
// callers for the same directory.
func (s *Store) syncDir(h *dirHandle) error {
	c := s.dirSyncs.acquire(h.path)
	defer s.dirSyncs.release(h.path)
	led, err := c.Do(func() error { return syncFD(h.fd, kindDir) })
	if !led {
		dirSyncsShared.Inc()
	}
	if err != nil {
		s.log.Error("directory fsync failed; the operation fails, no retry", "dir", h.path, "err", err)
		return noSpace(fmt.Errorf("store: fsync %s: %w", h.path, err))
	}
	return nil
}
