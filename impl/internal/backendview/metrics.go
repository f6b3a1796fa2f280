package backendview

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	backendUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "powermail_backend_up",
		Help: "1 when the last health check of the backend succeeded.",
	}, []string{"backend"})
	markedDown = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_backend_marked_down_total",
		Help: "Transport failures that took a backend out of service before its next health check.",
	}, []string{"backend"})
)
