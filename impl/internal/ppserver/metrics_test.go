package ppserver_test

import (
	"bufio"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// TestRequestMetrics: commands are counted by verb and result, unknown verbs
// under one label, and GET payload bytes as bytes out.
func TestRequestMetrics(t *testing.T) {
	st := newFakeStore(t.TempDir())
	c, p := newPipeClient(t, newServer(t, st), testSecret)
	before := snapshot(t)
	ctx := ctxT(t)
	id := msgid.New(time.Now())
	u, _ := c.Begin(ctx, id)
	u.Write([]byte("0123456789"))
	if err := u.Finish(); err != nil {
		t.Fatal(err)
	}
	c.Commit(ctx, id, []mailbox.Name{ann})
	c.Get(ctx, ann, id, io.Discard)
	c.Get(ctx, ann, msgid.New(time.Now()), io.Discard) // 550
	raw := p.rawConn(t)
	r := bufio.NewReader(raw)
	r.ReadString('\n')            // greeting
	raw.Write([]byte("FROB\r\n")) // unknown verb (even before AUTH): 500
	r.ReadString('\n')
	raw.Close()
	for key, want := range map[string]float64{
		"requests GET ok": 1, "requests GET 550": 1, "requests PREPARE ok": 1,
		"requests COMMIT ok": 1, "requests unknown 500": 1, "bytes out": 10, "bytes in": 10,
	} {
		if got := snapshot(t)[key] - before[key]; got != want {
			t.Errorf("%s: %v, want %v", key, got, want)
		}
	}
}

// snapshot flattens the listener's counters into "requests VERB RESULT" and
// "bytes DIRECTION" keys.
func snapshot(t *testing.T) map[string]float64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case "powermail_listener_requests_total":
				out["requests "+labels["verb"]+" "+labels["result"]] = m.GetCounter().GetValue()
			case "powermail_listener_bytes_total":
				out["bytes "+labels["direction"]] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
