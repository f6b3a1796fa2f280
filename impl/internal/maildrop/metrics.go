package maildrop

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	fallbacks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_pop_replica_fallbacks_total",
		Help: "RETR/TOP reads that moved to another copy after a replica failed.",
	})
	extraListings = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_pop_extra_listings_total",
		Help: "Logins whose listing of the home backends was incomplete, so they also listed deeper ranks (rendezvous placement).",
	})
	backendErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "powermail_pop_backend_errors_total",
		Help: "Backend operations that failed, by backend and operation (list, get, delete).",
	}, []string{"backend", "op"})
)
