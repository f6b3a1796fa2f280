package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	b, err := json.MarshalIndent(reports, "", "  ")
	if err != nil {
		return reports, err
	}
	return reports, os.WriteFile(filepath.Join(out, "summary.json"), b, 0o644)
}
