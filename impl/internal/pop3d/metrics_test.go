package pop3d

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsCountSessions checks the counters of one session by their deltas
// (the metrics are process-wide).
func TestMetricsCountSessions(t *testing.T) {
	before := map[string]float64{
		"failed":  testutil.ToFloat64(metricLogins.WithLabelValues(loginFailed)),
		"ok":      testutil.ToFloat64(metricLogins.WithLabelValues(loginOK)),
		"retr":    testutil.ToFloat64(metricCommands.WithLabelValues("RETR", "ok")),
		"unknown": testutil.ToFloat64(metricCommands.WithLabelValues("other", "err")),
		"bytes":   testutil.ToFloat64(metricBytesSent),
	}
	w := newWorld()
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	c.expectPrefix("+OK")
	c.cmd("USER alice@example.com")
	c.cmd("PASS wrong")
	c.cmd("FROB")
	c.cmd("USER alice@example.com")
	c.cmd("PASS secret")
	c.cmd("RETR 1")
	c.multi()
	c.cmd("QUIT")
	c.close()
	after := map[string]float64{
		"failed":  testutil.ToFloat64(metricLogins.WithLabelValues(loginFailed)),
		"ok":      testutil.ToFloat64(metricLogins.WithLabelValues(loginOK)),
		"retr":    testutil.ToFloat64(metricCommands.WithLabelValues("RETR", "ok")),
		"unknown": testutil.ToFloat64(metricCommands.WithLabelValues("other", "err")),
		"bytes":   testutil.ToFloat64(metricBytesSent),
	}
	want := map[string]float64{"failed": 1, "ok": 1, "retr": 1, "unknown": 1, "bytes": float64(len(stuff(msgPlain)))}
	for k, d := range want {
		if got := after[k] - before[k]; got != d {
			t.Errorf("%s: +%v, want +%v", k, got, d)
		}
	}
	if n := testutil.CollectAndCount(metricRetrSeconds); n != 1 {
		t.Errorf("RETR latency histogram: %d series", n)
	}
}
