package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// RunAll plays every configuration, writes each report and a summary
// (summary.json, summary.txt) under out, and prints the summaries to w.
func RunAll(ctx context.Context, cfgs []Config, out string, w io.Writer) ([]*Report, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	txt, err := os.Create(filepath.Join(out, "summary.txt"))
	if err != nil {
		return nil, err
	}
	defer txt.Close()
	var reports []*Report
	for _, cfg := range cfgs {
		rep, err := Run(ctx, cfg)
		if err != nil {
			return reports, fmt.Errorf("%s: %w", cfg.Name, err)
		}
		reports = append(reports, rep)
		rep.Summary(io.MultiWriter(w, txt))
		if err := rep.Write(out); err != nil {
			return reports, err
		}
		if rep.Pass {
			os.RemoveAll(cfg.Dir) // a failing run's data stays for a look
		}
	}
	if err := writeTable(filepath.Join(out, "table.md"), reports); err != nil {
		return reports, err
	}
	b, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		return reports, err
	}
	return reports, os.WriteFile(filepath.Join(out, "summary.json"), b, 0o644)
}

// writeTable writes one Markdown row per run: the matrix at a glance.
func writeTable(path string, reports []*Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(f, "| run | R | W | fault fired | acked | failed | info | lost | dup | phantom | resurrected | visible after 4xx | misordered | tombstones < R | tmp left | under-replicated | p99 ms | verdict | expected |")
	fmt.Fprintln(f, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range reports {
		c, fired := r.Counts, true
		for _, flt := range allFaults(r.Config) {
			fired = fired && flt.Fired
		}
		verdict := "PASS"
		if !r.Pass {
			verdict = "FAIL: " + strings.Join(r.Violations, " ")
		}
		fmt.Fprintf(f, "| %s | %d | %d | %v | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %.0f | %s | %s |\n",
			r.Config.Name, r.Config.R, r.Config.W, fired, c.Acked, c.Failed, c.Info, c.Lost, c.Duplicated,
			c.Phantom, c.Resurrected, c.VisibleAfter4xx, c.Misordered, c.TombstonesBelowR, c.TmpLeft, c.UnderReplicated,
			r.Latency.P99, verdict, r.Config.Expect)
	}
	return nil
}
