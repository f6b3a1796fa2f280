package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"powermail/impl/devcluster"
	"powermail/impl/mailbox"
	"powermail/impl/msgid"
	"powermail/impl/ppclient"
	"powermail/impl/repair"
)

// RepairCounts is what powermail/impl/repair did after recovery, and what
// a second read through POP found changed by it.
type RepairCounts struct {
	ReReplicated      int `json:"re_replicated"`
	TombstonedRemoved int `json:"tombstoned_removed"`
	OrphansRemoved    int `json:"orphans_removed"`
	OrphansKept       int `json:"orphans_kept"`
	BelowTarget       int `json:"below_target"`
	Errors            int `json:"errors"`
	Unreachable       int `json:"unreachable"`
	// Recheck lists checker findings (lost=, duplicated=, ...) that the
	// read after repair shows and the read before it did not: repair
	// must change nothing a POP client sees.
	Recheck []string `json:"recheck,omitempty"`
}

// repairIOTimeout bounds each exchange of repair with a backend: the
// cluster is idle after recovery, so a slow answer is a fault.
const repairIOTimeout = 10 * time.Second

// restoreRedundancy runs repair over the recovered cluster at redundancy
// r (the backends' real addresses: no fault proxy), with the orphan log
// (orphans as read, before relabel), then measures
// redundancy again over the messages the final read found and re-reads
// everything to check that repair made no duplicate, loss or phantom.
func restoreRedundancy(ctx context.Context, dc *devcluster.Cluster, r int, h *history,
	orphans []repair.Orphan, copies []Copy, c *Counts) error {
	rep, err := runRepair(ctx, dc, r, relabel(orphans, h.backendOf, dc))
	if err != nil {
		return err
	}
	c.Repair = RepairCounts{ReReplicated: rep.ReReplicated, TombstonedRemoved: rep.TombstonedRemoved,
		OrphansRemoved: rep.OrphansRemoved, OrphansKept: rep.OrphansKept, BelowTarget: rep.BelowTarget,
		Errors: rep.Errors, Unreachable: len(rep.Unreachable)}
	c.UnderReplicatedAfterRepair = underReplicated(h.sends, copies, replicaCounts(backendRoots(dc)), r)
	after, err := stableRead(dc.POPAddr, h.users)
	if err != nil {
		return err
	}
	again := Check(h.sends, h.deletes, after, orphanIDs(orphans))
	before := c.Violations()
	for _, v := range again.Violations() {
		if !slices.Contains(before, v) {
			c.Repair.Recheck = append(c.Repair.Recheck, v)
		}
	}
	return nil
}

// runRepair is `ppadmin repair` as a library call, one group per backend
// as devcluster registers them.
func runRepair(ctx context.Context, dc *devcluster.Cluster, r int, orphans []repair.Orphan) (*repair.Report, error) {
	var backends []repair.Backend
	for i, b := range dc.Backends {
		cl := ppclient.New(ppclient.Config{Addr: b.Addr, Secret: dc.Secret(), ClientName: "chaos-repair",
			IOTimeout: repairIOTimeout})
		defer cl.Close()
		backends = append(backends, repair.Backend{Addr: b.Addr, Group: strconv.Itoa(i + 1), Client: cl})
	}
	return repair.Run(ctx, backends, repair.Options{Redundancy: r, Orphans: orphans, Seed: 1,
		Log: slog.New(slog.DiscardHandler)})
}

func backendRoots(dc *devcluster.Cluster) []string {
	var roots []string
	for _, b := range dc.Backends {
		roots = append(roots, b.Root)
	}
	return roots
}

// readOrphans parses powersmtp's orphan log (JSON lines with time,
// backend, id, boxes: impl/internal/delivery/orphans.go, which chaos may
// not import). A missing log is an empty one; a line that does not parse
// is skipped, as a torn last line after a crash would be.
func readOrphans(dir string) []repair.Orphan {
	f, err := os.Open(filepath.Join(dir, "orphans.jsonl"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []repair.Orphan
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var o struct {
			Backend string         `json:"backend"`
			ID      msgid.ID       `json:"id"`
			Boxes   []mailbox.Name `json:"boxes"`
		}
		if json.Unmarshal(sc.Bytes(), &o) == nil {
			out = append(out, repair.Orphan{Backend: o.Backend, ID: o.ID, Boxes: o.Boxes})
		}
	}
	return out
}

// relabel names each orphan's backend by its address in dc: the log has
// the address powersmtp used (an epoch's fault proxy). A record of an
// unknown address is dropped, which is safe: repair then keeps the copy
// as a replica rather than remove it.
func relabel(orphans []repair.Orphan, backendOf map[string]int, dc *devcluster.Cluster) []repair.Orphan {
	var out []repair.Orphan
	for _, o := range orphans {
		if i, known := backendOf[o.Backend]; known && i < len(dc.Backends) {
			o.Backend = dc.Backends[i].Addr
			out = append(out, o)
		}
	}
	return out
}

// orphanIDs is the set of message ids the orphan log names, for Check.
func orphanIDs(orphans []repair.Orphan) map[string]bool {
	out := map[string]bool{}
	for _, o := range orphans {
		out[string(o.ID)] = true
	}
	return out
}
