package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

var errNoBoxes = errors.New("store: no mailboxes given")

// Commit links prepared message id into each of boxes and returns after
// every mailbox directory touched is fsynced; the tmp name is removed after.
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
	src, fromTmp, boxLinks, err := s.commitSource(id, boxes)
	if err != nil {
		return err
	}
	failBeforeLink()
	dirs, err := s.linkAll(id, src, boxLinks == 0, boxes)
	if err != nil {
		return err
	}
	failBeforeDirSync()
	if len(dirs) > 0 {
		if err := s.syncDirs(dirs); err != nil {
			return err
		}
	}
	if fromTmp {
		// Not fsynced: if the removal is lost in a crash, Open removes it.
		if err := s.root.Remove(src); err != nil {
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

// commitSource finds the file to link: tmp/<id>, else a link of id already
// in one of boxes (a repeated or extended commit). It also returns how many
// mailbox links that file has: its link count, less the tmp name.
func (s *Store) commitSource(id msgid.ID, boxes []mailbox.Name) (src string, fromTmp bool, boxLinks uint64, err error) {
	if fi, err := s.root.Lstat(tmpPath(id)); err == nil {
		if !isPrepared(fi) { // a COMMIT racing its own upload: never link a partial file
			return "", false, 0, fmt.Errorf("%w: %s: upload not finished", ErrNotPrepared, id)
		}
		return tmpPath(id), true, nlink(fi) - 1, nil
	}
	for _, b := range boxes {
		p := messagePath(boxPath(b), id)
		if fi, err := s.root.Lstat(p); err == nil {
			return p, false, nlink(fi), nil
		}
	}
	return "", false, 0, fmt.Errorf("%w: %s", ErrNotPrepared, id)
}

// linkAll links src into every box without a tombstone for id and returns
// the directories to fsync. A box that already holds id is fsynced too: the
// earlier commit that linked it may have failed before its fsync. fresh
// reports that src had no mailbox link before.
func (s *Store) linkAll(id msgid.ID, src string, fresh bool, boxes []mailbox.Name) ([]string, error) {
	var dirs []string
	linked := 0
	defer func() { // also after an error: the links made so far exist
		if fresh && linked > 0 {
			s.messages.Add(1)
		}
	}()
	for k, b := range boxes {
		box, err := s.ensureBox(b)
		if err != nil {
			return nil, err
		}
		if s.exists(tombPath(box, id)) {
			continue
		}
		err = s.root.Link(src, messagePath(box, id))
		switch {
		case err == nil:
			linked++
			failBetweenLinks(k < len(boxes)-1)
		case !errors.Is(err, fs.ErrExist):
			return nil, noSpace(fmt.Errorf("store: commit %s: %w", id, err))
		}
		dirs = append(dirs, box)
	}
	return dirs, nil
}

func nlink(fi os.FileInfo) uint64 {
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

// Abort removes everything of message id: the tmp file and its links in
// boxes (each directory fsynced). Missing pieces are not an error, so a
// retried abort succeeds. Allowed in read-only mode: it frees space.
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
	if err := s.root.Remove(tmpPath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: abort %s: %w", id, err)
	}
	var dirs []string
	for _, b := range boxes {
		box := boxPath(b)
		removed, err := s.unlinkMessage(box, id)
		if err != nil {
			return err
		}
		if removed {
			dirs = append(dirs, box)
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	return s.syncDirs(dirs)
}

// unlinkMessage removes the link of id in box, if any, and keeps the message
// count: the count drops when the last mailbox link of the file goes. The
// caller holds the id lock and fsyncs box.
func (s *Store) unlinkMessage(box string, id msgid.ID) (bool, error) {
	p := messagePath(box, id)
	fi, err := s.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	links := nlink(fi)
	if tfi, err := s.root.Lstat(tmpPath(id)); err == nil && os.SameFile(tfi, fi) {
		links--
	}
	if err := s.root.Remove(p); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if links == 1 {
		s.messages.Add(-1)
	}
	return true, nil
}
