package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"powermail/impl/repair"
)

// writeMetricsFile writes the cluster-wide figures of a repair run in the
// Prometheus text format, for node_exporter's textfile collector (a
// systemd timer runs `ppadmin repair -dry-run -metrics-file ...`). Only a
// scan of every backend can say how many messages have fewer than R
// copies: no daemon sees the whole cluster, so this is where that gauge
// is computed (deploy/prometheus/alerts.yml alerts on it, and on the file
// getting old). prometheus.WriteToTextfile writes a temporary file and
// renames it, so the collector never reads half a file.
func writeMetricsFile(path string, rep *repair.Report, now time.Time) error {
	reg := prometheus.NewRegistry()
	dry := 0.0
	if rep.DryRun {
		dry = 1
	}
	for _, g := range []struct {
		name, help string
		v          float64
	}{
		{"last_run_timestamp_seconds", "When this repair run finished (Unix time).", float64(now.Unix())},
		{"dry_run", "1 if the run only planned (-dry-run), 0 if it repaired.", dry},
		{"redundancy", "R the run checked against.", float64(rep.Redundancy)},
		{"backends", "Backends the run was given.", float64(rep.Backends)},
		{"backends_unreachable", "Backends that could not be listed: their copies are unknown.", float64(len(rep.Unreachable))},
		{"mailboxes", "Mailboxes scanned.", float64(rep.Mailboxes)},
		{"messages_scanned", "Messages scanned (mailbox, id), deleted ones included.", float64(rep.Scanned)},
		{"messages_below_r", "Messages that had fewer than R copies when scanned.", float64(rep.BelowR)},
		{"messages_left_below_r", "Messages still below R after the run (dry run: that the planned copies could not fix).", float64(rep.BelowTarget)},
		{"orphan_copies", "Copies named by the orphan log removed (dry run: to remove).", float64(rep.OrphansRemoved)},
		{"errors", "Actions or listings that failed.", float64(rep.Errors)},
		{"messages_away_from_home", "Rendezvous placement: messages with a copy away from their home backends when scanned (0 under PowerMail's placement).", float64(rep.AwayFromHome)},
	} {
		gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "powermail_repair_" + g.name, Help: g.help})
		gauge.Set(g.v)
		reg.MustRegister(gauge)
	}
	return prometheus.WriteToTextfile(path, reg)
}
