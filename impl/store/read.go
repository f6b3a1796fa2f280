package store

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Listing is the content of one mailbox, each slice sorted by id (and so by
// delivery time).
type Listing struct {
	Messages   []Entry
	Tombstones []Tombstone
}

// Entry is one stored message.
type Entry struct {
	ID   msgid.ID
	Size int64
}

// Tombstone records that a message was deleted from a mailbox. Deleted is
// kept to the microsecond (it is the file's mtime).
type Tombstone struct {
	ID      msgid.ID
	Deleted time.Time
}

// List returns the messages and tombstones of box; an unknown box is empty.
// A message with a tombstone (a delete in progress) is not listed.
func (s *Store) List(box mailbox.Name) (Listing, error) {
	if err := checkName(box); err != nil {
		return Listing{}, err
	}
	var l Listing
	err := s.readBox(boxPath(box), func(e boxEntry) error {
		if e.tomb {
			l.Tombstones = append(l.Tombstones, Tombstone{ID: e.id, Deleted: e.info.ModTime()})
		} else {
			l.Messages = append(l.Messages, Entry{ID: e.id, Size: e.info.Size()})
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return Listing{}, nil
	}
	if err != nil {
		return Listing{}, err
	}
	byID := func(a, b Entry) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(l.Messages, byID)
	slices.SortFunc(l.Tombstones, func(a, b Tombstone) int { return cmp.Compare(a.ID, b.ID) })
	l.Messages = slices.DeleteFunc(l.Messages, func(m Entry) bool {
		_, dead := slices.BinarySearchFunc(l.Tombstones, m.ID, func(t Tombstone, id msgid.ID) int { return cmp.Compare(t.ID, id) })
		return dead
	})
	return l, nil
}

// boxEntry is a message or tombstone found in a mailbox directory.
type boxEntry struct {
	id   msgid.ID
	tomb bool
	info os.FileInfo
}

// readBox calls fn for each message and tombstone in dir. Entries removed
// while reading are skipped; foreign names are logged and skipped.
func (s *Store) readBox(dir string, fn func(boxEntry) error) error {
	f, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("store: read %s: %w", dir, err)
	}
	for _, de := range ents {
		e, ok := s.parseEntry(dir, de)
		if !ok {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) parseEntry(dir string, de fs.DirEntry) (boxEntry, bool) {
	name := de.Name()
	if name == nameFile {
		return boxEntry{}, false
	}
	base, tomb := strings.CutSuffix(name, tombSuffix)
	id, err := msgid.Parse(base)
	if err != nil || !de.Type().IsRegular() {
		s.log.Warn("foreign entry in mailbox directory", "dir", dir, "name", name)
		return boxEntry{}, false
	}
	info, err := de.Info()
	if err != nil { // removed since ReadDir
		return boxEntry{}, false
	}
	return boxEntry{id: id, tomb: tomb, info: info}, true
}

// OpenMessage opens message id of box for reading (GET sends it with
// sendfile) and returns its size. ErrNotFound if box does not hold it.
func (s *Store) OpenMessage(box mailbox.Name, id msgid.ID) (*os.File, int64, error) {
	if err := checkName(box); err != nil {
		return nil, 0, err
	}
	if err := checkID(id); err != nil {
		return nil, 0, err
	}
	f, err := s.root.Open(messagePath(boxPath(box), id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s in %s", ErrNotFound, id, box)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	return f, fi.Size(), nil
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
