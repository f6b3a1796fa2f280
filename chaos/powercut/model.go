package powercut

import (
	"maps"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// ino names an inode of the model. Unlike the backing file system's inode
// numbers it is never reused and it survives a cut: the durable image
// refers to inodes by it, and objects/<ino> holds a file's synced data.
type ino uint64

const rootIno ino = 1

func (i ino) String() string { return strconv.FormatUint(uint64(i), 10) }

// inode is what the model knows of one file or directory.
type inode struct {
	isDir bool
	// live is a directory's entries now: it mirrors the backing directory.
	live map[string]ino
	// durable is a directory's entries as of its last fsync: what a cut
	// keeps. nil until the first fsync (a cut keeps no entry).
	durable map[string]ino
	// Of the inode itself a cut keeps the mode and mtime it had at
	// creation or at its last fsync, and the data of its last fsync or
	// fdatasync (objects/<ino> when synced; an empty file otherwise).
	mode   uint32
	mtime  time.Time
	synced bool
}

// model is the namespace and what of it is durable. Its methods do no I/O
// and take no lock: the Disk calls them under its mutex, right after the
// backing file system accepted the same operation, so live mirrors the
// backing directory exactly.
type model struct {
	next   ino
	inodes map[ino]*inode
}

func newModel() *model {
	root := &inode{isDir: true, live: map[string]ino{}, mode: 0o755}
	return &model{next: rootIno + 1, inodes: map[ino]*inode{rootIno: root}}
}

// lookup returns the inode that name in dir refers to now.
func (m *model) lookup(dir ino, name string) (ino, bool) {
	id, ok := m.inodes[dir].live[name]
	return id, ok
}

// add records a new file or directory made by create or mkdir. Its
// attributes are durable from the start (the inode exists once any name
// of it does); its name is not.
func (m *model) add(dir ino, name string, isDir bool, mode uint32, mtime time.Time) ino {
	id := m.next
	m.next++
	n := &inode{isDir: isDir, mode: mode, mtime: mtime}
	if isDir {
		n.live = map[string]ino{}
	}
	m.inodes[id] = n
	m.inodes[dir].live[name] = id
	return id
}

// link records a new name for an existing inode (link(2)).
func (m *model) link(dir ino, name string, id ino) { m.inodes[dir].live[name] = id }

// remove records unlink(2) or rmdir(2). The inode stays known: a durable
// entry may still name it, and a cut then brings it back.
func (m *model) remove(dir ino, name string) { delete(m.inodes[dir].live, name) }

// rename records rename(2) with renameat2 flags (RENAME_NOREPLACE only
// makes it fail, which the backing file system has already checked).
func (m *model) rename(from ino, oldName string, to ino, newName string, flags uint32) {
	src, dst := m.inodes[from].live, m.inodes[to].live
	moved, replaced := src[oldName], dst[newName]
	if flags&unix.RENAME_EXCHANGE != 0 {
		src[oldName], dst[newName] = replaced, moved
		return
	}
	if replaced == moved && moved != 0 { // two names of one file: rename(2) does nothing
		return
	}
	delete(src, oldName)
	dst[newName] = moved
}

// syncDir makes dir's current entries durable (fsync of the directory).
func (m *model) syncDir(dir ino) { m.inodes[dir].durable = maps.Clone(m.inodes[dir].live) }

// syncFile records that objects/<id> holds id's data; with attrs (fsync,
// not fdatasync) also its mode and mtime.
func (m *model) syncFile(id ino, attrs bool, mode uint32, mtime time.Time) {
	n := m.inodes[id]
	n.synced = true
	if attrs {
		n.mode, n.mtime = mode, mtime
	}
}
