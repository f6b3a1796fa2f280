package ppserver

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics of the protocol server; the store counts its own fsyncs.
var (
	requestsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_listener_requests_total",
		Help: "Commands served, by verb and result (ok or the ERR code).",
	}, []string{"verb", "result"})
	requestSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "powermail_listener_request_seconds",
		Help: "Time from a command's line to its reply (END: the whole stream), by verb.",
		// 100 us (PING) to 10 s (a large upload on a slow disk).
		Buckets: prometheus.ExponentialBuckets(100e-6, 4, 9),
	}, []string{"verb"})
	bytesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_listener_bytes_total",
		Help: "Message bytes received (in: CHUNK payloads) and sent (out: GET payloads).",
	}, []string{"direction"})
	tombstonesExpired = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_listener_tombstones_expired_total",
		Help: "Tombstones removed after their time to live.",
	})
	bytesIn  = bytesTotal.WithLabelValues("in")
	bytesOut = bytesTotal.WithLabelValues("out")
)

func countRequest(verb string, code int, took time.Duration) {
	if _, known := verbs[verb]; !known {
		verb = "unknown" // keeps the label's values bounded
	}
	requestSeconds.WithLabelValues(verb).Observe(took.Seconds())
	result := "ok"
	if code != 0 {
		result = strconv.Itoa(code)
	}
	requestsTotal.WithLabelValues(verb, result).Inc()
}
