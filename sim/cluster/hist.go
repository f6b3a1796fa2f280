package cluster

import "math"

// hist is a log-bucketed latency histogram: 2% wide buckets from 1 us to
// about 3 hours. Quantiles are exact to the bucket, and merging or
// recording costs no allocation, whatever the number of samples.
type hist struct {
	counts []int64
	n      int64
	sum    float64
	max    float64
}

const (
	histMinSec = 1e-6
	histRatio  = 1.02
	histBins   = 1200
)

func (h *hist) add(sec float64) {
	if h.counts == nil {
		h.counts = make([]int64, histBins)
	}
	i := 0
	if sec > histMinSec {
		i = min(histBins-1, int(math.Log(sec/histMinSec)/math.Log(histRatio))+1)
	}
	h.counts[i]++
	h.n++
	h.sum += sec
	h.max = max(h.max, sec)
}

// quantile returns the upper edge of the bucket holding quantile q.
func (h *hist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	target := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= target {
			return min(h.max, histMinSec*math.Pow(histRatio, float64(i)))
		}
	}
	return h.max
}

// Latency summarises a histogram in milliseconds.
type Latency struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func (h *hist) summary() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{Count: h.n, MeanMs: 1e3 * h.sum / float64(h.n), P50Ms: 1e3 * h.quantile(0.5),
		P90Ms: 1e3 * h.quantile(0.9), P99Ms: 1e3 * h.quantile(0.99), MaxMs: 1e3 * h.max}
}
