package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// fsyncCounts reads the fsync counters (file, dir).
func fsyncCounts() (file, dir float64) {
	return testutil.ToFloat64(fsyncs.WithLabelValues(kindFile)), testutil.ToFloat64(fsyncs.WithLabelValues(kindDir))
}

// fsyncsDuring returns how many file and directory fsyncs fn caused.
func fsyncsDuring(fn func()) (file, dir int) {
	f0, d0 := fsyncCounts()
	fn()
	f1, d1 := fsyncCounts()
	return int(f1 - f0), int(d1 - d0)
}

// The fsync sequence of the package doc, counted. These tests must not run
// in parallel with others: the counters are global.
func TestFsyncSequence(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{Flush: FlushFsync})
	var id msgid.ID
	file, dir := fsyncsDuring(func() { id = deliver(t, s, body(10), alice) })
	// New mailbox: name file + message; mbox/ (for xx/), xx/ (for yy/),
	// the box being built, yy/ (for the box), the box (for the link).
	assert.Equal(t, [2]int{2, 5}, [2]int{file, dir}, "first delivery")

	file, dir = fsyncsDuring(func() { deliver(t, s, body(10), alice) })
	assert.Equal(t, [2]int{1, 1}, [2]int{file, dir}, "delivery to an existing mailbox")

	file, dir = fsyncsDuring(func() { require.NoError(t, s.Commit(id, []mailbox.Name{alice})) })
	assert.Equal(t, [2]int{0, 1}, [2]int{file, dir}, "re-commit fsyncs the directory again")

	file, dir = fsyncsDuring(func() { require.NoError(t, s.Delete(alice, id, t0)) })
	assert.Equal(t, [2]int{1, 2}, [2]int{file, dir}, "delete: tombstone file, dir, unlink, dir")
}

// flushesDuring returns how many group flushes (syncfs) fn caused.
func flushesDuring(fn func()) int {
	f0 := testutil.ToFloat64(flushRounds)
	fn()
	return int(testutil.ToFloat64(flushRounds) - f0)
}

// The same sequence under group commit: one flush where the fsync mode
// needs a file and a directory fsync, and none per file.
func TestSyncfsSequence(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{Flush: FlushSyncfs})
	var id msgid.ID
	var file, dir int
	n := flushesDuring(func() { file, dir = fsyncsDuring(func() { id = deliver(t, s, body(10), alice) }) })
	assert.Equal(t, [2]int{0, 0}, [2]int{file, dir}, "no fsync of single files or directories")
	// mbox/ (for xx/), xx/ (for yy/), the box being built, yy/ (for the
	// box), then the prepare and the commit.
	assert.Equal(t, 6, n, "first delivery")
	assert.Equal(t, 2, flushesDuring(func() { deliver(t, s, body(10), alice) }), "delivery: prepare, commit")
	assert.Equal(t, 1, flushesDuring(func() { require.NoError(t, s.Commit(id, []mailbox.Name{alice})) }), "re-commit")
	assert.Equal(t, 2, flushesDuring(func() { require.NoError(t, s.Delete(alice, id, t0)) }), "delete: tombstone, unlink")
}

func TestConcurrentFirstDeliveriesCreateOneMailbox(t *testing.T) {
	s, dir := openTemp(t)
	var wg sync.WaitGroup
	for range raceWriters {
		wg.Go(func() {
			_, err := tryDeliver(s, body(10), alice)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	st, _ := s.Status()
	assert.Equal(t, 1, st.Mailboxes)
	assert.EqualValues(t, raceWriters, st.Messages)
	assert.Empty(t, tmpNames(t, dir), "losing builders cleaned up")
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Len(t, l.Messages, raceWriters)
}

func TestFullDiskIsErrNoSpace(t *testing.T) {
	err := noSpace(fmt.Errorf("write: %w", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}))
	assert.ErrorIs(t, err, ErrNoSpace)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.NotErrorIs(t, noSpace(syscall.EIO), ErrNoSpace)
}

func TestMailboxesSkipsCorruptNameFile(t *testing.T) {
	s, dir := openTemp(t)
	deliver(t, s, body(1), alice, bob)
	// bob's name file now names a mailbox that does not hash to its directory.
	p := filepath.Join(dir, filepath.FromSlash(boxPath(bob)), nameFile)
	require.NoError(t, os.WriteFile(p, []byte("mallory@example.com\n"), filePerm))
	names, err := s.Mailboxes()
	require.NoError(t, err)
	assert.Equal(t, []mailbox.Name{alice}, names)
}

// Under FlushFsync nothing that existed before Open is trusted: the first
// delivery to an existing mailbox after a restart makes the entries naming
// its directory durable (mbox/ for xx/, xx/ for yy/, yy/ for the box), then
// commits as usual; later ones do not repeat it.
func TestFsyncModeVerifiesDirectoriesFromBeforeOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Flush: FlushFsync, Logger: quiet})
	require.NoError(t, err)
	deliver(t, s, body(10), alice)
	require.NoError(t, s.Close())

	s = openAt(t, dir, Options{Flush: FlushFsync})
	_, d := fsyncsDuring(func() { deliver(t, s, body(10), alice) })
	assert.Equal(t, 3+1, d, "three entries verified, then the commit's directory")
	_, d = fsyncsDuring(func() { deliver(t, s, body(10), alice) })
	assert.Equal(t, 1, d)
}
