package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// writePlots draws the SVG (and PNG) charts of whatever scenarios ran, and
// of peers.json when bench-peers left one in the output directory.
func (e *env) writePlots() error {
	for _, draw := range []func() ([]*plot.Plot, string, error){
		one(e.throughputPlot), one(e.latencyPlot), one(e.fractionPlot), e.popPlots, e.peersPlot,
	} {
		plots, name, err := draw()
		if err != nil {
			return err
		}
		if len(plots) == 0 {
			continue
		}
		if err := saveRow(filepath.Join(e.opt.OutDir, name), plots); err != nil {
			return err
		}
	}
	return nil
}

// one adapts a single-chart function to writePlots.
func one(f func() (*plot.Plot, string, error)) func() ([]*plot.Plot, string, error) {
	return func() ([]*plot.Plot, string, error) {
		p, name, err := f()
		if p == nil {
			return nil, name, err
		}
		return []*plot.Plot{p}, name, err
	}
}

// Size of every figure.
const (
	figureWidth  = 8 * vg.Inch
	figureHeight = 4.5 * vg.Inch
)

// saveRow draws plots side by side (each with its own axes) into path, an
// .svg, and the same figure as .png for viewers that do not render SVG.
func saveRow(path string, plots []*plot.Plot) error {
	canvases := map[string]vg.CanvasWriterTo{
		path: vgsvg.New(figureWidth, figureHeight),
		strings.TrimSuffix(path, ".svg") + ".png": vgimg.PngCanvas{Canvas: vgimg.New(figureWidth, figureHeight)},
	}
	for file, c := range canvases {
		tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2,
			PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		cells := plot.Align([][]*plot.Plot{plots}, tiles, draw.New(c))
		for i, p := range plots {
			p.Draw(cells[0][i])
		}
		if err := writeCanvas(file, c); err != nil {
			return err
		}
	}
	return nil
}

func writeCanvas(file string, c vg.CanvasWriterTo) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
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
