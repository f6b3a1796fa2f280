package store

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A recording file-system layer for the power-loss test (crash_test.go).
//
// Killing a process keeps the page cache, so it cannot test the order of
// fsyncs. This layer models what is durable instead: the store runs on a
// real directory, and every fsync it makes (through the fsync seam in
// seam.go) is recorded. At each fsync the layer keeps two images of the
// tree, keyed by inode (number and birth time) so that hard links stay
// links:
//
//   - durable: what a power cut at that instant leaves under the
//     pessimistic rule of POSIX and ext4 without a journal commit: a file's
//     bytes and metadata as of its last fsync (none if never fsynced), a
//     directory's entries as of its last fsync;
//   - current: everything as it is (what kill -9 leaves).
//
// A crash state is built from them: the durable image, the current one, or
// a seeded mix in which each directory and each file is independently
// durable or current (metadata written back early by a journal commit
// that another fsync forced, as ext4 and xfs do).

// ino identifies a file: its inode number and birth time. The number alone
// is not enough: the file system reuses the numbers of removed files (the
// mailbox directories that losing builders remove, say), and a new
// directory must not inherit the recorded entries of a dead one.
type ino struct {
	n    uint64
	born unix.StatxTimestamp
}

func (a ino) compare(b ino) int {
	return cmp.Or(cmp.Compare(a.n, b.n), cmp.Compare(a.born.Sec, b.born.Sec), cmp.Compare(a.born.Nsec, b.born.Nsec))
}

type fileImage struct {
	data  []byte
	mode  fs.FileMode
	mtime time.Time
}

type dirEntry struct {
	ino ino
	dir bool
}

// image is a tree by inode. Values are never changed in place, so images
// share them freely.
type image struct {
	root  ino
	files map[ino]fileImage
	dirs  map[ino]map[string]dirEntry
}

func (im *image) clone() *image {
	c := &image{root: im.root, files: make(map[ino]fileImage, len(im.files)), dirs: make(map[ino]map[string]dirEntry, len(im.dirs))}
	for k, v := range im.files {
		c.files[k] = v
	}
	for k, v := range im.dirs {
		c.dirs[k] = v
	}
	return c
}

// statIno identifies path relative to dirfd (with AT_EMPTY_PATH and "",
// dirfd itself) and tells whether it is a directory.
func statIno(dirfd int, path string, flags int) (ino, bool, error) {
	var st unix.Statx_t
	err := unix.Statx(dirfd, path, flags|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_INO|unix.STATX_BTIME|unix.STATX_TYPE, &st)
	if err == nil && st.Mask&unix.STATX_BTIME == 0 {
		err = errors.New("the file system does not report birth times")
	}
	if err != nil {
		return ino{}, false, &fs.PathError{Op: "statx", Path: path, Err: err}
	}
	return ino{n: st.Ino, born: st.Btime}, st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// readImage reads the whole tree under root as it is now.
func readImage(root string) (*image, error) {
	id, _, err := statIno(unix.AT_FDCWD, root, 0)
	if err != nil {
		return nil, err
	}
	im := &image{root: id, files: map[ino]fileImage{}, dirs: map[ino]map[string]dirEntry{}}
	return im, im.readDir(root, im.root)
}

func (im *image) readDir(path string, dir ino) error {
	ents, err := readEntries(path)
	if err != nil {
		return err
	}
	im.dirs[dir] = ents
	for name, e := range ents {
		p := filepath.Join(path, name)
		if e.dir {
			err = im.readDir(p, e.ino)
		} else if _, seen := im.files[e.ino]; !seen {
			var f fileImage
			if f, err = readFile(p, nil); err == nil {
				im.files[e.ino] = f
			}
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // removed meanwhile by a concurrent writer
			return err
		}
	}
	return nil
}

func readEntries(path string) (map[string]dirEntry, error) {
	des, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]dirEntry, len(des))
	for _, de := range des {
		id, dir, err := statIno(unix.AT_FDCWD, filepath.Join(path, de.Name()), 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir: a concurrent writer
		}
		if err != nil {
			return nil, err
		}
		out[de.Name()] = dirEntry{ino: id, dir: dir}
	}
	return out, nil
}

// readFile reads the file at path; fi, if given, is its metadata (path is
// then a /proc/self/fd link, which Lstat would describe instead).
func readFile(path string, fi fs.FileInfo) (fileImage, error) {
	if fi == nil {
		var err error
		if fi, err = os.Lstat(path); err != nil {
			return fileImage{}, err
		}
	}
	data, err := os.ReadFile(path)
	return fileImage{data: data, mode: fi.Mode().Perm(), mtime: fi.ModTime()}, err
}

// materialize writes im under dst (which must not exist). A file entry
// whose inode has no recorded content is created empty with the mode it
// has in like: its directory entry reached the disk, its data did not.
func (im *image) materialize(dst string, like *image) error {
	m := materializer{im: im, like: like, made: map[ino]string{}, visited: map[ino]bool{}}
	if err := os.Mkdir(dst, dirPerm); err != nil {
		return err
	}
	return m.dir(im.root, dst)
}

type materializer struct {
	im, like *image
	made     map[ino]string // file inode -> first path, for hard links
	visited  map[ino]bool   // directory inodes, so a moved directory is not made twice
}

