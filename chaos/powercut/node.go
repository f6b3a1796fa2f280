package powercut

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// fsyncDataOnly is FUSE_FSYNC_FDATASYNC in fsync_flags: fdatasync(2).
const fsyncDataOnly = 1

// node is one inode of a mount: go-fuse's loopback node, which passes
// every operation to the backing directory, with the operations that
// change the namespace or make something durable also told to the model.
// Reads, writes, attributes and locks are the loopback's own.
type node struct {
	*fs.LoopbackNode
	disk *Disk
	gen  uint64        // the power cycle (mount) that made this node
	id   atomic.Uint64 // model inode, set by the operation that made the node
}

var (
	_ fs.NodeWrapChilder    = (*node)(nil)
	_ fs.NodeLookuper       = (*node)(nil)
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeLinker         = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
)

// WrapChild makes every node that the loopback creates one of ours.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), disk: n.disk, gen: n.gen}
}

func (n *node) ino() ino { return ino(n.id.Load()) }

func setIno(ch *fs.Inode, id ino) { ch.Operations().(*node).id.Store(uint64(id)) }

// begin takes the disk's lock for an operation of n. Holding it across the
// backing call and the model update keeps the model in the backing
// directory's order. A node of a mount that a cut has ended (a process
// that kept a file open across the cut) gets EIO: the power is gone. So
// does a node the model never named, which would be a bug here.
func (n *node) begin() (unlock func(), errno syscall.Errno) {
	n.disk.mu.Lock()
	if n.gen != n.disk.gen || n.ino() == 0 {
		n.disk.mu.Unlock()
		return nil, syscall.EIO
	}
	return n.disk.mu.Unlock, 0
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	unlock, errno := n.begin()
	if errno != 0 {
		return nil, errno
	}
	defer unlock()
	ch, errno := n.LoopbackNode.Lookup(ctx, name, out)
	if errno != 0 {
		return nil, errno
	}
	id, ok := n.disk.m.lookup(n.ino(), name)
	if !ok { // the backing directory was changed behind the mount's back
		return nil, syscall.EIO
	}
	setIno(ch, id)
	return ch, 0
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	unlock, errno := n.begin()
	if errno != 0 {
		return nil, nil, 0, errno
	}
	defer unlock()
	ch, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	n.made(ch, name, false, &out.Attr) // without O_EXCL, CREATE may open an old file
	return ch, fh, fuseFlags, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	unlock, errno := n.begin()
	if errno != 0 {
		return nil, errno
	}
	defer unlock()
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno != 0 {
		return nil, errno
	}
	n.made(ch, name, true, &out.Attr)
	return ch, 0
}

// made gives ch the model inode of name in n, adding one if name is new.
func (n *node) made(ch *fs.Inode, name string, isDir bool, a *fuse.Attr) {
	id, ok := n.disk.m.lookup(n.ino(), name)
	if !ok {
		mtime := time.Unix(int64(a.Mtime), int64(a.Mtimensec))
		id = n.disk.m.add(n.ino(), name, isDir, a.Mode&0o7777, mtime)
	}
	setIno(ch, id)
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	unlock, errno := n.begin()
	if errno != 0 {
		return nil, errno
	}
	defer unlock()
	ch, errno := n.LoopbackNode.Link(ctx, target, name, out)
	if errno != 0 {
		return nil, errno
	}
	id := target.(*node).ino()
	n.disk.m.link(n.ino(), name, id)
	setIno(ch, id)
	return ch, 0
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.removeWith(ctx, name, n.LoopbackNode.Unlink)
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.removeWith(ctx, name, n.LoopbackNode.Rmdir)
}

func (n *node) removeWith(ctx context.Context, name string, remove func(context.Context, string) syscall.Errno) syscall.Errno {
	unlock, errno := n.begin()
	if errno != 0 {
		return errno
	}
	defer unlock()
	if errno := remove(ctx, name); errno != 0 {
		return errno
	}
	n.disk.m.remove(n.ino(), name)
	return 0
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	unlock, errno := n.begin()
	if errno != 0 {
		return errno
	}
	defer unlock()
	if errno := n.LoopbackNode.Rename(ctx, name, newParent, newName, flags); errno != 0 {
		return errno
	}
	n.disk.m.rename(n.ino(), name, newParent.(*node).ino(), newName, flags)
	return 0
}

// Symlink and Mknod are refused: the model does not hold their contents,
// and the store makes neither.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// Fsync is FUSE_FSYNC (fsync and fdatasync of a file); go-fuse also sends
// FSYNCDIR here when the directory handle has no Fsyncdir of its own.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if n.IsDir() {
		return n.syncDir()
	}
	return n.syncFile(f, flags&fsyncDataOnly == 0)
}

// syncFile snapshots the file's data (and with attrs its mode and mtime)
// as what a cut keeps. It reads through the handle's descriptor, so a file
// that is open but no longer named can be synced too.
func (n *node) syncFile(f fs.FileHandle, attrs bool) syscall.Errno {
	lf, ok := f.(*fs.LoopbackFile)
	if !ok {
		return syscall.EBADF
	}
	fd, ok := lf.PassthroughFd() // the backing descriptor (FUSE passthrough itself is off)
	if !ok {
		return syscall.EBADF
	}
	unlock, errno := n.begin()
	if errno != 0 {
		return errno
	}
	defer unlock()
	st, err := n.disk.snapshot(fd, n.ino())
	if err != nil {
		return fs.ToErrno(err)
	}
	n.disk.m.syncFile(n.ino(), attrs, st.Mode&0o7777, time.Unix(st.Mtim.Unix()))
	n.disk.stats.FileSyncs++
	return 0
}

// syncDir makes the directory's current entries what a cut keeps.
func (n *node) syncDir() syscall.Errno {
	unlock, errno := n.begin()
	if errno != 0 {
		return errno
	}
	defer unlock()
	n.disk.m.syncDir(n.ino())
	n.disk.stats.DirSyncs++
	return 0
}

// OpendirHandle wraps the loopback's directory stream: go-fuse prefers a
// handle's Fsyncdir to the node's Fsync, and the loopback's would fsync
// the backing directory instead of telling the model.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fuseFlags, errno := n.LoopbackNode.OpendirHandle(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	ld, ok := fh.(loopbackDir)
	if !ok {
		return nil, 0, syscall.ENOTSUP
	}
	return &dirHandle{loopbackDir: ld, n: n}, fuseFlags, 0
}

// loopbackDir is what go-fuse asks of a directory handle, less Fsyncdir.
type loopbackDir interface {
	fs.FileReaddirenter
	fs.FileSeekdirer
	fs.FileReleasedirer
}

type dirHandle struct {
	loopbackDir
	n *node
}

var _ fs.FileFsyncdirer = (*dirHandle)(nil)

func (h *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno { return h.n.syncDir() }

// snapshot copies the data of the open backing file fd to objects/<id>,
// through a temporary name so that objects/<id> is always one whole
// snapshot, and returns the file's attributes. fd may be write-only, so
// the file is opened again for reading through /proc, which also works
// for a file that is open but no longer named.
func (d *Disk) snapshot(fd int, id ino) (unix.Stat_t, error) {
	var st unix.Stat_t
	src, err := os.Open(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return st, err
	}
	defer src.Close()
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return st, err
	}
	return st, writeAtomic(d.objectPath(id), src, st.Size)
}
