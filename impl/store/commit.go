package store

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

var errNoBoxes = errors.New("store: no mailboxes given")

// Commit links prepared message id into each of boxes and returns after
// every mailbox directory touched is durable; the tmp name is removed after.
// It is idempotent: a mailbox that already holds id counts as done, and when
// the tmp file is gone (an earlier commit of the same id), a link of id in
// one of boxes is the source. Without either, ErrNotPrepared. A mailbox
// holding a tombstone for id is skipped: the message was deleted there.
func (s *Store) Commit(id msgid.ID, boxes []mailbox.Name) error {
	boxes, err := checkCommand(id, boxes)
	if err != nil {
		return err
	}
	if err := s.checkWritable(); err != nil {
		return err
	}
	unlock := s.lockID(id)
	defer unlock()
	handles, err := s.boxDirs(boxes)
	defer s.putDirs(handles)
	if err != nil {
		return err
	}
	src, fromTmp, boxLinks, err := s.commitSource(id, handles)
	if err != nil {
		return err
	}
	failBeforeLink()
	dirs, err := s.linkAll(id, src, boxLinks == 0, handles)
	if err != nil {
		return err
	}
	failBeforeDirSync()
	if err := s.timeFlush(func() error { return s.persistDirs(dirs...) }); err != nil {
		return err
	}
	if fromTmp {
		// Not made durable: if the removal is lost in a crash, Open removes it.
		if err := unlinkAt(s.tmp, string(id)); err != nil {
			s.log.Warn("cannot remove committed tmp file", "id", id, "err", err)
		}
	}
	return nil
}

// checkCommand validates id and boxes and drops repeated boxes.
func checkCommand(id msgid.ID, boxes []mailbox.Name) ([]mailbox.Name, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if len(boxes) == 0 {
		return nil, errNoBoxes
	}
	seen := make(map[mailbox.Name]bool, len(boxes))
	out := make([]mailbox.Name, 0, len(boxes))
	for _, b := range boxes {
		if err := checkName(b); err != nil {
			return nil, err
		}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out, nil
}

// boxDirs returns the directory of each box, created durably where missing;
// the caller puts them back (also after an error: those opened so far).
func (s *Store) boxDirs(boxes []mailbox.Name) ([]*dirHandle, error) {
	handles := make([]*dirHandle, 0, len(boxes))
	for _, b := range boxes {
		h, err := s.ensureBox(b)
		if err != nil {
			return handles, err
		}
		handles = append(handles, h)
	}
	return handles, nil
}

func (s *Store) putDirs(hs []*dirHandle) {
	for _, h := range hs {
		s.dirs.put(h)
	}
}

// commitSource finds the file to link: tmp/<id>, else a link of id already
// in one of boxes (a repeated or extended commit). It also returns how many
// mailbox links that file has: its link count, less the tmp name.
func (s *Store) commitSource(id msgid.ID, boxes []*dirHandle) (src *dirHandle, fromTmp bool, boxLinks uint64, err error) {
	if st, err := statAt(s.tmp, string(id)); err == nil {
		if !isPrepared(st) { // a COMMIT racing its own upload: never link a partial file
			return nil, false, 0, fmt.Errorf("%w: %s: upload not finished", ErrNotPrepared, id)
		}
		return s.tmp, true, uint64(st.Nlink) - 1, nil
	}
	for _, b := range boxes {
		if st, err := statAt(b, string(id)); err == nil {
			return b, false, uint64(st.Nlink), nil
		}
	}
	return nil, false, 0, fmt.Errorf("%w: %s", ErrNotPrepared, id)
}

// linkAll links id from src into every box without a tombstone for id and
// returns the directories to make durable. A box that already holds id is
// flushed too: the earlier commit that linked it may have failed before its
// flush. fresh reports that the file had no mailbox link before.
func (s *Store) linkAll(id msgid.ID, src *dirHandle, fresh bool, boxes []*dirHandle) ([]*dirHandle, error) {
	var dirs []*dirHandle
	linked := 0
	defer func() { // also after an error: the links made so far exist
		if fresh && linked > 0 {
			s.messages.Add(1)
		}
	}()
	for k, box := range boxes {
		if existsAt(box, tombName(id)) {
			continue
		}
		var err error
		if box != src {
			err = linkAt(src, box, string(id))
		}
		switch {
		case err == nil && box != src:
			linked++
			failBetweenLinks(k < len(boxes)-1)
		case err != nil && !errors.Is(err, fs.ErrExist):
			return nil, noSpace(fmt.Errorf("store: commit %s: %w", id, err))
		}
		dirs = append(dirs, box)
	}
	return dirs, nil
}

// Abort removes everything of message id: the tmp file and its links in
// boxes (each directory made durable). Missing pieces are not an error, so
// a retried abort succeeds. Allowed in read-only mode: it frees space.
func (s *Store) Abort(id msgid.ID, boxes []mailbox.Name) error {
	if err := checkID(id); err != nil {
		return err
	}
	for _, b := range boxes {
		if err := checkName(b); err != nil {
			return err
		}
	}
	unlock := s.lockID(id)
	defer unlock()
	// The tmp name goes first, so the link counts below are mailbox links only.
	if err := unlinkAt(s.tmp, string(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: abort %s: %w", id, err)
	}
	var dirs []*dirHandle
	defer func() { s.putDirs(dirs) }()
	for _, b := range boxes {
		box, err := s.dirs.get(boxPath(b))
		if errors.Is(err, fs.ErrNotExist) {
			continue // no such mailbox here: nothing to remove
		}
		if err != nil {
			return fmt.Errorf("store: abort %s: %w", id, err)
		}
		removed, err := s.unlinkMessage(box, id)
		if err != nil || !removed {
			s.dirs.put(box)
			if err != nil {
				return err
			}
			continue
		}
		dirs = append(dirs, box)
	}
	return s.persistDirs(dirs...)
}

// unlinkMessage removes the link of id in box, if any, and keeps the message
// count: the count drops when the last mailbox link of the file goes. The
// caller holds the id lock and makes box durable.
func (s *Store) unlinkMessage(box *dirHandle, id msgid.ID) (bool, error) {
	st, err := statAt(box, string(id))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	links := uint64(st.Nlink)
	if tst, err := statAt(s.tmp, string(id)); err == nil && sameFile(tst, st) {
		links--
	}
	if err := unlinkAt(box, string(id)); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if links == 1 {
		s.messages.Add(-1)
	}
	return true, nil
}

func sameFile(a, b unix.Stat_t) bool { return a.Dev == b.Dev && a.Ino == b.Ino }
