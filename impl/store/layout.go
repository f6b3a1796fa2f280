package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path"

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

func tmpPath(id msgid.ID) string                 { return tmpDir + "/" + string(id) }
func messagePath(box string, id msgid.ID) string { return box + "/" + string(id) }
func tombPath(box string, id msgid.ID) string    { return box + "/" + string(id) + tombSuffix }

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails on Linux >= 3.17
	return hex.EncodeToString(b[:])
}

// exists reports whether name exists; errors other than "does not exist"
// count as existing, so that a caller goes on to the operation and gets the
// real error there.
func (s *Store) exists(name string) bool {
	_, err := s.root.Lstat(name)
	return !errors.Is(err, fs.ErrNotExist)
}

// durable reports whether dir exists and its entry is known to be on disk:
// it existed at Open (which ran syncfs) or its creator has fsynced the parent.
func (s *Store) durable(dir string) bool {
	return s.exists(dir) && !s.pending.has(dir)
}

// ensureBox returns the directory of mailbox n, creating it durably if
// needed: after it returns nil, a link made in the directory and followed by
// an fsync of the directory survives a crash.
func (s *Store) ensureBox(n mailbox.Name) (string, error) {
	box := boxPath(n)
	if s.durable(box) {
		return box, nil
	}
	fan2 := path.Dir(box)
	if err := s.ensureDir(path.Dir(fan2)); err != nil {
		return "", err
	}
	if err := s.ensureDir(fan2); err != nil {
		return "", err
	}
	return box, s.createBox(box, n)
}

// ensureDir creates a fan-out directory and fsyncs its parent. A directory
// is marked pending from before it may exist until its parent's fsync is
// done, so a concurrent caller never takes a fresh directory for durable.
// After a failed fsync it stays pending: later callers fsync the parent too.
func (s *Store) ensureDir(dir string) error {
	if s.durable(dir) {
		return nil
	}
	s.pending.acquire(dir)
	err := s.root.Mkdir(dir, dirPerm)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		s.pending.release(dir)
		return noSpace(err)
	}
	if err := s.syncDir(path.Dir(dir)); err != nil {
		return err
	}
	s.pending.release(dir)
	return nil
}

// createBox places the mailbox directory and fsyncs its parent; the
// directory is pending meanwhile (see ensureDir).
func (s *Store) createBox(box string, n mailbox.Name) error {
	s.pending.acquire(box)
	created, err := s.placeBox(box, n)
	if err != nil {
		s.pending.release(box)
		return err
	}
	if err := s.syncDir(path.Dir(box)); err != nil {
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
func (s *Store) placeBox(box string, n mailbox.Name) (created bool, err error) {
	if s.exists(box) {
		return false, nil
	}
	build := tmpDir + "/" + boxPrefix + randomHex()
	err = s.buildBox(build, n)
	if err == nil {
		err = s.root.Rename(build, box)
	}
	if err == nil {
		return true, nil
	}
	_ = s.root.RemoveAll(build)
	if s.exists(box) {
		return false, nil
	}
	return false, noSpace(err)
}

// buildBox makes dir with a durable name file: file and directory fsynced.
func (s *Store) buildBox(dir string, n mailbox.Name) error {
	if err := s.root.Mkdir(dir, dirPerm); err != nil {
		return err
	}
	f, err := s.root.OpenFile(dir+"/"+nameFile, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return err
	}
	_, err = f.WriteString(string(n) + "\n")
	if err == nil {
		err = syncFile(f, kindFile)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return s.fsyncDir(dir)
}

// isPrepared tells a finished upload from one still being written (or one
// whose Finish failed): only Finish makes the file owner-readable.
func isPrepared(fi os.FileInfo) bool { return fi.Mode().Perm()&0o400 != 0 }
