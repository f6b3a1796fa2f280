package store

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// view is the read side of a store directory: what a Store serves, and all
// a Reader of another process's store can do.
type view struct {
	rootFd int       // the root directory: handles are opened beneath it
	dirs   *dirCache // open directory handles (see dirfs.go)
	log    *slog.Logger
}

// Reader reads a store that another process (its pplistener) owns:
// listings and messages, nothing else. It takes no lock and runs no
// recovery; what it reads is what the owner made visible (a message file
// is complete before its first link; a link removed while the Reader has
// the file open leaves the open file readable). powerpop uses it for a
// backend on its own host (see the local-stores key).
type Reader struct {
	view
	rootDir *os.File
}

// OpenReader opens the store directory root for reading.
func OpenReader(root string, log *slog.Logger) (*Reader, error) {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("store reader %s: %w", root, err)
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reader{view: view{rootFd: fd, dirs: newDirCache(fd, maxCachedDirs), log: log.With("store", root)},
		rootDir: os.NewFile(uintptr(fd), root)}
	h, err := r.dirs.get(boxesDir) // is it a store at all?
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("store reader %s: %w", root, err)
	}
	r.dirs.put(h)
	return r, nil
}

// Close releases the directory handles.
func (r *Reader) Close() error {
	r.dirs.close()
	return r.rootDir.Close()
}

// List returns the messages and tombstones of box; an unknown box is empty.
// A message with a tombstone (a delete in progress) is not listed.
func (s *view) List(box mailbox.Name) (mail.Listing, error) {
	if err := checkName(box); err != nil {
		return mail.Listing{}, err
	}
	var l mail.Listing
	h, err := s.dirs.get(boxPath(box))
	if errors.Is(err, fs.ErrNotExist) {
		return mail.Listing{}, nil
	}
	if err != nil {
		return mail.Listing{}, fmt.Errorf("store: %w", err)
	}
	err = s.readDir(h, func(e boxEntry) error {
		if e.tomb {
			l.Tombstones = append(l.Tombstones, mail.Tombstone{ID: e.id, Deleted: time.Unix(e.st.Mtim.Unix())})
		} else {
			l.Messages = append(l.Messages, mail.Entry{ID: e.id, Size: e.st.Size})
		}
		return nil
	})
	s.dirs.put(h)
	if err != nil {
		return mail.Listing{}, err
	}
	byID := func(a, b mail.Entry) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(l.Messages, byID)
	slices.SortFunc(l.Tombstones, func(a, b mail.Tombstone) int { return cmp.Compare(a.ID, b.ID) })
	l.Messages = slices.DeleteFunc(l.Messages, func(m mail.Entry) bool {
		_, dead := slices.BinarySearchFunc(l.Tombstones, m.ID, func(t mail.Tombstone, id msgid.ID) int { return cmp.Compare(t.ID, id) })
		return dead
	})
	return l, nil
}

// boxEntry is a message or tombstone found in a mailbox directory.
type boxEntry struct {
	id   msgid.ID
	tomb bool
	st   unix.Stat_t
}

// readBox calls fn for each message and tombstone in the mailbox directory
// dir (a path below the root, for walks over every mailbox: the handle is
// not cached).
func (s *view) readBox(dir string, fn func(boxEntry) error) error {
	fd, err := openBeneath(s.rootFd, dir, dirOpenFlags)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return s.readDir(&dirHandle{fd: fd, path: dir}, fn)
}

// readDir calls fn for each message and tombstone in h. Entries removed
// while reading are skipped; foreign names are logged and skipped.
func (s *view) readDir(h *dirHandle, fn func(boxEntry) error) error {
	names, err := readNames(h)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", h.path, err)
	}
	for _, name := range names {
		e, ok := s.parseEntry(h, name)
		if !ok {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// readNames lists h with getdents(2) on a fresh descriptor of the directory
// (h's own offset is shared by every holder of the handle).
func readNames(h *dirHandle) ([]string, error) {
	fd, err := unix.Openat(h.fd, ".", dirOpenFlags, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var names []string
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

func (s *view) parseEntry(h *dirHandle, name string) (boxEntry, bool) {
	if name == nameFile {
		return boxEntry{}, false
	}
	base, tomb := strings.CutSuffix(name, tombSuffix)
	id, err := msgid.Parse(base)
	if err != nil {
		s.log.Warn("foreign entry in mailbox directory", "dir", h.path, "name", name)
		return boxEntry{}, false
	}
	st, err := statAt(h, name)
	if err != nil { // removed since it was listed
		return boxEntry{}, false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		s.log.Warn("foreign entry in mailbox directory", "dir", h.path, "name", name)
		return boxEntry{}, false
	}
	return boxEntry{id: id, tomb: tomb, st: st}, true
}

// OpenMessage opens message id of box for reading (GET sends it with
// sendfile) and returns its size. ErrNotFound if box does not hold it.
func (s *view) OpenMessage(box mailbox.Name, id msgid.ID) (*os.File, int64, error) {
	if err := checkName(box); err != nil {
		return nil, 0, err
	}
	if err := checkID(id); err != nil {
		return nil, 0, err
	}
	h, err := s.dirs.get(boxPath(box))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s in %s", ErrNotFound, id, box)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	fd, err := openFileAt(h, string(id))
	s.dirs.put(h)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s in %s", ErrNotFound, id, box)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	return os.NewFile(uintptr(fd), messagePath(boxPath(box), id)), st.Size, nil
}

// Mailboxes returns the names of all mailbox directories, sorted.
func (s *Store) Mailboxes() ([]mailbox.Name, error) {
	var names []mailbox.Name
	err := s.walkBoxes(func(dir string) error {
		n, err := s.boxName(dir)
		if err != nil {
			s.log.Warn("mailbox directory with a bad name file", "dir", dir, "err", err)
			return nil
		}
		names = append(names, n)
		return nil
	})
	slices.Sort(names)
	return names, err
}

// boxName reads the name file of dir and checks that it maps back to dir.
func (s *Store) boxName(dir string) (mailbox.Name, error) {
	b, err := s.root.ReadFile(dir + "/" + nameFile)
	if err != nil {
		return "", err
	}
	n := mailbox.Name(strings.TrimSuffix(string(b), "\n"))
	if err := checkName(n); err != nil {
		return "", err
	}
	if boxPath(n) != dir {
		return "", fmt.Errorf("name %q does not hash to this directory", n)
	}
	return n, nil
}

// walkBoxes calls fn for every mailbox directory mbox/xx/yy/<hash>.
func (s *Store) walkBoxes(fn func(dir string) error) error {
	return s.walkLevel(boxesDir, 0, fn)
}

// Directory name lengths at each level below mbox/.
var levelNameLen = []int{2, 2, hashHexLen}

func (s *Store) walkLevel(dir string, level int, fn func(string) error) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("store: read %s: %w", dir, err)
	}
	slices.Sort(names)
	for _, name := range names {
		if len(name) != levelNameLen[level] || !isLowerHex(name) {
			s.log.Warn("foreign entry in mailbox tree", "dir", dir, "name", name)
			continue
		}
		sub := dir + "/" + name
		if level == len(levelNameLen)-1 {
			err = fn(sub)
		} else {
			err = s.walkLevel(sub, level+1, fn)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
