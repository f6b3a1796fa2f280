package store

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Delete removes message id from box and leaves a tombstone dated now, so a
// stale replica or a repair cannot bring the message back. The tombstone is
// made durable first (file and directory fsynced), then the message is
// unlinked and the directory fsynced again. The tombstone is written even if
// box does not hold the message: other replicas may. An existing tombstone
// keeps its date: the first deletion is the one that counts.
// Allowed in read-only mode and below the free-space floor (see package doc).
func (s *Store) Delete(box mailbox.Name, id msgid.ID, now time.Time) error {
	if err := checkName(box); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	unlock := s.lockID(id)
	defer unlock()
	dir, err := s.ensureBox(box)
	if err != nil {
		return err
	}
	defer s.dirs.put(dir)
	if err := s.writeTombstone(dir, id, now); err != nil {
		return err
	}
	if err := s.persistDirs(dir); err != nil {
		return err
	}
	removed, err := s.unlinkMessage(dir, id)
	if err != nil || !removed {
		return err
	}
	return s.persistDirs(dir)
}

// Void makes message id invisible for good in every one of boxes: a
// tombstone dated now in each (made durable first), then the tmp file and
// any links of id are removed. It is the refusal of a delivery (the sender
// got 4xx and will retry under a new id) after a copy may have been
// committed: a tombstone on any backend hides every copy of the id in that
// mailbox (see maildrop), so a copy left on a backend that could not be
// reached never shows. Allowed in read-only mode and below the free-space
// floor, like Delete.
func (s *Store) Void(id msgid.ID, boxes []mailbox.Name, now time.Time) error {
	boxes, err := checkCommand(id, boxes)
	if err != nil {
		return err
	}
	unlock := s.lockID(id)
	defer unlock()
	handles, err := s.boxDirs(boxes)
	defer s.putDirs(handles)
	if err != nil {
		return err
	}
	for _, h := range handles {
		if err := s.writeTombstone(h, id, now); err != nil {
			return err
		}
	}
	if err := s.persistDirs(handles...); err != nil {
		return err
	}
	if err := unlinkAt(s.tmp, string(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: void %s: %w", id, err)
	}
	var removed []*dirHandle
	for _, h := range handles {
		ok, err := s.unlinkMessage(h, id)
		if err != nil {
			return err
		}
		if ok {
			removed = append(removed, h)
		}
	}
	return s.persistDirs(removed...)
}

// writeTombstone creates the empty tombstone file of id in dir with mtime
// now; it is durable, mtime included, once the caller has made dir durable.
func (s *Store) writeTombstone(dir *dirHandle, id msgid.ID, now time.Time) error {
	fd, err := createAt(dir, tombName(id), filePerm)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return noSpace(fmt.Errorf("store: tombstone %s: %w", id, err))
	}
	tv := unix.NsecToTimeval(now.UnixNano())
	err = unix.Futimes(fd, []unix.Timeval{tv, tv})
	if err == nil {
		err = s.persistBeforeDir(fd)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		// A tombstone that is not durable must not count: remove it, fail.
		_ = unlinkAt(dir, tombName(id))
		return noSpace(fmt.Errorf("store: tombstone %s: %w", id, err))
	}
	return nil
}

// ExpireTombstones removes tombstones dated before now - TombstoneTTL and
// returns how many it removed. Each directory changed is fsynced.
func (s *Store) ExpireTombstones(now time.Time) (int, error) {
	cutoff := now.Add(-s.ttl)
	total := 0
	err := s.walkBoxes(func(dir string) error {
		n, err := s.expireBox(dir, cutoff)
		total += n
		if err != nil || n == 0 {
			return err
		}
		h, err := s.dirs.get(dir)
		if err != nil {
			return err
		}
		defer s.dirs.put(h)
		return s.persistDirs(h)
	})
	return total, err
}

func (s *Store) expireBox(dir string, cutoff time.Time) (int, error) {
	var old []msgid.ID
	err := s.readBox(dir, func(e boxEntry) error {
		if e.tomb && time.Unix(e.st.Mtim.Unix()).Before(cutoff) {
			old = append(old, e.id)
		}
		return nil
	})
	n := 0
	for _, id := range old {
		// Under the id lock, so a concurrent Delete of id cannot unlink the
		// message after its (old) tombstone is gone.
		unlock := s.lockID(id)
		rerr := s.root.Remove(tombPath(dir, id))
		unlock()
		if rerr == nil {
			n++
		} else if !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return n, err
}
