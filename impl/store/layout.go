package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"path"

	"golang.org/x/sys/unix"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Names inside the root; see the layout in the package doc.
const (
	lockFile   = "LOCK"
	tmpDir     = "tmp"
	boxesDir   = "mbox"
	nameFile   = "name"
	tombSuffix = ".tomb"
	boxPrefix  = "box-" // tmp/box-<random>: a mailbox directory being built

	dirPerm  = 0o750
	filePerm = 0o640
	// uploadPerm marks an upload that Finish has not accepted: not yet
	// readable, and so not committable (see isPrepared). Finish sets
	// filePerm (chmod ignores the umask).
	uploadPerm = 0o200

	hashHexLen = 2 * sha256.Size
)

// boxPath maps a canonical mailbox name to its directory relative to the
// root: mbox/<h[0:2]>/<h[2:4]>/<h>, h the hex SHA-256 of the name. Only hex
// digits and slashes come out, whatever goes in. Two fan-out levels keep
// directories small: a million mailboxes are ~15 per leaf directory.
func boxPath(n mailbox.Name) string {
	sum := sha256.Sum256([]byte(n))
	h := hex.EncodeToString(sum[:])
	return boxesDir + "/" + h[0:2] + "/" + h[2:4] + "/" + h
}

func tmpPath(id msgid.ID) string { return tmpDir + "/" + string(id) }

// tombName is the name of id's tombstone in a mailbox directory.
func tombName(id msgid.ID) string { return string(id) + tombSuffix }

func messagePath(box string, id msgid.ID) string { return box + "/" + string(id) }
func tombPath(box string, id msgid.ID) string    { return box + "/" + tombName(id) }

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on Linux >= 3.17
	return hex.EncodeToString(b[:])
}

// exists reports whether name exists below the root (cold paths); errors
// other than "does not exist" count as existing, as in existsAt.
func (s *Store) exists(name string) bool {
	_, err := s.root.Lstat(name)
	return !errors.Is(err, fs.ErrNotExist)
}

// ensureBox returns the directory of mailbox n (to be put back), creating
// it durably if needed: after it returns, a link made in the directory and
// then made durable survives a crash. A cached handle is durable: it was
// opened after its creator's flush, or after Open's syncfs.
func (s *Store) ensureBox(n mailbox.Name) (*dirHandle, error) {
	box := boxPath(n)
	// Open first, then ask whether a creator is still flushing: a creator
	// marks the directory pending before it can exist (see ensureDir).
	h, err := s.dirs.get(box)
	switch {
	case err == nil && !s.pending.has(box):
		if err := s.verifyBox(h); err != nil {
			s.dirs.put(h)
			return nil, err
		}
		return h, nil
	case err == nil:
		s.dirs.put(h)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, noSpace(err)
	}
	fan2 := path.Dir(box)
	if err := s.ensureDir(path.Dir(fan2)); err != nil {
		return nil, err
	}
	if err := s.ensureDir(fan2); err != nil {
		return nil, err
	}
	if err := s.createBox(box, n); err != nil {
		return nil, err
	}
	h, err = s.dirs.get(box)
	if err == nil {
		h.verified.Store(true) // createBox made its entry durable
	}
	return h, err
}

// verifyBox makes sure, under FlushFsync, that the entries naming mailbox
// directory h (in yy/, yy/ in xx/, xx/ in mbox/) are durable before
// anything is linked into it. A directory that exists at start-up may not
// be: a process killed after creating it, before its parent's fsync, leaves
// it in the page cache only, and a power cut after a restart would take it
// with every message acknowledged since. (FlushSyncfs needs none of this:
// Open's syncfs made everything that existed durable.) Each fan-out level
// is fsynced once per process, a mailbox's parent once per opening of its
// handle.
func (s *Store) verifyBox(h *dirHandle) error {
	if s.flush != FlushFsync || h.verified.Load() {
		return nil
	}
	fan2 := path.Dir(h.path)
	for _, dir := range []string{path.Dir(fan2), fan2} {
		if err := s.verifyFanout(dir); err != nil {
			return err
		}
	}
	if err := s.syncPath(fan2); err != nil {
		return err
	}
	h.verified.Store(true)
	return nil
}

