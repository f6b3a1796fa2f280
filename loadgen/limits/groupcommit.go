package limits

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"powermail/impl/groupcommit"
	"time"

	"golang.org/x/sys/unix"
)

// groupCommitRate is the limit of the backends' write path (impl/store in
// flush mode syncfs) without any protocol: writers goroutines each create
// tmp/<n> (O_EXCL), write 4 KiB, close it, wait for a group flush, hard-link
// it into a mailbox directory, wait for the next group flush and remove
// the tmp name. A flush is one syncfs(2) shared by every writer that became
// ready while the previous one ran, as the store does it. Returns durable
// copies per second.
func groupCommitRate(ctx context.Context, dir string, writers int, d time.Duration) (float64, error) {
	tmp, box := filepath.Join(dir, "tmp"), filepath.Join(dir, "box")
	for _, p := range []string{tmp, box} {
		if err := os.MkdirAll(p, 0o700); err != nil {
			return 0, err
		}
	}
	root, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	g := &flushGroup{fd: int(root.Fd())}
	data := make([]byte, 4096)
	return parallel(ctx, writers, d, func(w, i int) error {
		name := fmt.Sprintf("%d-%d", w, i)
		f, err := os.OpenFile(filepath.Join(tmp, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = g.flush()
		}
		if err == nil {
			err = os.Link(filepath.Join(tmp, name), filepath.Join(box, name))
		}
		if err == nil {
			err = g.flush()
		}
		if err == nil {
			err = os.Remove(filepath.Join(tmp, name))
		}
		return err
	})
}

// flushGroup is the store's group commit: one syncfs at a time, shared by
// every caller that arrived while the previous one ran.
type flushGroup struct {
	fd int
	c  groupcommit.Coalescer
}

func (g *flushGroup) flush() error {
	_, err := g.c.Do(func() error { return unix.Syncfs(g.fd) })
	return err
}
