package orphanlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

func TestAppendRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "orphans.jsonl")
	l, err := Open(path)
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0).UTC()
	want := []Entry{
		{Time: now, Backend: "b1:1101", ID: msgid.New(now), Boxes: []mailbox.Name{"ann@example.com"}},
		{Time: now, Backend: "b2:1101", ID: msgid.New(now), Boxes: []mailbox.Name{"bob@example.com"}, Acked: true},
	}
	for _, e := range want {
		require.NoError(t, l.Append(e))
	}
	require.NoError(t, l.Close())
	got, err := Read(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestMissingLogIsEmpty(t *testing.T) {
	got, err := Read(filepath.Join(t.TempDir(), "none"))
	assert.NoError(t, err)
	assert.Empty(t, got)
}

// A torn last line (a crash mid-append) is skipped with ErrTornLast; the
// same damage earlier in the file is an error.
func TestTornLines(t *testing.T) {
	dir := t.TempDir()
	good := `{"time":"2026-11-30T00:00:00Z","backend":"b","id":"x","boxes":["a@b.c"],"acked":false}`
	torn := filepath.Join(dir, "torn")
	require.NoError(t, os.WriteFile(torn, []byte(good+"\n"+good[:20]), 0o600))
	got, err := Read(torn)
	assert.ErrorIs(t, err, ErrTornLast)
	assert.Len(t, got, 1)

	middle := filepath.Join(dir, "middle")
	require.NoError(t, os.WriteFile(middle, []byte(good[:20]+"\n"+good+"\n"), 0o600))
	_, err = Read(middle)
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrTornLast)
}

// Pending: a refusal whose VOID fewer than R backends took, one per id
// with all its mailboxes and stray backends, until Voided records reach R;
// accepted messages never are.
func TestPending(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	a, c := msgid.New(now), msgid.New(now.Add(2*time.Millisecond))
	ann, bob := mailbox.Name("ann@example.com"), mailbox.Name("bob@example.com")
	entries := []Entry{
		{ID: a, Backend: "b1", Boxes: []mailbox.Name{ann}},
		{ID: a, Backend: "b2", Boxes: []mailbox.Name{ann, bob}},
		{ID: a, Backend: "b3", Boxes: []mailbox.Name{ann, bob}, Voided: true},
		{ID: c, Backend: "b1", Boxes: []mailbox.Name{ann}, Acked: true},
	}
	got := Pending(entries, 2)
	require.Len(t, got, 1)
	assert.Equal(t, a, got[0].ID)
	assert.Equal(t, []mailbox.Name{ann, bob}, got[0].Boxes)
	assert.Equal(t, []string{"b1", "b2"}, got[0].Strays)
	assert.Equal(t, map[mailbox.Name][]string{ann: {"b3"}, bob: {"b3"}}, got[0].Voided)
	assert.Empty(t, Pending(entries, 1), "one tombstone is enough at R=1")
	entries = append(entries, Entry{ID: a, Backend: "b4", Boxes: []mailbox.Name{ann}, Voided: true},
		Entry{ID: a, Backend: "b4", Boxes: []mailbox.Name{ann}, Voided: true})
	require.Len(t, Pending(entries, 2), 1, "bob's tombstone is on one backend only")
	entries = append(entries, Entry{ID: a, Backend: "b5", Boxes: []mailbox.Name{bob}, Voided: true})
	assert.Empty(t, Pending(entries, 2), "two distinct backends hold each mailbox's tombstones")
}
