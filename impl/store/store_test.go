package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

func TestDeliverThenGetReturnsSameBytes(t *testing.T) {
	s, _ := openTemp(t)
	data := body(4096)
	id := deliver(t, s, data, alice)

	assert.Equal(t, data, readMessage(t, s, alice, id))
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Equal(t, []mail.Entry{{ID: id, Size: 4096}}, l.Messages)
	assert.Empty(t, l.Tombstones)

	_, _, err = s.OpenMessage(bob, id)
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestCrashLeftoversRemovedCommittedSurvive(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	committed := deliver(t, s, body(100), alice)
	preparedID := msgid.New(t0)
	prepare(t, s, preparedID, body(200))
	partial, err := s.Begin(msgid.New(t0.Add(time.Millisecond)))
	require.NoError(t, err)
	_, err = partial.Write(body(50))
	require.NoError(t, err)
	// A mailbox directory half built when the process died.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, tmpDir, boxPrefix+"dead"), dirPerm))
	require.NoError(t, s.Close()) // "crash": nothing cancelled or aborted

	s = openAt(t, dir, Options{})
	assert.Empty(t, tmpNames(t, dir))
	assert.Equal(t, body(100), readMessage(t, s, alice, committed))
	assert.ErrorIs(t, s.Commit(preparedID, []mailbox.Name{alice}), ErrNotPrepared)
	prepare(t, s, preparedID, body(200)) // the id is free again
	st, err := s.Status()
	require.NoError(t, err)
	assert.EqualValues(t, 1, st.Messages)
	assert.Equal(t, 1, st.Mailboxes)
}

func TestRecommitIsIdempotentSameInode(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	id := deliver(t, s, body(10), alice)
	before, _ := statOf(t, fileOf(dir, alice, id))

	require.NoError(t, s.Commit(id, []mailbox.Name{alice}))
	require.NoError(t, s.Commit(id, []mailbox.Name{alice, alice}))
	after, links := statOf(t, fileOf(dir, alice, id))
	assert.True(t, os.SameFile(before, after))
	assert.EqualValues(t, 1, links)
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Equal(t, []msgid.ID{id}, ids(l))

	// A later commit to another box uses the existing link as its source.
	require.NoError(t, s.Commit(id, []mailbox.Name{alice, bob}))
	other, links := statOf(t, fileOf(dir, bob, id))
	assert.True(t, os.SameFile(before, other))
	assert.EqualValues(t, 2, links)
	st, _ := s.Status()
	assert.EqualValues(t, 1, st.Messages)
}

func TestRecipientsShareOneInode(t *testing.T) {
	dir := t.TempDir()
	s := openAt(t, dir, Options{})
	var boxes []mailbox.Name
	for _, local := range []string{"a", "b", "c", "d", "e"} {
		boxes = append(boxes, mailbox.MustParse(local+"@example.com"))
	}
	id := deliver(t, s, body(4096), boxes...)

	first, _ := statOf(t, fileOf(dir, boxes[0], id))
	for _, b := range boxes {
		fi, links := statOf(t, fileOf(dir, b, id))
		assert.EqualValues(t, len(boxes), links)
		assert.True(t, os.SameFile(first, fi))
	}
	assert.Empty(t, tmpNames(t, dir), "tmp name removed after commit")
	st, _ := s.Status()
	assert.EqualValues(t, 1, st.Messages)
	assert.Equal(t, len(boxes), st.Mailboxes)
}

func TestFinishRejectsBadLengthOrChecksum(t *testing.T) {
	data := body(100)
	cases := map[string]struct {
		size int64
		sum  uint32
	}{
		"short":    {99, Checksum(data)},
		"long":     {101, Checksum(data)},
		"checksum": {100, Checksum(body(99))},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, dir := openTemp(t)
			id := msgid.New(t0)
			u, err := s.Begin(id)
			require.NoError(t, err)
			_, err = u.Write(data)
			require.NoError(t, err)
			require.ErrorIs(t, u.Finish(c.size, c.sum), ErrChecksum)
			assert.Empty(t, tmpNames(t, dir))
			assert.ErrorIs(t, s.Commit(id, []mailbox.Name{alice}), ErrNotPrepared)
			l, err := s.List(alice)
			require.NoError(t, err)
			assert.Empty(t, l.Messages)
		})
	}
}

