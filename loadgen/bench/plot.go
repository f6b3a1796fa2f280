package bench

import (
	"fmt"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// writePlots draws the SVG charts of whatever scenarios ran.
func (e *env) writePlots() error {
	for _, p := range []func() (*plot.Plot, string, error){e.throughputPlot, e.latencyPlot, e.fractionPlot} {
		pl, name, err := p()
		if err != nil {
			return err
		}
		if pl == nil {
			continue
		}
		// SVG for papers, PNG for viewers that do not render SVG.
		for _, f := range []string{name, strings.TrimSuffix(name, ".svg") + ".png"} {
			if err := pl.Save(8*vg.Inch, 4.5*vg.Inch, filepath.Join(e.opt.OutDir, f)); err != nil {
				return err
			}
		}
	}
	return nil
}

// barPlot draws one bar per label.
func barPlot(title, ylabel string, labels []string, values plotter.Values) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = title, ylabel
	bars, err := plotter.NewBarChart(values, vg.Points(28))
	if err != nil {
		return nil, err
	}
	bars.Color = plotutil.Color(0)
	p.Add(bars)
	p.NominalX(labels...)
	return p, nil
}

func (e *env) throughputPlot() (*plot.Plot, string, error) {
	var labels []string
	var vals plotter.Values
	for _, s := range scenarios() {
		if r, ok := e.results[s.name]; ok && strings.HasPrefix(s.name, "smtp-throughput") && strings.HasSuffix(s.name, "-4k") {
			labels = append(labels, strings.TrimPrefix(s.name, "smtp-throughput-"))
			vals = append(vals, r.median("msgs_per_sec"))
		}
	}
	if len(vals) == 0 {
		return nil, "", nil
	}
	p, err := barPlot("SMTP accept rate, 4 KiB, closed loop (median)", "messages/s", labels, vals)
	return p, "smtp-throughput.svg", err
}

func (e *env) latencyPlot() (*plot.Plot, string, error) {
	r, ok := e.results["smtp-latency"]
	if !ok {
		return nil, "", nil
	}
	fr := floats(r.Params["fractions"])
	p := plot.New()
	p.Title.Text = "SMTP accept latency vs offered load (R=2, 4 KiB, open loop)"
	p.X.Label.Text, p.Y.Label.Text = "offered messages/s", "latency ms (median of runs)"
	var lines []any
	for _, q := range []string{"p50_ms", "p99_ms"} {
		var pts plotter.XYs
		for _, f := range fr {
			k := fmt.Sprintf("@%.2f", f)
			pts = append(pts, plotter.XY{X: r.median("offered_per_sec" + k), Y: r.median(q + k)})
		}
		lines = append(lines, q, pts)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, "", err
	}
	return p, "smtp-latency.svg", nil
}

// fractionPlot shows every bound metric as a fraction of its limit.
func (e *env) fractionPlot() (*plot.Plot, string, error) {
	var labels []string
	var vals plotter.Values
	for _, s := range scenarios() {
		r, ok := e.results[s.name]
		if !ok {
			continue
		}
		for _, l := range r.Limits {
			labels = append(labels, shortLabel(s.name, l.Metric))
			vals = append(vals, l.Fraction)
		}
	}
	if len(vals) == 0 {
		return nil, "", nil
	}
	p, err := barPlot("Results as a fraction of the machine limit that binds them", "fraction of limit", labels, vals)
	if err == nil {
		p.X.Tick.Label.Rotation = 0.6
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = -1, 0
	}
	return p, "fraction-of-limit.svg", err
}

func shortLabel(scenario, metric string) string {
	s := strings.NewReplacer("smtp-throughput-", "smtp ", "pop3-retr-", "retr ").Replace(scenario)
	m := strings.NewReplacer("msgs_per_sec", "msg/s", "mb_per_sec", "MB/s", "_unverified", " noverify").Replace(metric)
	return s + " " + m
}

// floats reads a []float64 parameter, also after a JSON round trip ([]any).
func floats(v any) []float64 {
	switch x := v.(type) {
	case []float64:
		return x
	case []any:
		var out []float64
		for _, e := range x {
			if f, ok := e.(float64); ok {
				out = append(out, f)
			}
		}
		return out
	}
	return nil
}
