package store

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

var (
	alice = mailbox.MustParse("alice@example.com")
	bob   = mailbox.MustParse("bob@example.com")
	carol = mailbox.MustParse("carol@example.org")
	t0    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

var quiet = slog.New(slog.DiscardHandler)

// openAt opens a store at dir and closes it when the test ends.
func openAt(t testing.TB, dir string, opt Options) *Store {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet
	}
	s, err := Open(dir, opt)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func openTemp(t testing.TB) (*Store, string) {
	dir := t.TempDir()
	return openAt(t, dir, Options{}), dir
}

func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}

// prepare runs the first phase of a delivery.
func prepare(t testing.TB, s *Store, id msgid.ID, data []byte) {
	t.Helper()
	u, err := s.Begin(id)
	require.NoError(t, err)
	_, err = u.Write(data)
	require.NoError(t, err)
	require.NoError(t, u.Finish(int64(len(data)), Checksum(data)))
}

// deliver prepares and commits a fresh message and returns its id.
func deliver(t testing.TB, s *Store, data []byte, boxes ...mailbox.Name) msgid.ID {
	t.Helper()
	id, err := tryDeliver(s, data, boxes...)
	require.NoError(t, err)
	return id
}

// tryDeliver is deliver for goroutines, which must not call t.FailNow.
func tryDeliver(s *Store, data []byte, boxes ...mailbox.Name) (msgid.ID, error) {
	id := msgid.New(time.Now())
	u, err := s.Begin(id)
	if err != nil {
		return id, err
	}
	defer u.Cancel()
	if _, err := u.Write(data); err != nil {
		return id, err
	}
	if err := u.Finish(int64(len(data)), Checksum(data)); err != nil {
		return id, err
	}
	return id, s.Commit(id, boxes)
}

func readMessage(t testing.TB, s *Store, box mailbox.Name, id msgid.ID) []byte {
	t.Helper()
	f, size, err := s.OpenMessage(box, id)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	require.Equal(t, size, int64(len(b)))
	return b
}

// fileOf is the absolute path of message id in box under root dir.
func fileOf(dir string, box mailbox.Name, id msgid.ID) string {
	return filepath.Join(dir, filepath.FromSlash(messagePath(boxPath(box), id)))
}

func statOf(t testing.TB, p string) (os.FileInfo, uint64) {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	return fi, uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

func tmpNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, tmpDir))
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func ids(l mail.Listing) []msgid.ID {
	var out []msgid.ID
	for _, m := range l.Messages {
		out = append(out, m.ID)
	}
	return out
}
