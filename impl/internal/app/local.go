package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"powermail/impl/config"
	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
	"powermail/impl/store"
)

// Local stores: a powerpop on the same host as some backends can read
// their store directories itself (key local-stores = addr=dir,...). LIST
// and RETR of those backends then cost no round trip to a pplistener, and
// the message goes from the page cache to the client with one copy (or
// sendfile for a large one), as a one-hop server's would. Writes (DELE's
// tombstones) still go through the backend, which owns the store; so does
// everything when the directory cannot be read. The pplistener's user must
// let powerpop's read the directories (group read).

// localStores maps backend addresses to readers of their stores.
type localStores map[string]*store.Reader

// openLocalStores opens each addr=dir of spec.
func openLocalStores(spec []string, log *slog.Logger) (localStores, error) {
	out := localStores{}
	for _, kv := range spec {
		addr, dir, ok := strings.Cut(kv, "=")
		if !ok || addr == "" || dir == "" {
			out.close()
			return nil, config.Errorf("local-stores", "%q: want backend-address=store-directory", kv)
		}
		r, err := store.OpenReader(dir, log)
		if err != nil {
			out.close()
			return nil, config.Errorf("local-stores", "%v", err)
		}
		out[addr] = r
	}
	return out, nil
}

func (l localStores) close() {
	for _, r := range l {
		r.Close()
	}
}

// localBackend reads from the store directory and writes through the backend.
type localBackend struct {
	NodeAdapter
	r *store.Reader
}

// List reads the mailbox directory.
func (b localBackend) List(_ context.Context, box mailbox.Name) (mail.Listing, error) {
	l, err := b.r.List(box)
	if err != nil {
		return mail.Listing{}, fmt.Errorf("local store of %s: %w", b.Name(), err)
	}
	return l, nil
}

// smallMessageBytes: a message up to this size is read into memory and
// written to w (it then joins the POP3 reply in one write); a larger one is
// copied file to socket (sendfile) through w's ReadFrom.
const smallMessageBytes = 64 << 10

var messageBuffers = sync.Pool{New: func() any { b := make([]byte, smallMessageBytes); return &b }}

// Get writes message id to w. An error writing to w is a
// *ppclient.DestinationError, as the network client reports it.
func (b localBackend) Get(_ context.Context, box mailbox.Name, id msgid.ID, w io.Writer) (int64, error) {
	f, size, err := b.r.OpenMessage(box, id)
	if err != nil {
		return 0, fmt.Errorf("local store of %s: %w", b.Name(), err)
	}
	defer f.Close()
	if size > smallMessageBytes {
		return copyLarge(w, f, size)
	}
	bp := messageBuffers.Get().(*[]byte)
	defer messageBuffers.Put(bp)
	buf := (*bp)[:size]
	if _, err := io.ReadFull(f, buf); err != nil {
		return 0, fmt.Errorf("local store of %s: %w", b.Name(), err)
	}
	n, err := w.Write(buf)
	if err != nil {
		return int64(n), &ppclient.DestinationError{Err: err}
	}
	return int64(n), nil
}

// copyLarge copies size bytes of f to w; a short file is an error of the
// store, anything else one of w (the client), since reading a local file
// that is open does not fail short of a disk error.
func copyLarge(w io.Writer, f *os.File, size int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(f, size))
	switch {
	case err != nil:
		return n, &ppclient.DestinationError{Err: err}
	case n < size:
		return n, io.ErrUnexpectedEOF
	}
	return n, nil
}
