package smtpd

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricReplies = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_smtp_commands_total",
		Help: "SMTP replies sent, by command verb (\"other\" for unknown verbs) and reply code.",
	}, []string{"verb", "code"})
	metricSessions = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_smtp_sessions_total",
		Help: "SMTP sessions started.",
	})
	metricSessionsActive = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "powermail_smtp_sessions_active",
		Help: "SMTP sessions in progress.",
	})
	metricRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_smtp_connections_refused_total",
		Help: "Connections refused with 421 because a connection limit was reached, by limit.",
	}, []string{"limit"})
	metricBytes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_smtp_received_bytes_total",
		Help: "Message bytes received in DATA and BDAT, in stored form.",
	})
)