func TestUploadLimitAndExclusiveBegin(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{MaxMessageBytes: 10})
	id := msgid.New(t0)
	u, err := s.Begin(id)
	require.NoError(t, err)
	_, err = s.Begin(id)
	assert.ErrorIs(t, err, ErrExists)

	_, err = u.Write(body(6))
	require.NoError(t, err)
	n, err := u.Write(body(5))
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Zero(t, n)
	u.Cancel()
	u.Cancel()
	_, err = s.Begin(id) // cancelled: the id is free
	assert.NoError(t, err)
}

func TestCancelAfterFinishKeepsPrepared(t *testing.T) {
	s, _ := openTemp(t)
	id := msgid.New(t0)
	u, err := s.Begin(id)
	require.NoError(t, err)
	_, err = u.Write(body(3))
	require.NoError(t, err)
	require.NoError(t, u.Finish(3, Checksum(body(3))))
	u.Cancel()
	require.NoError(t, s.Commit(id, []mailbox.Name{alice}))
	assert.Equal(t, body(3), readMessage(t, s, alice, id))
}

func TestAbortRemovesEverything(t *testing.T) {
	s, dir := openTemp(t)
	boxes := []mailbox.Name{alice, bob}
	id := deliver(t, s, body(10), boxes...)
	prepared := msgid.New(t0)
	prepare(t, s, prepared, body(10))

	for range 2 { // idempotent
		require.NoError(t, s.Abort(id, boxes))
		require.NoError(t, s.Abort(prepared, boxes))
	}
	assert.Empty(t, tmpNames(t, dir))
	for _, b := range boxes {
		l, err := s.List(b)
		require.NoError(t, err)
		assert.Empty(t, l.Messages)
		_, _, err = s.OpenMessage(b, id)
		assert.ErrorIs(t, err, ErrNotFound)
	}
	assert.ErrorIs(t, s.Commit(prepared, boxes), ErrNotPrepared)
	st, _ := s.Status()
	assert.Zero(t, st.Messages)
}

func TestLockedByAnotherOpen(t *testing.T) {
	_, dir := openTemp(t)
	_, err := Open(dir, Options{Logger: quiet})
	assert.ErrorIs(t, err, ErrLocked)
}

func TestMailboxesListsNames(t *testing.T) {
	s, _ := openTemp(t)
	deliver(t, s, body(1), carol, alice)
	require.NoError(t, s.Delete(bob, msgid.New(t0), t0))
	names, err := s.Mailboxes()
	require.NoError(t, err)
	assert.Equal(t, []mailbox.Name{alice, bob, carol}, names)
}

func TestStatusReportsDisk(t *testing.T) {
	s := openAt(t, t.TempDir(), Options{ReadOnly: true, MinFreeBytes: 7})
	st, err := s.Status()
	require.NoError(t, err)
	assert.True(t, st.ReadOnly)
	assert.EqualValues(t, 7, st.MinFreeBytes)
	assert.NotZero(t, st.TotalBytes)
	assert.LessOrEqual(t, st.FreeBytes, st.TotalBytes)
	assert.NotZero(t, st.FreeInodes)
}

func TestExpireUploadsRemovesOnlyStaleOnes(t *testing.T) {
	s, dir := openTemp(t)
	stale, fresh := msgid.New(t0), msgid.New(t0.Add(time.Millisecond))
	prepare(t, s, stale, body(10))
	old := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, tmpDir, string(stale)), old, old))
	prepare(t, s, fresh, body(10))

	n, err := s.ExpireUploads(time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, []string{string(fresh)}, tmpNames(t, dir))
	assert.ErrorIs(t, s.Commit(stale, []mailbox.Name{alice}), ErrNotPrepared)
	require.NoError(t, s.Commit(fresh, []mailbox.Name{alice}))
}

func TestCommitRefusesUnfinishedUpload(t *testing.T) {
	s, _ := openTemp(t)
	id := msgid.New(t0)
	u, err := s.Begin(id)
	require.NoError(t, err)
	_, err = u.Write(body(10))
	require.NoError(t, err)
	require.ErrorIs(t, s.Commit(id, []mailbox.Name{alice}), ErrNotPrepared)
	l, err := s.List(alice)
	require.NoError(t, err)
	assert.Empty(t, l.Messages, "no partial file visible")

	require.NoError(t, u.Finish(10, Checksum(body(10))))
	require.NoError(t, s.Commit(id, []mailbox.Name{alice}))
	assert.Equal(t, body(10), readMessage(t, s, alice, id))
}
