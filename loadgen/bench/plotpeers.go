package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// peerPlotWorkloads are the comparisons of peers.json, in the order drawn.
var peerPlotWorkloads = []struct{ key, label, unit string }{
	{"smtp_4k_c16", "SMTP 4 KiB, 16 sessions", "msg/s"},
	{"smtp_4k_c32", "SMTP 4 KiB, 32 sessions", "msg/s"},
	{"smtp_512k_c8", "SMTP 512 KiB", "MB/s"},
	{"pop3_retr_4k", "POP3 RETR 4 KiB", "msg/s"},
	{"pop3_retr_512k", "POP3 RETR 512 KiB", "MB/s"},
}

// peersPlot: ours / theirs for each workload of peers.json (written by
// make bench-peers), with the absolute medians in the labels; the line at 1
// is Postfix + Dovecot.
func (e *env) peersPlot() ([]*plot.Plot, string, error) {
	data, err := os.ReadFile(filepath.Join(e.opt.OutDir, "peers.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, "", fmt.Errorf("peers.json: %w", err)
	}
	var labels []string
	var ratios plotter.Values
	for _, w := range peerPlotWorkloads {
		var r PeerRatio
		if json.Unmarshal(doc[w.key], &r) != nil || r.Metric == "" {
			continue
		}
		labels = append(labels, fmt.Sprintf("%s\n%.0f vs %.0f %s", w.label, r.Ours.Median, r.Theirs.Median, w.unit))
		ratios = append(ratios, r.Ratio)
	}
	if len(ratios) == 0 {
		return nil, "", nil
	}
	p, err := barPlot("PowerMail (R=2, W=2) / Postfix + Dovecot, same machine (median)", "ours / theirs", labels, ratios)
	if err != nil {
		return nil, "", err
	}
	even, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 1}, {X: float64(len(ratios)) - 0.5, Y: 1}})
	if err != nil {
		return nil, "", err
	}
	even.Color, even.Dashes = plotutil.Color(1), []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(even)
	p.Legend.Add("Postfix + Dovecot = 1", even)
	p.Legend.Top, p.Legend.Left = true, true
	return []*plot.Plot{p}, "peers.svg", nil
}
