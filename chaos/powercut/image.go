package powercut

import (
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// image writes the durable state of m into dir, a new empty directory,
// and makes it the live state: afterwards every directory's live entries
// are its durable ones. It walks the durable names breadth-first from the
// root, in name order, so the same model always gives the same image.
// Inodes that no durable name reaches are forgotten; image returns them so
// that their objects can be removed.
func (m *model) image(dir, objects string) (forgotten []ino, err error) {
	placed := map[ino]string{rootIno: dir}
	queue := []ino{rootIno}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		n := m.inodes[id]
		kept := map[string]ino{}
		for _, name := range slices.Sorted(maps.Keys(n.durable)) {
			child := n.durable[name]
			ok, err := m.place(child, filepath.Join(placed[id], name), placed, objects)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if m.inodes[child].isDir {
				queue = append(queue, child)
			}
			kept[name] = child
		}
		n.durable, n.live = kept, maps.Clone(kept)
	}
	for id := range m.inodes {
		if _, ok := placed[id]; !ok {
			delete(m.inodes, id)
			forgotten = append(forgotten, id)
		}
	}
	return forgotten, nil
}

// place creates path as inode id: a directory, the first name of a file
// (its synced data, or empty), or a hard link to a file placed before. A
// directory reached under a second name is not placed (ok false): the
// strict model can make a renamed directory durable in its old and its new
// parent, a real file system cannot show it twice, and fsck keeps one.
func (m *model) place(id ino, path string, placed map[ino]string, objects string) (ok bool, err error) {
	n := m.inodes[id]
	first, seen := placed[id]
	switch {
	case seen && n.isDir:
		return false, nil
	case seen:
		return true, os.Link(first, path)
	case n.isDir:
		err = os.Mkdir(path, 0o700)
	default:
		err = placeFile(path, filepath.Join(objects, id.String()), n.synced)
	}
	if err == nil {
		err = os.Chmod(path, os.FileMode(n.mode&0o777)) // permission bits only: the store uses no others
	}
	if err == nil && !n.isDir {
		err = os.Chtimes(path, n.mtime, n.mtime)
	}
	placed[id] = path
	return err == nil, err
}

// placeFile creates path with the data of object (when synced) or empty.
func placeFile(path, object string, synced bool) error {
	if !synced {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		return f.Close()
	}
	src, err := os.Open(object)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	return writeAtomic(path, src, st.Size())
}

// writeAtomic writes the first size bytes of src to path through a
// temporary name in the same directory, so path is never partly written.
func writeAtomic(path string, src io.ReaderAt, size int64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, io.NewSectionReader(src, 0, size))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
