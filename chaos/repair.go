package chaos

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"powermail/impl/devcluster"
	"powermail/impl/mail"
	"powermail/impl/orphanlog"
	"powermail/impl/placement"
	"powermail/impl/ppclient"
	"powermail/impl/repair"
	"powermail/impl/userbase"
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
func restoreRedundancy(ctx context.Context, dc *devcluster.Cluster, r int, pol placement.Policy, h *history,
	orphans []orphanlog.Entry, copies []Copy, c *Counts) error {
	rep, err := runRepair(ctx, dc, r, pol, relabel(orphans, h.backendOf, dc))
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
	again := Check(h.sends, h.deletes, after)
	before := c.Violations()
	for _, v := range again.Violations() {
		if !slices.Contains(before, v) {
			c.Repair.Recheck = append(c.Repair.Recheck, v)
		}
	}
	return nil
}

// runRepair is `ppadmin repair` as a library call, one group per backend
// as devcluster registers them, under the cluster's placement.
func runRepair(ctx context.Context, dc *devcluster.Cluster, r int, pol placement.Policy, orphans []orphanlog.Entry) (*repair.Report, error) {
	var backends []repair.Node
	for i, b := range dc.Backends {
		cl := ppclient.New(ppclient.Config{Addr: b.Addr, Secret: dc.Secret(), ClientName: "chaos-repair",
			IOTimeout: repairIOTimeout})
		defer cl.Close()
		backends = append(backends, repair.Node{Member: mail.Member{Addr: b.Addr, Group: strconv.Itoa(i + 1)}, Client: cl})
	}
	homes, err := homesOf(ctx, dc, r, pol)
	if err != nil {
		return nil, err
	}
	return repair.Run(ctx, backends, repair.Options{Redundancy: r, Orphans: orphans, Seed: 1, Homes: homes,
		Log: slog.New(slog.DiscardHandler)})
}

// homesOf is the placement history of dc under rendezvous placement (as
// ppadmin -placement rendezvous reads it), nil under PowerMail's.
func homesOf(ctx context.Context, dc *devcluster.Cluster, r int, pol placement.Policy) (*placement.Homes, error) {
	if pol != placement.Rendezvous {
		return nil, nil
	}
	cfg := userbase.Defaults()
	cfg.Path = dc.DBPath
	db, err := userbase.OpenDB(cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	h, err := db.History(ctx)
	if err != nil {
		return nil, err
	}
	return placement.NewHomes(h, r), nil
}

func backendRoots(dc *devcluster.Cluster) []string {
	var roots []string
	for _, b := range dc.Backends {
		roots = append(roots, b.Root)
	}
	return roots
}

// readOrphans reads powersmtp's orphan log in dir by the rule ppadmin
// repair applies (package orphanlog): a torn last line (a crash
// mid-append) is skipped, any other unreadable line fails the run, since
// repair without the log's entries could keep a stray copy as a replica.
func readOrphans(dir string) ([]orphanlog.Entry, error) {
	out, err := orphanlog.Read(filepath.Join(dir, "orphans.jsonl"))
	if errors.Is(err, orphanlog.ErrTornLast) {
		err = nil
	}
	return out, err
}

// relabel names each orphan's backend by its address in dc: the log has
// the address powersmtp used (an epoch's fault proxy). A record of an
// unknown address is dropped, which is safe: repair then keeps the copy
// as a replica rather than remove it.
func relabel(orphans []orphanlog.Entry, backendOf map[string]int, dc *devcluster.Cluster) []orphanlog.Entry {
	var out []orphanlog.Entry
	for _, o := range orphans {
		if i, known := backendOf[o.Backend]; known && i < len(dc.Backends) {
			o.Backend = dc.Backends[i].Addr
			out = append(out, o)
		}
	}
	return out
}