func (m *materializer) dir(dir ino, path string) error {
	m.visited[dir] = true
	ents := m.im.dirs[dir]
	names := make([]string, 0, len(ents))
	for n := range ents {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := m.entry(ents[name], filepath.Join(path, name)); err != nil {
			return err
		}
	}
	return nil
}

func (m *materializer) entry(e dirEntry, p string) error {
	switch {
	case e.dir && m.visited[e.ino]:
		return nil
	case e.dir:
		if err := os.Mkdir(p, dirPerm); err != nil {
			return err
		}
		return m.dir(e.ino, p)
	case m.made[e.ino] != "":
		return os.Link(m.made[e.ino], p)
	}
	f, ok := m.im.files[e.ino]
	if !ok {
		f = fileImage{mode: m.like.files[e.ino].mode, mtime: time.Now()}
	}
	if err := os.WriteFile(p, f.data, 0o600); err != nil {
		return err
	}
	m.made[e.ino] = p
	if err := os.Chmod(p, f.mode); err != nil {
		return err
	}
	return os.Chtimes(p, f.mtime, f.mtime)
}

// crashPoint is the instant just before one fsync (or after the last).
type crashPoint struct {
	durable, current *image
	// events were logged before the images were read, eventsAfter by the
	// time they had been read: with concurrent callers, operations logged
	// in between may or may not show in the current image.
	events, eventsAfter int
}

// state returns the crash state of a variant: 0 durable, 1 current,
// others a mix seeded by the variant number.
func (p crashPoint) state(variant int) *image {
	switch variant {
	case 0:
		return p.durable
	case 1:
		return p.current
	}
	rng := rand.New(rand.NewPCG(uint64(variant), uint64(p.events)))
	mix := p.durable.clone()
	for _, k := range sortedKeys(p.current.dirs) {
		if rng.IntN(2) == 0 {
			mix.dirs[k] = p.current.dirs[k]
		}
	}
	for _, k := range sortedKeys(p.current.files) {
		if rng.IntN(2) == 0 {
			mix.files[k] = p.current.files[k]
		}
	}
	return mix
}

func sortedKeys[V any](m map[ino]V) []ino {
	keys := make([]ino, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, ino.compare)
	return keys
}

// recorder replaces the flush seams while a workload runs. The skip
// switches make a deliberately broken store, to show that the check catches
// it.
type recorder struct {
	root   string
	events func() int // length of the workload's log, read at each flush

	mu           sync.Mutex // concurrent flushes: Commit syncs its mailbox directories in parallel
	durable      *image
	points       []crashPoint
	skipDirSync  bool
	skipFileSync bool
	skipSyncfs   bool
	err          error // first failure to read the tree
}

// record starts recording flushes of the store at root. The store was just
// opened: Open's syncfs made the whole tree durable, so it is the base.
func record(t *testing.T, root string, events func() int) *recorder {
	base, err := readImage(root)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{root: root, durable: base, events: events}
	origFsync, origSyncfs := fsync, syncfs
	fsync, syncfs = r.fsync, r.syncfs
	t.Cleanup(func() { fsync, syncfs = origFsync, origSyncfs })
	return r
}

// stop ends the recording with a last crash point after everything.
func (r *recorder) stop(t *testing.T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addPoint()
	fsync, syncfs = unix.Fsync, unix.Syncfs
	if r.err != nil {
		t.Fatal(r.err)
	}
}

// addPoint notes a crash point. The caller holds r.mu.
func (r *recorder) addPoint() {
	events := r.events()
	cur, err := readImage(r.root)
	if err != nil && r.err == nil {
		r.err = err
	}
	r.points = append(r.points, crashPoint{durable: r.durable, current: cur, events: events, eventsAfter: r.events()})
}

var errSkipped = errors.New("fsync skipped by the broken-store switch")

// fsync records, then syncs. The durable image is updated before the real
// fsync returns; that can only make a crash point's image more complete for
// operations still in flight, never for acknowledged ones, which are
// logged after their fsync returned.
func (r *recorder) fsync(fd int) error {
	switch err := r.recordSync(fd); err {
	case nil:
		return unix.Fsync(fd)
	case errSkipped:
		return nil // the broken store: the fsync "succeeds", nothing becomes durable
	default:
		return err
	}
}

// syncfs records the whole tree as durable (the broken-store switches
// apply to per-file fsyncs only), then syncs.
func (r *recorder) syncfs(fd int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addPoint()
	cur := r.points[len(r.points)-1].current
	switch {
	case cur == nil:
		return r.err
	case r.skipSyncfs:
		return nil // the broken store: the flush "succeeds", nothing becomes durable
	}
	r.durable = cur
	return unix.Syncfs(fd)
}

func (r *recorder) recordSync(fd int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addPoint()
	self := fmt.Sprintf("/proc/self/fd/%d", fd)
	fi, err := os.Stat(self)
	if err != nil {
		return err
	}
	id, _, err := statIno(fd, "", unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	next := r.durable.clone()
	switch {
	case fi.IsDir() && r.skipDirSync, !fi.IsDir() && r.skipFileSync:
		return errSkipped
	case fi.IsDir():
		next.dirs[id], err = readEntries(self)
	default:
		next.files[id], err = readFile(self, fi)
	}
	if err != nil {
		return err
	}
	r.durable = next
	return nil
}
