package store

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The hot paths (Begin, Commit, OpenMessage, Delete) do not walk paths: an
// os.Root opens every level of a path on each call (an openat and a close
// per level, ~20 system calls per delivery), which cost about half of a
// backend's CPU. Instead, a directory is opened once, with openat2(2) and
// RESOLVE_BENEATH from the root's descriptor, so the kernel itself refuses
// any path that would leave the root (through "..", a symlink or a mount
// point), and is kept in a bounded cache. Files are then created, linked,
// stat'ed and removed relative to that handle, by a single name that is
// never a path (component checks it). The cold paths (startup recovery,
// walking every mailbox) keep using the os.Root.

// maxCachedDirs bounds the directory handles kept open (one descriptor
// each). Mailboxes beyond it are reopened on use, one openat2 each.
const maxCachedDirs = 1024

// openFlags for every directory handle.
const dirOpenFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC

// resolveBeneath: no "..", absolute path, symlink or mount crossing may
// take the lookup out of (or around) the root.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS |
	unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV

// component panics unless name is one path component: the *at helpers take
// names built by layout.go from hex digits, and a slash in one would be a
// bug that walks around the RESOLVE_BENEATH check.
func component(name string) string {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		panic(fmt.Sprintf("store: %q is not a single path component", name))
	}
	return name
}

// dirHandle is an open directory below the root. Its descriptor stays valid
// while refs > 0; the cache closes it only when nobody holds it.
type dirHandle struct {
	fd   int
	path string
	refs int           // under dirCache.mu
	elem *list.Element // position in dirCache.lru while cached
	// verified: this process knows the directory's entry in its parent is
	// durable (FlushFsync; see Store.verifyBox).
	verified atomic.Bool
}

// dirCache hands out directory handles by path, keeping the most recently
// used ones open. The zero value is not usable; see newDirCache.
type dirCache struct {
	rootFd int
	max    int

	mu  sync.Mutex
	m   map[string]*dirHandle
	lru list.List // *dirHandle, most recently used at the front
}

func newDirCache(rootFd, max int) *dirCache {
	return &dirCache{rootFd: rootFd, max: max, m: make(map[string]*dirHandle)}
}

// get returns the handle of path (relative to the root), opening it if it
// is not cached; the caller must put it back. A missing directory is
// fs.ErrNotExist and is not cached.
func (c *dirCache) get(path string) (*dirHandle, error) {
	c.mu.Lock()
	if h := c.m[path]; h != nil {
		h.refs++
		c.lru.MoveToFront(h.elem)
		c.mu.Unlock()
		return h, nil
	}
	c.mu.Unlock()
	fd, err := openBeneath(c.rootFd, path, dirOpenFlags)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h := c.m[path]; h != nil { // opened meanwhile by another caller
		unix.Close(fd)
		h.refs++
		c.lru.MoveToFront(h.elem)
		return h, nil
	}
	h := &dirHandle{fd: fd, path: path, refs: 1}
	h.elem = c.lru.PushFront(h)
	c.m[path] = h
	c.evict()
	return h, nil
}

// put releases a handle from get.
func (c *dirCache) put(h *dirHandle) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h.refs--
	if h.elem == nil && h.refs == 0 { // evicted while in use
		unix.Close(h.fd)
	}
}

// evict drops the least recently used handles beyond max; a handle in use
// is closed by its last put. The caller holds c.mu.
func (c *dirCache) evict() {
	for c.lru.Len() > c.max {
		h := c.lru.Remove(c.lru.Back()).(*dirHandle)
		h.elem = nil
		delete(c.m, h.path)
		if h.refs == 0 {
			unix.Close(h.fd)
		}
	}
}

// close closes every cached handle; none may be in use.
func (c *dirCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.m {
		unix.Close(h.fd)
	}
	c.m = nil
	c.lru.Init()
}

// openBeneath opens path below the directory rootFd, refusing any lookup
// that would leave it. Kernels before 5.6 lack openat2; the store then
// refuses to open rather than fall back to an unchecked walk.
func openBeneath(rootFd int, path string, flags int) (int, error) {
	for {
		fd, err := unix.Openat2(rootFd, path, &unix.OpenHow{Flags: uint64(flags), Resolve: resolveBeneath})
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return -1, &os.PathError{Op: "openat2", Path: path, Err: err}
		}
		return fd, nil
	}
}

// The helpers below act on one name in a directory handle, with the error
// wrapped as a *os.PathError naming the path below the root.

func pathErr(op string, h *dirHandle, name string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: h.path + "/" + name, Err: err}
}

// createAt creates name in h exclusively (O_EXCL) for writing.
func createAt(h *dirHandle, name string, perm uint32) (int, error) {
	fd, err := unix.Openat(h.fd, component(name), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, perm)
	return fd, pathErr("create", h, name, err)
}

// openFileAt opens name in h for reading; a symlink is refused.
func openFileAt(h *dirHandle, name string) (int, error) {
	fd, err := unix.Openat(h.fd, component(name), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	return fd, pathErr("open", h, name, err)
}

// statAt stats name in h without following a symlink.
func statAt(h *dirHandle, name string) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstatat(h.fd, component(name), &st, unix.AT_SYMLINK_NOFOLLOW)
	return st, pathErr("stat", h, name, err)
}

// existsAt reports whether name exists in h. Errors other than "does not
// exist" count as existing, so that the caller goes on to the operation and
// gets the real error there.
func existsAt(h *dirHandle, name string) bool {
	_, err := statAt(h, name)
	return !errors.Is(err, unix.ENOENT)
}

// linkAt makes a hard link dst/name of src/name (never following a symlink).
func linkAt(src *dirHandle, dst *dirHandle, name string) error {
	return pathErr("link", dst, name, unix.Linkat(src.fd, component(name), dst.fd, name, 0))
}

func unlinkAt(h *dirHandle, name string) error {
	return pathErr("unlink", h, name, unix.Unlinkat(h.fd, component(name), 0))
}

func mkdirAt(h *dirHandle, name string, perm uint32) error {
	return pathErr("mkdir", h, name, unix.Mkdirat(h.fd, component(name), perm))
}

func renameAt(src *dirHandle, oldName string, dst *dirHandle, newName string) error {
	return pathErr("rename", dst, newName, unix.Renameat(src.fd, component(oldName), dst.fd, component(newName)))
}

// writeAll writes p to fd, continuing after short writes.
func writeAll(fd int, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Write(fd, p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
