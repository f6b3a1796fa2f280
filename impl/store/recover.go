package store

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"powermail/impl/msgid"
)

// recover runs at Open: it empties tmp/, finishes interrupted deletes,
// counts mailboxes and messages, and makes what exists durable: under
// FlushSyncfs all of it, with one syncfs; under FlushFsync (a file system
// whose syncfs may do nothing, FUSE for one) the root's entries tmp/ and
// mbox/, the rest directory by directory as it is used (see verifyBox).
func (s *Store) recover() error {
	leftovers, err := s.clearTmp()
	if err != nil {
		return err
	}
	sc, err := s.scan()
	if err != nil {
		return err
	}
	if err := s.persistExisting(); err != nil {
		return err
	}
	s.boxes.Store(sc.boxes)
	s.messages.Store(sc.messages())
	s.newest = sc.newest
	s.log.Info("store opened", "tmp_leftovers_removed", leftovers, "mailboxes", sc.boxes,
		"messages", sc.messages(), "deletes_finished", sc.deletesFinished)
	return nil
}

func (s *Store) persistExisting() error {
	if s.flush == FlushSyncfs {
		if err := syncFS(s.rootFd); err != nil {
			return fmt.Errorf("syncfs: %w", err)
		}
		return nil
	}
	if err := syncFD(s.rootFd, kindDir); err != nil {
		return fmt.Errorf("fsync of the root: %w", err)
	}
	return nil
}

// clearTmp removes everything in tmp/. Uploads there were never committed,
// so no writer was told "stored"; a prepared message whose commit was lost
// makes its writer retry or use another backend.
func (s *Store) clearTmp() (int, error) {
	f, err := s.root.Open(tmpDir)
	if err != nil {
		return 0, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		if err := s.root.RemoveAll(tmpDir + "/" + name); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// scanResult counts what scan saw.
type scanResult struct {
	boxes           int64
	deletesFinished int
	// byLinks[k] is how many message links have link count k. A file with k
	// links appears k times with count k, so files = sum of byLinks[k] / k,
	// without remembering every id.
	byLinks map[uint64]int64
	newest  time.Time // latest mtime of a message or tombstone
}

func (r *scanResult) messages() int64 {
	var n int64
	for k, links := range r.byLinks {
		n += links / int64(k)
	}
	return n
}

func (s *Store) scan() (*scanResult, error) {
	r := &scanResult{byLinks: make(map[uint64]int64)}
	err := s.walkBoxes(func(dir string) error {
		r.boxes++
		return s.scanBox(dir, r)
	})
	return r, err
}

// scanBox counts the messages of dir and unlinks those with a tombstone: a
// delete that crashed between its two steps.
func (s *Store) scanBox(dir string, r *scanResult) error {
	tombs := make(map[string]bool)
	var msgs []boxEntry
	err := s.readBox(dir, func(e boxEntry) error {
		if m := time.Unix(e.st.Mtim.Unix()); m.After(r.newest) {
			r.newest = m
		}
		if e.tomb {
			tombs[string(e.id)] = true
		} else {
			msgs = append(msgs, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range msgs {
		if !tombs[string(e.id)] {
			r.byLinks[uint64(e.st.Nlink)]++
			continue
		}
		if err := s.root.Remove(messagePath(dir, e.id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		r.deletesFinished++
	}
	return nil
}

// Newest is the latest date of a message or tombstone that Open found (zero
// for an empty store): when this store was last written to, as its clock
// then said. A caller that expires tombstones counts time from there
// rather than trust a clock that may have jumped while nothing ran (see
// package doc, "Tombstone dates, and a clock that jumps").
func (s *Store) Newest() time.Time { return s.newest }

// ExpireUploads removes uploads and prepared messages in tmp/ last written
// before cutoff and returns how many it removed. Their writer has given up:
// a commit normally follows its prepare within seconds, and a connection
// that breaks after END leaves the prepared file behind until a restart
// otherwise. A commit that comes later gets ErrNotPrepared, a failure the
// writer already handles.
func (s *Store) ExpireUploads(cutoff time.Time) (int, error) {
	f, err := s.root.Open(tmpDir)
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("store: read tmp: %w", err)
	}
	n := 0
	for _, de := range ents {
		id, err := msgid.Parse(de.Name())
		if err != nil { // a tombstone or mailbox being built: not an upload
			continue
		}
		if info, err := de.Info(); err == nil && info.ModTime().Before(cutoff) && s.removeUpload(id) {
			n++
		}
	}
	return n, nil
}

// removeUpload removes tmp/<id> under the id lock, so that a Commit of id
// sees the file either whole or not at all.
func (s *Store) removeUpload(id msgid.ID) bool {
	unlock := s.lockID(id)
	defer unlock()
	err := s.root.Remove(tmpPath(id))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("cannot remove stale upload", "id", id, "err", err)
	}
	return err == nil
}
