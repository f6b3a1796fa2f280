package bench

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// popPlots: POP3 RETR throughput of 4 KiB and 512 KiB messages next to
// the machine limit that binds it (loopback sendfile of files that size,
// 8 connections), one panel per size since the two differ twentyfold.
func (e *env) popPlots() ([]*plot.Plot, string, error) {
	var plots []*plot.Plot
	for _, size := range []string{"4k", "512k"} {
		r, ok := e.results["pop3-retr-"+size]
		if !ok {
			continue
		}
		limit := limitOf(r, "mb_per_sec")
		if limit == nil {
			continue
		}
		labels := []string{"RETR, verified", "RETR, unverified", "sendfile limit"}
		vals := plotter.Values{r.median("mb_per_sec"), r.median("mb_per_sec_unverified"), limit.Value}
		p, err := barPlot(fmt.Sprintf("POP3 RETR %s (%.0f%% of limit)", sizeLabel(size), 100*limit.Fraction),
			"MB/s (median)", labels, vals)
		if err != nil {
			return nil, "", err
		}
		plots = append(plots, p)
	}
	return plots, "pop3-throughput.svg", nil
}

func sizeLabel(size string) string {
	return map[string]string{"4k": "4 KiB", "512k": "512 KiB"}[size]
}

func limitOf(r *Result, metric string) *LimitRef {
	for i := range r.Limits {
		if r.Limits[i].Metric == metric {
			return &r.Limits[i]
		}
	}
	return nil
}
