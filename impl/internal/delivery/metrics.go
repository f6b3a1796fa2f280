package delivery

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"powermail/impl/mail"
)

var (
	deliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_smtp_deliveries_total",
		Help: "Messages by outcome: accepted, or the reply code of the refusal.",
	}, []string{"outcome"})
	replicaOutcomes = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_smtp_replica_outcomes_total",
		Help: "Replica steps by backend, phase (begin, prepare, commit, abort) and result.",
	}, []string{"backend", "phase", "result"})
	acceptSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "powermail_smtp_accept_seconds",
		Help:    "Time from the start of delivery to the decision (250 or refusal).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	commitSpread = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "powermail_smtp_commit_spread_seconds",
		Help: "Per message with two or more replicas, time from the first COMMIT answer to the last: " +
			"the window in which a copy may be listed before the delivery's outcome is known.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
	})
	deliveredBytes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_smtp_delivered_bytes_total",
		Help: "Bytes of accepted messages (once per message, not per replica).",
	})
)

func replicaOutcome(backend, phase string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	replicaOutcomes.WithLabelValues(backend, phase, result).Inc()
}

func observe(res Result, err error, took time.Duration) {
	acceptSeconds.Observe(took.Seconds())
	if err == nil {
		deliveries.WithLabelValues("accepted").Inc()
		deliveredBytes.Add(float64(res.Bytes))
		return
	}
	outcome := "error"
	var e *mail.Reply
	if errors.As(err, &e) {
		outcome = strconv.Itoa(e.Code)
	}
	deliveries.WithLabelValues(outcome).Inc()
}
