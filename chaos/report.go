package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/montanaflynn/stats"

	"powermail/chaos/powercut"
)

// Report is the outcome of one run.
type Report struct {
	Config     Config         `json:"config"`
	Counts     Counts         `json:"counts"`
	Violations []string       `json:"violations"`         // after the cell's expectation
	Expected   []string       `json:"expected,omitempty"` // findings the configuration allows (W=1 disk loss)
	Pass       bool           `json:"pass"`
	LostIDs    []string       `json:"lost_ids,omitempty"`
	VisibleIDs []string       `json:"visible_after_4xx_ids,omitempty"`
	Latency    Latencies      `json:"latency_ms"`
	Seconds    float64        `json:"seconds"`
	Sends      []SendRecord   `json:"-"`
	Deletes    []DeleteRecord `json:"-"`

	// Disks are the counts of the backends' powercut disks (Config.PowerFS).
	Disks []powercut.Stats `json:"disks,omitempty"`
}

// Latencies of SMTP transactions answered 250, in milliseconds.
type Latencies struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func newReport(cfg Config, h *history, c Counts, copies []Copy, took time.Duration) *Report {
	r := &Report{Config: cfg, Counts: c, Seconds: took.Seconds(), Sends: h.sends, Deletes: h.deletes,
		LostIDs: lostIDs(h.sends, h.deletes, copies), VisibleIDs: visibleIDs(h.sends, h.deletes, copies)}
	for _, v := range append(c.Violations(), repairFindings(c)...) {
		allowed := (cfg.MayLose && strings.HasPrefix(v, "lost=")) ||
			(cfg.MayLose && strings.HasPrefix(v, "under_replicated_after_repair=")) ||
			(cfg.MayResurrect && strings.HasPrefix(v, "resurrected="))
		if allowed {
			r.Expected = append(r.Expected, v)
		} else {
			r.Violations = append(r.Violations, v)
		}
	}
	for _, f := range allFaults(cfg) {
		if !f.Fired {
			r.Violations = append(r.Violations, fmt.Sprintf("fault %s %s did not fire: %s", f.Class, f.Phase, f.Err))
		}
	}
	r.Pass = len(r.Violations) == 0
	r.Latency = latencies(h.sends)
	return r
}

// repairFindings are the failures of "chaos checks that redundancy is
// restored": acknowledged messages still below R after repair, and any
// checker finding that the read after repair shows and the one before it
// did not (repair must not duplicate, lose or bring back mail). Repair
// itself cannot restore a message whose every copy is gone: that is
// "lost", and a cell that may lose mail may also be left below R.
func repairFindings(c Counts) []string {
	var v []string
	if c.UnderReplicatedAfterRepair > 0 {
		v = append(v, fmt.Sprintf("under_replicated_after_repair=%d", c.UnderReplicatedAfterRepair))
	}
	for _, f := range c.Repair.Recheck {
		v = append(v, "after_repair_"+f)
	}
	return v
}

func allFaults(cfg Config) []Fault {
	var out []Fault
	for _, e := range cfg.Epochs {
		out = append(out, e.Faults...)
	}
	return out
}

func latencies(sends []SendRecord) Latencies {
	var ms []float64
	for _, s := range sends {
		if s.Outcome == OK {
			ms = append(ms, s.LatencyMs)
		}
	}
	if len(ms) == 0 {
		return Latencies{}
	}
	p50, _ := stats.Percentile(ms, 50)
	p99, _ := stats.Percentile(ms, 99)
	return Latencies{P50: p50, P99: p99, Max: slices.Max(ms)}
}

// Summary is the human-readable outcome.
func (r *Report) Summary(w io.Writer) {
	c := r.Counts
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s %s seed=%d R=%d W=%d backends=%d (%.0fs)\n", verdict, r.Config.Name, r.Config.Seed,
		r.Config.R, r.Config.W, r.Config.Backends, r.Seconds)
	fmt.Fprintf(w, "  sent %d: acked %d, failed %d, info %d (present %d); retrieved %d; deletes acked %d, info %d\n",
		c.Sent, c.Acked, c.Failed, c.Info, c.InfoPresent, c.Retrieved, c.DeletesAcked, c.DeletesInfo)
	fmt.Fprintf(w, "  lost %d, duplicated %d, corrupt %d, phantom %d, resurrected %d, visible after 4xx %d, tmp left %d, 5xx %d; under-replicated %d\n",
		c.Lost, c.Duplicated, c.Corrupt, c.Phantom, c.Resurrected, c.VisibleAfter4xx, c.TmpLeft,
		c.Refused5xx, c.UnderReplicated)
	fmt.Fprintf(w, "  TOP checked against RETR %d, wrong %d; misordered %d, ids reused %d, deletes with tombstones below R %d\n",
		c.TopChecked, c.TopWrong, c.Misordered, c.IDReused, c.TombstonesBelowR)
	rp := c.Repair
	fmt.Fprintf(w, "  repair: re-replicated %d, tombstoned removed %d, orphans removed %d (kept %d), below R %d, errors %d, unreachable %d; under-replicated after repair %d\n",
		rp.ReReplicated, rp.TombstonedRemoved, rp.OrphansRemoved, rp.OrphansKept, rp.BelowTarget, rp.Errors,
		rp.Unreachable, c.UnderReplicatedAfterRepair)
	fmt.Fprintf(w, "  latency of 250s: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.Latency.P50, r.Latency.P99, r.Latency.Max)
	for i, d := range r.Disks {
		fmt.Fprintf(w, "  powercut disk of backend %d: %d file fsyncs, %d directory fsyncs, %d cuts\n",
			i, d.FileSyncs, d.DirSyncs, d.Cuts)
	}
	for _, f := range allFaults(r.Config) {
		fmt.Fprintf(w, "  fault %-13s %-50s backend %2d at %5d ms for %5d ms fired=%v %s\n",
			f.Class, f.Phase, f.Target, f.AtMs, f.ForMs, f.Fired, f.Err)
	}
	if r.Config.Expect != "" {
		fmt.Fprintf(w, "  cell expectation: %s\n", r.Config.Expect)
	}
	if len(r.Expected) > 0 {
		fmt.Fprintf(w, "  expected for this configuration: %s\n", strings.Join(r.Expected, ", "))
	}
	if len(r.Violations) > 0 {
		fmt.Fprintf(w, "  VIOLATIONS: %s\n  replay: chaos -seed %d\n", strings.Join(r.Violations, ", "), r.Config.Seed)
	}
}

// Write stores r as JSON (and the history, for a failing run) under dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Config.Name+".json"), b, 0o644); err != nil {
		return err
	}
	if r.Pass {
		return nil
	}
	hist, err := json.Marshal(struct {
		Sends   []SendRecord   `json:"sends"`
		Deletes []DeleteRecord `json:"deletes"`
	}{r.Sends, r.Deletes})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, r.Config.Name+".history.json"), hist, 0o644)
}
