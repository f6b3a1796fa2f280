// Package cluster is the simulated PowerMail cluster: SMTP arrivals, the
// placement policy, backends as FIFO stations, POP3 logins, failures and
// backends added over time, driven by one event queue and one seed.
//
// # Model
//
//   - A message arrives (open loop: Poisson; closed loop: a session sends the
//     next one when the last was answered). The front end spends SMTPCPU on
//     it, then sends it to the policy's backends (network: a round trip plus
//     size over bandwidth). Each replica costs a backend write (CPU on the
//     backend's host station, then a flush delay); the message is answered
//     250 when W replicas of every file are durable.
//   - A POP3 login lists every backend the policy says may hold the mailbox,
//     then retrieves every waiting message from one copy and deletes all
//     copies (POP3 clients of the PowerMail era download and delete).
//   - Backends crash (down for a while, data kept) and lose disks (data on
//     them gone; repair copies it back at RepairMBps). Backends join at
//     given times, empty.
//
// # Memory
//
// Only mailboxes that hold mail have a record (a map entry and a 12-byte
// record); a stored message is one 24-byte file record plus 8 bytes per
// recipient link. Nothing is kept per idle mailbox, so 10^8 mailboxes cost
// no more than 10^6 when traffic is the same.
package cluster

import (
	"fmt"

	"powermail/impl/placement"
	"powermail/sim/calib"
	"powermail/sim/policy"
	"powermail/sim/workload"
)

// Addition adds Count backends at AtSec.
type Addition struct {
	AtSec float64 `json:"at_sec"`
	Count int     `json:"count"`
}

// Config is one simulation run.
type Config struct {
	Seed       uint64           `json:"seed"`
	Backends   int              `json:"backends"`
	Groups     int              `json:"groups"`      // failure domains; backend i is in i % Groups
	SharedHost bool             `json:"shared_host"` // all backends and the front end on one host (the benchmark machine)
	R          int              `json:"r"`
	W          int              `json:"w"`
	Spread     placement.Spread `json:"spread"`
	Policy     string           `json:"policy"` // "powermail" or "rendezvous"
	Mailboxes  uint64           `json:"mailboxes"`
	Mix        workload.Mix     `json:"mix"`
	SMTPRate   float64          `json:"smtp_rate"` // messages/s, open loop
	Sessions   int              `json:"sessions"`  // > 0: closed loop instead
	LoginRate  float64          `json:"login_rate"`
	Duration   float64          `json:"duration_sec"`
	Warmup     float64          `json:"warmup_sec"` // latencies before this are not recorded
	// QueueBroadcast: queue a PowerMail login's LIST on every backend. With
	// many backends this is N jobs per login; off, each backend is charged
	// the LIST's CPU without queueing it (throughput stays exact, LIST
	// latency is not modelled).
	QueueBroadcast bool    `json:"queue_broadcast"`
	CapacityGiB    float64 `json:"capacity_gib"` // per backend
	StatEverySec   float64 `json:"stat_every_sec"`
	// ExpService draws every service time from an exponential distribution
	// with the calibrated mean (M/M/c stations); off, service times are
	// exactly the mean (M/D/c).
	ExpService bool `json:"exp_service"`
	// GroupCommit models each backend's flushes as the store does them
	// (groupcommit.go) instead of a fixed delay per replica: the
	// benchmark's cluster, where flushes bind as much as CPU does.
	GroupCommit    bool        `json:"group_commit"`
	AFR            float64     `json:"afr"`            // disk losses per backend-year
	CrashPerYear   float64     `json:"crash_per_year"` // crashes per backend-year
	CrashDownSec   float64     `json:"crash_down_sec"`
	RepairMBps     float64     `json:"repair_mbps"`
	Additions      []Addition  `json:"additions"`
	SampleEverySec float64     `json:"sample_every_sec"` // > 0: a time series in Result.Samples
	Costs          calib.Costs `json:"-"`
}

// Defaults are a modest open-loop cluster; scenarios override fields.
func Defaults() Config {
	return Config{
		Seed: 1, Backends: 10, Groups: 10, R: 2, W: 2, Spread: placement.SpreadFree,
		Policy: "powermail", Mailboxes: 100000, Mix: workload.Realistic(),
		SMTPRate: 100, LoginRate: 100, Duration: 600, CapacityGiB: 4000, StatEverySec: 600,
		CrashDownSec: 600, RepairMBps: 100, ExpService: true, Costs: calib.Default(),
	}
}

// Validate rejects impossible runs.
func (c Config) Validate() error {
	switch {
	case c.Backends < 1 || c.Groups < 1:
		return fmt.Errorf("cluster: need at least one backend and one group")
	case c.R < 1 || c.W < 1 || c.W > c.R || c.R > policy.MaxR:
		return fmt.Errorf("cluster: need 1 <= W <= R <= %d, got R=%d W=%d", policy.MaxR, c.R, c.W)
	case c.Policy != "powermail" && c.Policy != "rendezvous":
		return fmt.Errorf("cluster: unknown policy %q", c.Policy)
	case c.Mailboxes < 2 || c.Mailboxes > 1<<32:
		return fmt.Errorf("cluster: mailboxes must be in [2, 2^32]")
	case c.Duration <= 0 || (c.SMTPRate <= 0 && c.Sessions <= 0):
		return fmt.Errorf("cluster: need a duration and some traffic")
	case c.Backends+addedBackends(c.Additions) > 1<<15:
		return fmt.Errorf("cluster: at most 32768 backends")
	case c.SharedHost && !c.QueueBroadcast:
		return fmt.Errorf("cluster: a shared host needs queue_broadcast (its one station is the bottleneck)")
	case c.GroupCommit && (c.Costs.FlushesPerWrite < 1 || c.CrashPerYear > 0 || c.AFR > 0):
		return fmt.Errorf("cluster: group_commit needs flushes_per_write >= 1 and no failures")
	}
	return c.Costs.Validate()
}

func addedBackends(a []Addition) int {
	n := 0
	for _, x := range a {
		n += x.Count
	}
	return n
}
