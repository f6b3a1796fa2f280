package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricActive = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "powermail_connections_active",
		Help: "Open sessions, by server (smtp, pop3, backend).",
	}, []string{"server"})
	metricRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_connections_refused_total",
		Help: "Connections refused, by server and reason (per_ip, full, shutdown).",
	}, []string{"server", "reason"})
	metricEvicted = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_connections_evicted_total",
		Help: "Idle sessions closed to make room for a new connection, by server.",
	}, []string{"server"})
)
