package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/impl/devcluster"
)

func TestUnderReplicated(t *testing.T) {
	idA, idB := strings.Repeat("a", msgIDLen), strings.Repeat("b", msgIDLen)
	roots := []string{t.TempDir(), t.TempDir()}
	put := func(root, box, id string) {
		dir := filepath.Join(root, "mbox", "3f", "a9", box)
		require.NoError(t, os.MkdirAll(dir, 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, id), nil, 0o600))
	}
	put(roots[0], "box1", idA)
	put(roots[0], "box2", idA) // a second mailbox link on the same backend: still one copy
	put(roots[1], "box1", idA)
	put(roots[0], "box1", idB)
	require.NoError(t, os.WriteFile(filepath.Join(roots[1], "mbox", "3f", "a9", "box1", idB+".tomb"), nil, 0o600))

	counts := replicaCounts(roots)
	require.Equal(t, map[string]int{idA: 2, idB: 1}, counts)
	sends := []SendRecord{{ID: "m1", Outcome: OK}, {ID: "m2", Outcome: OK}}
	copies := []Copy{{UID: idA, ChaosID: "m1"}, {UID: idB, ChaosID: "m2"}}
	require.Equal(t, 1, underReplicated(sends, copies, counts, 2))
	require.Equal(t, 0, underReplicated(sends, copies, counts, 1))
}

// TestRepairRestoresRedundancy loses a disk at R=2, W=2: the messages it
// held are left with one copy, and the repair after recovery brings every
// one back to two without changing what POP shows.
func TestRepairRestoresRedundancy(t *testing.T) {
	bin := failpointBin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	loss := Fault{Class: DiskLoss, Target: 0, AtMs: leadInMs, ForMs: faultForMs}
	rep, err := Run(ctx, Cell(1, bin, t.TempDir(), 2, 2, loss))
	require.NoError(t, err)
	rep.Summary(os.Stdout)
	require.True(t, rep.Pass, "%v", rep.Violations)
	c := rep.Counts
	require.Positive(t, c.UnderReplicated, "the lost disk must leave acknowledged messages below R")
	require.GreaterOrEqual(t, c.Repair.ReReplicated, c.UnderReplicated)
	require.Zero(t, c.UnderReplicatedAfterRepair)
	require.Empty(t, c.Repair.Recheck)
	require.Zero(t, c.Repair.Errors)
}

// TestRepairFindings: below R after repair fails a cell unless the cell
// may lose mail; a finding that only the read after repair shows fails
// every cell.
func TestRepairFindings(t *testing.T) {
	h := &history{}
	below := Counts{UnderReplicatedAfterRepair: 3}
	require.Equal(t, []string{"under_replicated_after_repair=3"}, newReport(Config{}, h, below, nil, 0).Violations)
	mayLose := newReport(Config{MayLose: true}, h, below, nil, 0)
	require.True(t, mayLose.Pass)
	require.Equal(t, []string{"under_replicated_after_repair=3"}, mayLose.Expected)
	dup := Counts{Repair: RepairCounts{Recheck: []string{"duplicated=1"}}}
	require.Equal(t, []string{"after_repair_duplicated=1"}, newReport(Config{MayLose: true}, h, dup, nil, 0).Violations)
}

func TestRelabelOrphans(t *testing.T) {
	dir := t.TempDir()
	log := `{"time":"2026-11-23T16:00:00Z","backend":"127.0.0.1:9001","id":"` + strings.Repeat("a", msgIDLen) + `","boxes":["u0@example.com"]}
{"time":"2026-11-23T16:00:01Z","backend":"127.0.0.1:9999","id":"` + strings.Repeat("b", msgIDLen) + `","boxes":["u1@example.com"]}
{"torn`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "orphans.jsonl"), []byte(log), 0o600))
	orphans, err := readOrphans(dir)
	require.NoError(t, err)
	require.Len(t, orphans, 2, "the torn last line is skipped")
	dc := &devcluster.Cluster{Backends: []*devcluster.Listener{{Addr: "127.0.0.1:7000"}, {Addr: "127.0.0.1:7001"}}}
	got := relabel(orphans, map[string]int{"127.0.0.1:9001": 1}, dc)
	require.Len(t, got, 1, "an address of no known backend is dropped")
	require.Equal(t, "127.0.0.1:7001", got[0].Backend)
	require.Equal(t, "u0@example.com", string(got[0].Boxes[0]))

	// A bad line before the last is not what a crash leaves: as ppadmin
	// repair does, the run stops rather than repair without the entries.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "orphans.jsonl"), []byte("{bad\n"+log), 0o600))
	_, err = readOrphans(dir)
	require.Error(t, err)
}
