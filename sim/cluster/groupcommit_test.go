package cluster

import (
	"math"
	"testing"

	"powermail/sim/workload"
)

// gcConfig is one backend on a big host, where only the flush binds:
// CPU is 1 us per stage, a flush 1 ms, both exact (no draws).
func gcConfig(sessions int) Config {
	c := Defaults()
	c.Backends, c.Groups, c.R, c.W, c.Mailboxes = 1, 1, 1, 1, 100
	c.Sessions, c.SMTPRate, c.LoginRate, c.Duration, c.Warmup = sessions, 0, 0, 10, 1
	c.Mix, c.ExpService, c.GroupCommit = workload.Fixed(4), false, true
	c.Costs.HostCPUs, c.Costs.SMTPCPUMs, c.Costs.NetRTTMs = 64, 0.001, 0
	c.Costs.WriteCPUMs, c.Costs.WriteCPUPerKiBMs, c.Costs.WriteFlushMs = 0.002, 0, 1
	c.Costs.FlushesPerWrite = 2
	return c
}

// TestGroupCommitAlone: one writer waits for two flushes of its own, so a
// message takes two flush times and costs two flushes.
func TestGroupCommitAlone(t *testing.T) {
	r := run(t, gcConfig(1))
	if math.Abs(r.FlushesPerMsg-2) > 0.01 {
		t.Errorf("flushes per message %v, want 2", r.FlushesPerMsg)
	}
	if p50 := r.Deliver.P50Ms; p50 < 2 || p50 > 2.1 {
		t.Errorf("p50 %v ms, want just over 2 (two flushes)", p50)
	}
}

// TestGroupCommitShares: sixteen writers share flushes. Each stage of a
// writer waits for the flush after the one running when it became ready,
// so the flush runs back to back, every message waits about four flush
// times and the sixteen share them: about 4 ms per message, 16 / 4 ms =
// 4,000 msg/s and well under one flush per message.
func TestGroupCommitShares(t *testing.T) {
	r := run(t, gcConfig(16))
	if r.FlushesPerMsg > 0.5 {
		t.Errorf("flushes per message %v: not shared", r.FlushesPerMsg)
	}
	if r.ThroughputMsgS < 3000 || r.ThroughputMsgS > 9000 {
		t.Errorf("throughput %v msg/s, want a few thousand", r.ThroughputMsgS)
	}
}
