package pop3d

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Login results, the values of the "result" label of metricLogins.
const (
	loginOK        = "ok"
	loginFailed    = "failed"    // bad credentials (unknown user included)
	loginTempFail  = "tempfail"  // userbase or maildrop temporarily unavailable
	loginPermFail  = "permfail"  // other error from userbase or maildrop
	loginInUse     = "in_use"    // maildrop locked by another session
	loginPlaintext = "plaintext" // refused: plaintext credentials without TLS
)

var (
	metricLogins = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_pop_logins_total",
		Help: "POP3 login attempts by result.",
	}, []string{"result"})
	metricCommands = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_pop_commands_total",
		Help: "POP3 commands by verb (unknown verbs as \"other\") and result (ok, err).",
	}, []string{"verb", "result"})
	metricBytesSent = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_pop_bytes_sent_total",
		Help: "Message bytes sent to clients by RETR and TOP.",
	})
	metricRetrSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "powermail_pop_retr_seconds",
		Help:    "Time to send one message by RETR, from command to terminator.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10), // 1 ms .. 262 s
	})
	metricConnections = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "powermail_pop_connections",
		Help: "Open POP3 connections.",
	})
	metricRefused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_pop_connections_refused_total",
		Help: "Connections refused at accept, by reason (limit).",
	}, []string{"reason"})
)
