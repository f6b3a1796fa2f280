package paper

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// ChaosFigure is the figure WritePlots draws, relative to results/.
const ChaosFigure = "chaos/outcomes.svg"

// outcomeKinds are the stacks of the chaos figure: what became of the
// messages that were not acknowledged and retrieved, as counted by the
// checker (lost is allowed only where a cell expects it: disk loss at R=1).
// The rest of each bar's 100% was acknowledged with 250 and retrieved
// exactly once.
var outcomeKinds = []struct{ key, label string }{
	{"failed", "refused, or cut off before the reply to DATA (never visible)"},
	{"info", "no reply (outcome unknown)"},
	{"lost", "lost (acknowledged, gone; expected only for disk loss at R=1)"},
	{"violations", "duplicated, phantom, resurrected, corrupt"},
}

// WritePlots draws the figures of the paper that are made from results/
// rather than by the benchmark suite or the simulator: the chaos outcomes
// per fault class, summed over every (R, W) cell of the matrix. make paper
// calls it before regenerating the tables.
func WritePlots(root string) error {
	results := filepath.Join(root, "results")
	byFault, cells, err := chaosOutcomes(results)
	if err != nil {
		return err
	}
	p, err := chaosPlot(byFault, cells)
	if err != nil {
		return err
	}
	svg := filepath.Join(results, ChaosFigure)
	for _, f := range []string{svg, svg[:len(svg)-len(".svg")] + ".png"} {
		if err := p.Save(9*vg.Inch, 4.5*vg.Inch, f); err != nil {
			return err
		}
	}
	return nil
}

// chaosOutcomes sums each outcome over the cells of each fault class.
func chaosOutcomes(results string) (map[string]map[string]float64, int, error) {
	names, cells, files, err := chaosReports(results)
	if err != nil {
		return nil, 0, err
	}
	out := map[string]map[string]float64{}
	for _, n := range names {
		for _, r := range cells[n] {
			class := faultClass(r)
			if out[class] == nil {
				out[class] = map[string]float64{}
			}
			for _, k := range []string{"acked", "failed", "info", "lost"} {
				out[class][k] += num(r, "counts", k)
			}
			for _, k := range []string{"duplicated", "phantom", "resurrected", "corrupt"} {
				out[class]["violations"] += num(r, "counts", k)
			}
		}
	}
	return out, files, nil
}

// faultClass names a cell by the classes of its faults ("kill", "crash").
func faultClass(r object) string {
	var classes []string
	for _, e := range listOf(r, "config", "epochs") {
		for _, f := range listOf(e, "faults") {
			if c := str(f, "class"); !slices.Contains(classes, c) {
				classes = append(classes, c)
			}
		}
	}
	sort.Strings(classes)
	if len(classes) == 0 {
		return "none"
	}
	return strings.Join(classes, "+")
}

// chaosPlot stacks, per fault class, the share of messages sent that ended
// in each outcome other than "acknowledged and retrieved": horizontal bars,
// the largest at the bottom, on a square-root axis so that a 3% loss stays
// visible next to the 77% of messages cut off by powersmtp crashes.
func chaosPlot(byFault map[string]map[string]float64, cells int) (*plot.Plot, error) {
	faults := make([]string, 0, len(byFault))
	for f := range byFault {
		faults = append(faults, f)
	}
	share := func(f, key string) float64 {
		o := byFault[f]
		if sent := o["acked"] + o["failed"] + o["info"]; sent > 0 {
			return 100 * o[key] / sent
		}
		return 0
	}
	notAcked := func(f string) float64 { return 100 - share(f, "acked") }
	// By name where the shares are equal: the faults come from a map, and
	// the figure must not change from one make paper to the next.
	sort.Slice(faults, func(i, j int) bool {
		a, b := notAcked(faults[i]), notAcked(faults[j])
		return a > b || a == b && faults[i] < faults[j]
	})

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Chaos matrix, %d cells (all R,W): messages not acknowledged and retrieved", cells)
	p.X.Label.Text = "% of messages sent (square-root scale); the rest: 250, retrieved exactly once"
	p.X.Scale, p.X.Tick.Marker = sqrtScale{}, plot.ConstantTicks(percentTicks)
	var below *plotter.BarChart
	for i, kind := range outcomeKinds {
		vals := make(plotter.Values, len(faults))
		for j, f := range faults {
			vals[j] = share(f, kind.key)
		}
		bars, err := plotter.NewBarChart(vals, vg.Points(14))
		if err != nil {
			return nil, err
		}
		bars.Horizontal = true
		bars.Color, bars.LineStyle.Width = plotutil.Color(i), 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		p.Legend.Add(kind.label, bars)
	}
	p.Legend.Top = true
	labels := make([]string, len(faults))
	for j, f := range faults {
		o := byFault[f]
		labels[j] = fmt.Sprintf("%s (%.0f sent)", f, o["acked"]+o["failed"]+o["info"])
	}
	p.NominalY(labels...)
	return p, nil
}

// sqrtScale maps x to sqrt(x) on the axis (plot.Normalizer).
type sqrtScale struct{}

func (sqrtScale) Normalize(min, max, x float64) float64 {
	lo, hi := math.Sqrt(math.Max(min, 0)), math.Sqrt(math.Max(max, 0))
	return (math.Sqrt(math.Max(x, 0)) - lo) / (hi - lo)
}

var percentTicks = []plot.Tick{
	{Value: 0, Label: "0"}, {Value: 1, Label: "1"}, {Value: 5, Label: "5"}, {Value: 10, Label: "10"},
	{Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"},
}
