package devcluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are the metric families of one /metrics page, by name.
type Metrics map[string]*dto.MetricFamily

// maxMetricsBytes bounds a /metrics page read by Scrape.
const maxMetricsBytes = 16 << 20

// scrapeTimeout bounds one Scrape.
const scrapeTimeout = 10 * time.Second

// Scrape reads http://addr/metrics (a daemon's metrics-listen address) and
// parses it.
func Scrape(ctx context.Context, addr string) (Metrics, error) {
	page, err := FetchMetrics(ctx, addr)
	if err != nil {
		return nil, err
	}
	m, err := ParseMetrics(page)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", addr, err)
	}
	return m, nil
}

// FetchMetrics returns the /metrics page at addr as served.
func FetchMetrics(ctx context.Context, addr string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", addr, resp.Status)
	}
	return io.ReadAll(http.MaxBytesReader(nil, resp.Body, maxMetricsBytes))
}

// ParseMetrics parses the Prometheus text exposition format with
// prometheus/common/expfmt.
func ParseMetrics(page []byte) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(bytes.NewReader(page))
}

// Sum adds the values of the samples of the counter, gauge or untyped
// family name whose labels include every pair of want (histogram and
// summary families: their sample counts). A missing family sums to 0.
func (m Metrics) Sum(name string, want map[string]string) float64 {
	mf, ok := m[name]
	if !ok {
		return 0
	}
	sum := 0.0
	for _, s := range mf.GetMetric() {
		if hasLabels(s, want) {
			sum += value(s)
		}
	}
	return sum
}

func hasLabels(s *dto.Metric, want map[string]string) bool {
	n := 0
	for _, l := range s.GetLabel() {
		if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(want)
}

func value(s *dto.Metric) float64 {
	switch {
	case s.Counter != nil:
		return s.Counter.GetValue()
	case s.Gauge != nil:
		return s.Gauge.GetValue()
	case s.Untyped != nil:
		return s.Untyped.GetValue()
	case s.Histogram != nil:
		return float64(s.Histogram.GetSampleCount())
	case s.Summary != nil:
		return float64(s.Summary.GetSampleCount())
	}
	return 0
}
