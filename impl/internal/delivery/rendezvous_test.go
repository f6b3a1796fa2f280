package delivery

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/orphanlog"
)

// Rendezvous placement: each mailbox has a Target of its own (homePicker).

const ann, bob = mailbox.Name("ann@x.example"), mailbox.Name("bob@x.example")

func target(home int, bs ...*fakeBackend) Target {
	t := Target{Home: home}
	for _, b := range bs {
		t.Candidates = append(t.Candidates, b)
	}
	return t
}

// TestOneUploadPerBackendOfTheUnion: ann's home is b0,b1 and bob's b1,b2;
// the message goes once to each of b0, b1, b2, and each COMMIT names the
// mailboxes that chose the backend.
func TestOneUploadPerBackendOfTheUnion(t *testing.T) {
	fs, _ := fakes(3)
	p := homePicker{ann: target(2, fs[0], fs[1], fs[2]), bob: target(2, fs[1], fs[2], fs[0])}
	d := New(cfg(2, 2), p, nil, nil, nil, nil)
	res, err := deliver(t, d, msgTo(string(ann), string(bob)), body)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"b0", "b1", "b2"}, res.Replicas)
	for i, want := range [][]mailbox.Name{{ann}, {ann, bob}, {bob}} {
		assert.Equal(t, 1, fs[i].begins, "one upload to %s", fs[i].name)
		for _, box := range []mailbox.Name{ann, bob} {
			assert.Equal(t, contains(want, box), fs[i].links[box][res.ID], "%s in %s", box, fs[i].name)
		}
	}
}

func contains(s []mailbox.Name, x mailbox.Name) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// TestDownHomePushesTheCopyDown: ann's first home backend refuses the
// upload; the copy goes to the next candidate, and the other home copy
// keeps the message findable.
func TestDownHomePushesTheCopyDown(t *testing.T) {
	fs, _ := fakes(4)
	fs[0].failBegin = true
	d := New(cfg(2, 2), homePicker{ann: target(2, fs[0], fs[1], fs[2], fs[3])}, nil, nil, nil, nil)
	res, err := deliver(t, d, msgTo(string(ann)), body)
	require.NoError(t, err)
	assert.Equal(t, []string{"b1", "b2"}, res.Replicas)
}

// TestNoHomeCopyIsRefused: W copies committed, but none at home (ann's
// home backends took no copy that stuck): a login would not find it, so
// the sender gets 451 and the copies are voided. b2's VOID hides nothing
// (it is not home) and b1 cannot take one, so the VOID goes on to the
// other home backend, b0.
func TestNoHomeCopyIsRefused(t *testing.T) {
	fs, _ := fakes(4)
	fs[0].failBegin = true
	fs[1].failCommit, fs[1].failAbort = true, true
	d := New(cfg(2, 1), homePicker{ann: target(2, fs[0], fs[1], fs[2], fs[3])}, nil, nil, nil, nil)
	_, err := deliver(t, d, msgTo(string(ann)), body)
	var e *mail.Reply
	require.ErrorAs(t, err, &e)
	require.True(t, e.Temporary())
	assert.Equal(t, 1, fs[2].voids, "the committed copy off home is voided")
	assert.Equal(t, 1, fs[0].voids, "and a home backend gets the tombstone every login sees")
	assert.Zero(t, fs[3].voids)
}

// TestRefusalWithDeadHomesStaysPending: both home replicas committed and
// then died. A tombstone below home (b2) is seen only by a login that
// lists deeper, so it counts towards R but the refusal is not hidden
// until one is at home: the orphan log keeps it pending, and VoidPending
// puts one on a home backend once one is back.
func TestRefusalWithDeadHomesStaysPending(t *testing.T) {
	fs, _ := fakes(3)
	for _, f := range fs[:2] {
		f.commitSilently, f.failAbort = true, true
	}
	path := filepath.Join(t.TempDir(), "orphans")
	log, err := orphanlog.Open(path)
	require.NoError(t, err)
	d := New(cfg(2, 2), homePicker{ann: target(2, fs[0], fs[1], fs[2])}, nil, nil, log, nil)
	m := msgTo(string(ann))
	m.ID = "01a22c158a413e780fc46ba933807fab2d44a91c7f11"
	_, err = deliver(t, d, m, body)
	require.Error(t, err)
	assert.Equal(t, 1, fs[2].voids, "b2, no home of ann's, takes one of the R tombstones")
	entries, err := orphanlog.Read(path)
	require.NoError(t, err)
	require.Len(t, orphanlog.Pending(entries, 2), 1)

	fs[1].failAbort = false
	n, err := d.VoidPending(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.True(t, fs[0].tombs[ann][m.ID] || fs[1].tombs[ann][m.ID], "a home backend holds a tombstone")
	entries, err = orphanlog.Read(path)
	require.NoError(t, err)
	assert.Empty(t, orphanlog.Pending(entries, 2))
}
