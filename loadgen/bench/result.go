package bench

import (
	"fmt"
	"maps"
	"slices"

	"powermail/loadgen/limits"
)

// Result is one scenario's JSON file.
type Result struct {
	Scenario    string          `json:"scenario"`
	Description string          `json:"description"`
	Quick       bool            `json:"quick"`
	Params      map[string]any  `json:"params"`
	Runs        int             `json:"runs"`
	Metrics     map[string]Stat `json:"metrics"`
	// Limits relate a metric to the machine limit that binds it.
	Limits  []LimitRef `json:"limits,omitempty"`
	Notes   []string   `json:"notes,omitempty"`
	Skipped string     `json:"skipped,omitempty"`
	Raw     []any      `json:"raw,omitempty"` // loadgen results of every run
	// Run and State: which run and commit, and how quiet the machine was
	// before the scenario; Forced: written although it was busy.
	Run    RunInfo      `json:"run"`
	State  limits.Quiet `json:"machine_state"`
	Forced bool         `json:"forced_on_busy_machine,omitempty"`
}

// Stat is one metric over the runs.
type Stat struct {
	Median    float64   `json:"median"`
	Min       float64   `json:"min"`
	Max       float64   `json:"max"`
	SpreadPct float64   `json:"spread_pct"` // (max - min) / median
	Values    []float64 `json:"values"`
}

// LimitRef is a metric read as a fraction of a machine limit.
type LimitRef struct {
	Metric   string  `json:"metric"`
	Limit    string  `json:"limit"` // what binds, in words
	Value    float64 `json:"limit_value"`
	Fraction float64 `json:"fraction"` // median of Metric / Value
}

// sample is one run's metrics.
type sample map[string]float64

// aggregate builds a Result from the runs' samples.
func aggregate(params map[string]any, samples []sample, raw []any) *Result {
	r := &Result{Params: params, Runs: len(samples), Metrics: map[string]Stat{}, Raw: raw}
	values := map[string][]float64{}
	for _, s := range samples {
		for k, v := range s {
			values[k] = append(values[k], v)
		}
	}
	for k, v := range values {
		r.Metrics[k] = statOf(v)
	}
	return r
}

// bind records metric as a fraction of a limit (skipped if unknown).
func (r *Result) bind(metric, limit string, value float64) {
	m, ok := r.Metrics[metric]
	if !ok || value <= 0 {
		return
	}
	r.Limits = append(r.Limits, LimitRef{Metric: metric, Limit: limit, Value: value, Fraction: m.Median / value})
}

func (r *Result) median(metric string) float64 { return r.Metrics[metric].Median }

func (r *Result) headline() string {
	if r.Skipped != "" {
		return "skipped: " + r.Skipped
	}
	s := ""
	for _, k := range slices.Sorted(maps.Keys(r.Metrics)) {
		s += fmt.Sprintf("%s=%.4g ", k, r.Metrics[k].Median)
	}
	return s
}
