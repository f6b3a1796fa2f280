package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// slowSyncfs replaces the syncfs seam for a test: each flush is counted
// when it starts and when it ends, takes a while (so that writers pile up
// behind it), and fails with EIO while fail is set.
type slowSyncfs struct {
	started, finished atomic.Int64
	fail              atomic.Bool
}

func installSlowSyncfs(t *testing.T) *slowSyncfs {
	f := &slowSyncfs{}
	orig := syncfs
	syncfs = func(fd int) error {
		f.started.Add(1)
		defer f.finished.Add(1)
		time.Sleep(2 * time.Millisecond)
		if f.fail.Load() {
			return unix.EIO
		}
		return unix.Syncfs(fd)
	}
	t.Cleanup(func() { syncfs = orig })
	return f
}

// No writer is told "durable" before a flush that started after its write
// has ended, however many writers share the flushes.
func TestNoReplyBeforeTheFlushThatCoversIt(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{Flush: FlushSyncfs})
	f := installSlowSyncfs(t)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	var early atomic.Int32
	for w := range writers {
		box := mailbox.MustParse(fmt.Sprintf("w%d@example.com", w))
		wg.Go(func() {
			for range each {
				id := msgid.New(time.Now())
				data := body(100)
				u, err := s.Begin(id)
				if !assert.NoError(t, err) {
					return
				}
				_, err = u.Write(data)
				assert.NoError(t, err)
				written := f.started.Load() // flushes begun before the write ended
				assert.NoError(t, u.Finish(int64(len(data)), Checksum(data)))
				if f.finished.Load() <= written {
					early.Add(1)
				}
				written = f.started.Load()
				assert.NoError(t, s.Commit(id, []mailbox.Name{box}))
				if f.finished.Load() <= written {
					early.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, early.Load(), "replies before the flush that covers them")
	rounds := f.started.Load()
	t.Logf("%d prepares and commits, %d flushes", 2*writers*each, rounds)
	assert.Less(t, rounds, int64(2*writers*each), "writers shared flushes")
}

// A flush that fails fails every member of its batch: none is told
// prepared or committed, none is listed later, and nothing is left in tmp/.
func TestFailedFlushFailsTheWholeBatch(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{Flush: FlushSyncfs})
	deliver(t, s, body(10), alice) // the mailbox exists: only message flushes follow
	f := installSlowSyncfs(t)
	f.fail.Store(true)
	const writers = 8
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range writers {
		wg.Go(func() {
			if _, err := tryDeliver(s, body(100), alice); err == nil {
				ok.Add(1)
			} else {
				assert.ErrorIs(t, err, unix.EIO)
			}
		})
	}
	wg.Wait()
	assert.Zero(t, ok.Load(), "a delivery succeeded although every flush failed")
	f.fail.Store(false)
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Len(t, l.Messages, 1, "only the message from before the failures")
	assert.Empty(t, tmpNames(t, dir))
}

// failWriteback replaces the write-back check's seam: it reports EIO for
// every file while fail is set, as the kernel does for a file whose pages
// a flush of another batch failed to write (writebackError).
func failWriteback(t *testing.T) *atomic.Bool {
	var fail atomic.Bool
	orig := syncFileRange
	syncFileRange = func(fd int, off, n int64, flags int) error {
		if fail.Load() {
			return unix.EIO
		}
		return orig(fd, off, n, flags)
	}
	t.Cleanup(func() { syncFileRange = orig })
	return &fail
}

// A group flush that succeeds does not make a file durable whose own
// write-back failed (the error went to an earlier flush's batch): the
// upload fails, and so does a new mailbox whose name file was lost; nothing
// of either is listed, and the store works on once the disk does.
func TestLostWritebackFailsTheWriterDespiteTheFlush(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{Flush: FlushSyncfs})
	deliver(t, s, body(10), alice)
	fail := failWriteback(t)
	fail.Store(true)

	_, err := tryDeliver(s, body(100), alice)
	assert.ErrorIs(t, err, unix.EIO, "upload to an existing mailbox")
	fail.Store(false)
	id := msgid.New(time.Now())
	prepare(t, s, id, body(100))
	fail.Store(true) // now only the new mailbox's name file is written
	bob := mailbox.MustParse("bob@example.com")
	assert.ErrorIs(t, s.Commit(id, []mailbox.Name{bob}), unix.EIO, "first message of a new mailbox")
	require.NoError(t, s.Abort(id, nil))

	fail.Store(false)
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Len(t, l.Messages, 1, "only the message from before the failure")
	assert.Empty(t, tmpNames(t, dir))
	deliver(t, s, body(10), bob)
	l, err = s.List(bob)
	require.NoError(t, err)
	assert.Len(t, l.Messages, 1)
}

// Under FlushFsync the file's own fsync reports its write-back errors, so
// the extra check is not made.
func TestWritebackCheckOnlyUnderSyncfs(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{Flush: FlushFsync})
	fail := failWriteback(t)
	fail.Store(true)
	deliver(t, s, body(10), alice)
}
