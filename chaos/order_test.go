package chaos

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// acked is a 250 of epoch whose DATA was sent at data ms and answered at ack ms.
func acked(id string, epoch int, data, ack float64) SendRecord {
	return SendRecord{ID: id, Boxes: []string{"a@example.com"}, Outcome: OK, Epoch: epoch, DataAtMs: data, AckAtMs: ack}
}

func listed(id string, pos int) Copy {
	return Copy{Box: "a@example.com", UID: "uid-" + id, ChaosID: id, Pos: pos}
}

func TestMisordered(t *testing.T) {
	sends := []SendRecord{
		acked("a", 0, 0, 10),
		acked("b", 0, 20, 30), // began after a's 250: must be listed after a
		acked("c", 0, 5, 25),  // overlapped a and b: may be anywhere
		acked("d", 1, 40, 50), // another powersmtp process: not ordered with a, b, c
		acked("e", 0, 35, 45), // after b: must follow b
	}
	inOrder := []Copy{listed("d", 1), listed("c", 2), listed("a", 3), listed("b", 4), listed("e", 5)}
	require.Zero(t, misordered(sends, inOrder))
	swapped := []Copy{listed("d", 1), listed("c", 2), listed("b", 3), listed("a", 4), listed("e", 5)}
	require.Equal(t, 1, misordered(sends, swapped), "b listed before a")
	eFirst := []Copy{listed("e", 1), listed("c", 2), listed("a", 3), listed("b", 4), listed("d", 5)}
	require.Equal(t, 1, misordered(sends, eFirst), "e listed before a and b counts once")
	// Another mailbox has its own order.
	other := listed("a", 1)
	other.Box = "b@example.com"
	require.Zero(t, misordered(sends, append(inOrder, other)))
	c := Check(sends, nil, swapped)
	require.Contains(t, c.Violations(), "misordered=1")
}

func TestReusedIDs(t *testing.T) {
	a, b, a2 := listed("a", 1), listed("b", 2), listed("a", 1)
	a2.Box = "b@example.com" // one message in two mailboxes: one id
	require.Zero(t, reusedIDs([]Copy{a, b, a2}))
	b.UID = a.UID
	require.Equal(t, 1, reusedIDs([]Copy{a, b, a2}))
}

func TestTombstonesBelowR(t *testing.T) {
	idA, idB := strings.Repeat("a", msgIDLen), strings.Repeat("b", msgIDLen)
	sum := sha256.Sum256([]byte("a@example.com"))
	box := hex.EncodeToString(sum[:])
	roots := []string{t.TempDir(), t.TempDir()}
	tomb := func(root, box, name string) {
		dir := filepath.Join(root, "mbox", box[:2], box[2:4], box)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, 0o600))
	}
	tomb(roots[0], box, idA+".tomb")
	tomb(roots[1], box, idA+".tomb")
	tomb(roots[0], box, idB+".tomb")
	tomb(roots[1], box, idB) // a message, not a tombstone
	other := strings.Repeat("c", 64)
	tomb(roots[1], other, idB+".tomb") // another mailbox's tombstone does not count
	tombs := tombstoneCounts(roots)
	require.Equal(t, 2, tombs[box+"/"+idA])

	deletes := []DeleteRecord{{Box: "a@example.com", UID: idA, Acked: true}, {Box: "a@example.com", UID: idB, Acked: true},
		{Box: "a@example.com", UID: idB, Acked: true}, {Box: "a@example.com", UID: strings.Repeat("d", msgIDLen)}}
	two := func(DeleteRecord) int { return 2 }
	require.Equal(t, 1, tombstonesBelow(deletes, tombs, two), "b has one tombstone, counted once; d's QUIT was not answered")
	require.Zero(t, tombstonesBelow(deletes, tombs, func(DeleteRecord) int { return 1 }))
}

func TestTombstonesNeededAfterADiskLoss(t *testing.T) {
	cfg := Config{R: 2, Epochs: []Epoch{{}, {Faults: []Fault{{Class: DiskLoss}}}, {Faults: []Fault{{Class: ClockBack}}}}}
	require.Equal(t, 1, cfg.tombstonesNeeded(DeleteRecord{Epoch: 0}))
	require.Equal(t, 1, cfg.tombstonesNeeded(DeleteRecord{Epoch: 1}), "the disk may be lost after the delete")
	require.Equal(t, 2, cfg.tombstonesNeeded(DeleteRecord{Epoch: 2}))
}

// TestClockFaultsInEveryTier: each daemon's clock jumps both ways in the
// smoke tier, and the matrix has a cell for each jump at every (R, W).
func TestClockFaultsInEveryTier(t *testing.T) {
	seen := map[string]int{}
	for _, ep := range Smoke(7, "bin", t.TempDir()).Epochs {
		for _, f := range ep.Faults {
			if f.isClock() {
				seen[f.Class+" "+phaseLabel(f)]++
				require.Equal(t, f.Phase != ClockPhases["pplistener"], f.Target < 0, "front ends are armed at start")
			}
		}
	}
	require.Len(t, seen, 6, "%v", seen)
	cells := 0
	for _, cfg := range Matrix(7, "bin", t.TempDir()) {
		if strings.Contains(cfg.Name, "-clock-") {
			cells++
		}
	}
	require.Equal(t, 6*len(Quorums), cells)
}

func TestClockTerms(t *testing.T) {
	f := NewFault(ClockBack, "powersmtp", 0)
	require.True(t, f.IsFront())
	require.Equal(t, fpSMTPD+"clock=50*return(0)->150*return(-10800000)->return(0)", f.frontTerms())
	b := NewFault(ClockForward, "pplistener", 1)
	require.False(t, b.IsFront())
	require.Equal(t, 1, b.Target)
	require.Equal(t, "R2W2-clock-forward-pplistener", Cell(1, "bin", t.TempDir(), 2, 2, b).Name)
}
