package load

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"powermail/loadgen/gen"
)

func smtpConfig(addr string) SMTPConfig {
	return SMTPConfig{Addr: addr, Helo: "loadgen.test", From: "lg@test", Concurrency: 4,
		Count: 200, PerConn: 5, Rcpts: 2, Mailboxes: gen.Mailboxes{N: 10},
		RcptFormat: "u%d@test", Sizes: gen.Sizes{Dist: "fixed", Bytes: 2048}, Seed: 1,
		RunID: "t", Timeout: 10 * time.Second}
}

func (f *fakeMail) count() (msgs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.boxes {
		msgs += len(b)
	}
	return msgs
}

func TestSMTPClosedLoopCounts(t *testing.T) {
	for _, noPipe := range []bool{false, true} {
		t.Run(map[bool]string{false: "pipelined", true: "lockstep"}[noPipe], func(t *testing.T) {
			testClosedLoopCounts(t, noPipe)
		})
	}
}

func testClosedLoopCounts(t *testing.T, noPipelining bool) {
	f := newFake()
	addr := f.serve(t, f.smtp)
	cfg := smtpConfig(addr)
	cfg.NoPipeline = noPipelining
	res, err := RunSMTP(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, "smtp-closed", res.Mode)
	require.EqualValues(t, 200, res.Ops)
	require.EqualValues(t, 200, res.Messages)
	require.EqualValues(t, 400, res.Recipients)
	require.EqualValues(t, 200*2048, res.Bytes)
	require.Equal(t, 400, f.count(), "two mailbox copies per message")
	require.Empty(t, res.Errors)
	require.Equal(t, 200, res.Latency.Count)
	require.Greater(t, res.OpsPerSec, 0.0)
	require.Greater(t, res.CPU.UserSec+res.CPU.SysSec, 0.0)
}

func TestSMTPErrorsByReplyCode(t *testing.T) {
	f := newFake()
	f.rejectTo = "u0@test"
	var n atomic.Int64
	f.failData = func() bool { return n.Add(1)%10 == 0 }
	addr := f.serve(t, f.smtp)
	cfg := smtpConfig(addr)
	cfg.Rcpts = 1
	var ids strings.Builder
	cfg.IDLog = &ids
	res, err := RunSMTP(context.Background(), cfg)
	require.NoError(t, err)
	require.Greater(t, res.Errors["RCPT 550"], 0)
	require.Greater(t, res.Errors["DOT 451"], 0)
	require.EqualValues(t, 200, res.Ops+res.Failed)
	require.EqualValues(t, res.Errors["RCPT 550"]+res.Errors["DOT 451"], res.Failed)
	require.Equal(t, int(res.Ops), f.count())
	require.Equal(t, 200, strings.Count(ids.String(), "\n"))
	require.Contains(t, ids.String(), " 451 ")
}

func TestSummarizePercentiles(t *testing.T) {
	var xs []float64
	for i := 1000; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	l := Summarize(xs)
	require.Equal(t, 1000, l.Count)
	require.InDelta(t, 500, l.P50, 1)
	require.InDelta(t, 900, l.P90, 1)
	require.InDelta(t, 990, l.P99, 1)
	require.InDelta(t, 999, l.P999, 1)
	require.Equal(t, 1000.0, l.Max)
	require.InDelta(t, 500.5, l.Mean, 0.01)
	require.Equal(t, Latency{}, Summarize(nil))
}

func TestOpenLoopPacing(t *testing.T) {
	f := newFake()
	addr := f.serve(t, f.smtp)
	cfg := smtpConfig(addr)
	cfg.Count, cfg.Duration, cfg.Rate, cfg.Rcpts = 0, 2*time.Second, 300, 1
	res, err := RunSMTP(context.Background(), cfg)
	require.NoError(t, err)
	require.Equal(t, "smtp-open", res.Mode)
	require.InDelta(t, 600, res.Ops, 90, "arrivals in 2 s at 300/s")
	require.InDelta(t, 300, res.OpsPerSec, 45)
	require.Less(t, res.Latency.P50, 50.0, "an idle server answers at once")
}

// TestOpenLoopShowsQueueing stalls the server for 300 ms: a closed-loop
// client would see only its few in-flight messages slow, but latency from
// the intended send time shows every arrival that waited in the queue.
func TestOpenLoopShowsQueueing(t *testing.T) {
	f := newFake()
	start := time.Now()
	stallFrom, stallTo := 500*time.Millisecond, 800*time.Millisecond
	f.stall = func() time.Duration {
		if el := time.Since(start); el >= stallFrom && el < stallTo {
			return stallTo - el
		}
		return 0
	}
	addr := f.serve(t, f.smtp)
	cfg := smtpConfig(addr)
	cfg.Count, cfg.Duration, cfg.Rate, cfg.Rcpts, cfg.Concurrency = 0, 2*time.Second, 200, 1, 2
	res, err := RunSMTP(context.Background(), cfg)
	require.NoError(t, err)
	require.Greater(t, res.Latency.Max, 200.0)
	require.Greater(t, res.Latency.P99, 150.0, "queued arrivals count from their intended time")
	require.Less(t, res.Latency.P50, 50.0)
}

func TestPOPRetrievesAndVerifies(t *testing.T) {
	f := newFake()
	smtpAddr := f.serve(t, f.smtp)
	popAddr := f.serve(t, f.pop)
	cfg := smtpConfig(smtpAddr)
	cfg.Count, cfg.Rcpts, cfg.Mailboxes.N = 60, 1, 6
	_, err := RunSMTP(context.Background(), cfg)
	require.NoError(t, err)

	pc := POPConfig{Addr: popAddr, Concurrency: 3, Users: 6, UserFormat: "u%d@test",
		PassFormat: "pw-u%d@test", Retr: true, Verify: true}
	res, err := RunPOP(context.Background(), pc)
	require.NoError(t, err)
	require.EqualValues(t, 6, res.Ops)
	require.EqualValues(t, 60, res.Messages)
	require.EqualValues(t, 60, res.Verify.Checked)
	require.Zero(t, res.Verify.Corrupt)
	require.Equal(t, 60, res.RetrLatency.Count)

	// One flipped byte in one stored message is caught.
	f.mu.Lock()
	m := f.boxes["u3@test"][0]
	m[len(m)-100] ^= 0x20
	f.mu.Unlock()
	pc.Dele = true
	res, err = RunPOP(context.Background(), pc)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Verify.Corrupt)
	require.Contains(t, res.Verify.FirstError, "checksum")
	require.Zero(t, f.count(), "DELE then QUIT emptied the mailboxes")
}

func TestPOPLoginsAndBadPassword(t *testing.T) {
	f := newFake()
	popAddr := f.serve(t, f.pop)
	pc := POPConfig{Addr: popAddr, Concurrency: 2, Users: 4, UserFormat: "u%d@test",
		PassFormat: "pw-u%d@test", Sessions: 40}
	res, err := RunPOP(context.Background(), pc)
	require.NoError(t, err)
	require.EqualValues(t, 40, res.Ops)
	pc.PassFormat = "wrong"
	res, err = RunPOP(context.Background(), pc)
	require.NoError(t, err)
	require.EqualValues(t, 40, res.Errors["PASS -ERR"])
}