// verifyFanout makes dir's entry in its parent durable, once per process.
func (s *Store) verifyFanout(dir string) error {
	s.fanMu.Lock()
	done := s.fanOK[dir]
	s.fanMu.Unlock()
	if done {
		return nil
	}
	if err := s.syncPath(path.Dir(dir)); err != nil {
		return err
	}
	s.markFanout(dir)
	return nil
}

func (s *Store) markFanout(dir string) {
	s.fanMu.Lock()
	defer s.fanMu.Unlock()
	if s.fanOK == nil {
		s.fanOK = make(map[string]bool)
	}
	s.fanOK[dir] = true
}

// syncPath makes the entries of directory dir durable.
func (s *Store) syncPath(dir string) error {
	h, err := s.dirs.get(dir)
	if err != nil {
		return noSpace(err)
	}
	defer s.dirs.put(h)
	return s.persistDirs(h)
}

// ensureDir creates a fan-out directory and makes its entry in the parent
// durable. A directory is marked pending from before it may exist until
// its parent's flush is done, so a concurrent caller never takes a fresh
// directory for durable. After a failed flush it stays pending: later
// callers flush the parent too.
func (s *Store) ensureDir(dir string) error {
	if s.exists(dir) && !s.pending.has(dir) { // this order: see ensureBox
		return s.verifyFanout(dir)
	}
	s.pending.acquire(dir)
	parent, err := s.dirs.get(path.Dir(dir))
	if err != nil {
		s.pending.release(dir)
		return noSpace(err)
	}
	defer s.dirs.put(parent)
	err = mkdirAt(parent, path.Base(dir), dirPerm)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		s.pending.release(dir)
		return noSpace(err)
	}
	if err := s.persistDirs(parent); err != nil {
		return err
	}
	s.pending.release(dir)
	s.markFanout(dir)
	return nil
}

// createBox places the mailbox directory and makes its entry in the parent
// durable; the directory is pending meanwhile (see ensureDir).
func (s *Store) createBox(box string, n mailbox.Name) error {
	s.pending.acquire(box)
	parent, err := s.dirs.get(path.Dir(box))
	if err != nil {
		s.pending.release(box)
		return noSpace(err)
	}
	defer s.dirs.put(parent)
	created, err := s.placeBox(parent, box, n)
	if err != nil {
		s.pending.release(box)
		return err
	}
	if err := s.persistDirs(parent); err != nil {
		return err
	}
	s.pending.release(box)
	if created {
		s.boxes.Add(1)
	}
	return nil
}

// placeBox builds the mailbox directory with its name file under tmp/ and
// renames it into place, so that a mailbox directory never lacks its name.
// If another caller's directory is there, or lands first, that one is used;
// created reports whether this caller's directory landed.
func (s *Store) placeBox(parent *dirHandle, box string, n mailbox.Name) (created bool, err error) {
	if existsAt(parent, path.Base(box)) {
		return false, nil
	}
	build := boxPrefix + randomHex()
	err = s.buildBox(build, n)
	if err == nil {
		err = renameAt(s.tmp, build, parent, path.Base(box))
	}
	if err == nil {
		return true, nil
	}
	_ = s.root.RemoveAll(tmpDir + "/" + build)
	if existsAt(parent, path.Base(box)) {
		return false, nil
	}
	return false, noSpace(err)
}

// buildBox makes tmp/<build> with a durable name file: file and directory
// made durable before the rename can publish them. The directory is not
// cached: its path changes with the rename.
func (s *Store) buildBox(build string, n mailbox.Name) error {
	if err := mkdirAt(s.tmp, build, dirPerm); err != nil {
		return err
	}
	path := tmpDir + "/" + build
	dfd, err := openBeneath(s.rootFd, path, dirOpenFlags)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	d := &dirHandle{fd: dfd, path: path}
	fd, err := createAt(d, nameFile, filePerm)
	if err != nil {
		return err
	}
	_, err = writeAll(fd, []byte(string(n)+"\n"))
	if err == nil {
		err = s.persistBeforeDir(fd)
	}
	if err == nil {
		err = s.persistDirs(d)
	}
	if err == nil { // fd open until here: see writebackError
		err = s.writebackError(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	return err
}

// isPrepared tells a finished upload from one still being written (or one
// whose Finish failed): only Finish makes the file owner-readable.
func isPrepared(st unix.Stat_t) bool { return st.Mode&0o400 != 0 }
