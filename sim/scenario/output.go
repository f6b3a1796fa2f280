// Package scenario runs the simulator's experiments and writes each one's
// JSON result and SVG chart under an output directory (results/sim/).
package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"powermail/sim/calib"
)

// Options are shared by all scenarios.
type Options struct {
	OutDir  string
	Seed    uint64
	Costs   calib.Costs
	Quick   bool // shorter simulated time for the biggest points (make sim)
	Budget  int  // messages simulated per scale-out point
	Measure string
	Log     func(format string, args ...any)
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// writeJSON writes v, indented, to dir/name.json.
func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644)
}

// series is one line of a chart.
type series struct {
	Name string
	X, Y []float64
}

// chart describes a line chart.
type chart struct {
	Title, XLabel, YLabel string
	LogX, LogY            bool
	Lines                 []series
}

// save draws c as dir/name.svg.
func (c chart) save(dir, name string) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = c.Title, c.XLabel, c.YLabel
	if c.LogX {
		p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	if c.LogY {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	}
	var args []any
	for _, s := range c.Lines {
		xys := make(plotter.XYs, 0, len(s.X))
		for i := range s.X {
			if !(c.LogY && s.Y[i] <= 0) && !math.IsInf(s.Y[i], 0) {
				xys = append(xys, plotter.XY{X: s.X[i], Y: s.Y[i]})
			}
		}
		args = append(args, s.Name, xys)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("chart %s: %w", name, err)
	}
	p.Legend.Top = true
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, name+".svg"))
}
