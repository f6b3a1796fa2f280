package scenario

import (
	"fmt"

	"powermail/sim/cluster"
)

// Per-mailbox traffic of the scale-out runs: ten messages a day, and a POP3
// client that checks once an hour (download and delete).
const (
	msgsPerMailboxDay   = 10
	loginsPerMailboxDay = 24
	secPerDay           = 86400
	rackBackends        = 10 // backends per failure domain (a rack)
	minRacks            = 3
	maxPointSec         = 3600
	minRendezvousSec    = 30
)

var (
	scaleBackends  = []int{10, 30, 100, 300, 1000}
	scaleMailboxes = []uint64{1e6, 1e7, 1e8}
	scalePolicies  = []string{"powermail", "rendezvous"}
)

// ScalePoint is one cell of the grid.
type ScalePoint struct {
	Policy             string  `json:"policy"`
	Backends           int     `json:"backends"`
	Mailboxes          uint64  `json:"mailboxes"`
	OfferedMsgS        float64 `json:"offered_msgs_per_sec"`
	SimulatedSec       float64 `json:"simulated_sec"`
	Delivered          int64   `json:"delivered"`
	CapacityMsgS       float64 `json:"capacity_msgs_per_sec"`
	CapacitySpreadMsgS float64 `json:"capacity_spread_msgs_per_sec"`
	CapacityMailboxes  float64 `json:"capacity_mailboxes"` // mailboxes served at this traffic before the busiest backend saturates
	UtilMax            float64 `json:"backend_util_max"`
	UtilMean           float64 `json:"backend_util_mean"`
	ContactedPerLogin  float64 `json:"backends_contacted_per_login"`
	WrittenMaxOverMean float64 `json:"written_max_over_mean"`
	FilesMaxOverMean   float64 `json:"files_max_over_mean"`
	StoredMaxOverMean  float64 `json:"stored_max_over_mean"`
	FilesPerMessage    float64 `json:"files_per_message"`
	CopiesPerMessage   float64 `json:"copies_per_message"`
	WallSec            float64 `json:"wall_sec"`
}

// ScaleOut runs the grid of backends x mailboxes x policy, then the growth
// run (backends added half way).
func ScaleOut(o Options) error {
	var points []ScalePoint
	for _, pol := range scalePolicies {
		for _, m := range scaleMailboxes {
			for _, n := range scaleBackends {
				p, err := scalePoint(o, pol, n, m)
				if err != nil {
					return err
				}
				o.logf("scale-out %s N=%d M=%.0e: capacity %.0f msg/s, contacted %.1f, files balance %.2f (%.1fs)",
					pol, n, float64(m), p.CapacityMsgS, p.ContactedPerLogin, p.FilesMaxOverMean, p.WallSec)
				points = append(points, p)
			}
		}
	}
	skewed, err := skewRuns(o)
	if err != nil {
		return err
	}
	growth, err := growthRuns(o)
	if err != nil {
		return err
	}
	out := map[string]any{"scenario": "scale-out", "model": scaleNote(o), "r": 2, "w": 2,
		"msgs_per_mailbox_day": msgsPerMailboxDay, "logins_per_mailbox_day": loginsPerMailboxDay,
		"backends_per_rack": rackBackends, "min_racks": minRacks, "points": points, "zipf_s": skewZipfS, "skewed": skewed, "growth": growth}
	if err := writeJSON(o.OutDir, "scale-out", out); err != nil {
		return err
	}
	return scaleCharts(o, points, growth)
}

func scaleNote(o Options) string {
	return fmt.Sprintf("each point simulates %d messages (at most %d s; rendezvous at least %d s) of open-loop traffic; capacity is the offered rate "+
		"divided by the busiest backend's utilisation (logins scaled in proportion); a PowerMail login charges a LIST "+
		"to every backend, a rendezvous login to the mailbox's backends; backends are 2-core hosts with the calibrated costs",
		o.Budget, maxPointSec, minRendezvousSec)
}

// racks is the number of failure domains of n backends: racks of ten, at
// least three (so that R <= 3 copies can always sit in distinct racks).
func racks(n int) int { return max(minRacks, n/rackBackends) }

func scaleConfig(o Options, pol string, n int, m uint64) cluster.Config {
	c := cluster.Defaults()
	c.Seed, c.Costs, c.Policy = o.Seed, o.Costs, pol
	c.Backends, c.Groups, c.Mailboxes = n, racks(n), m
	c.SMTPRate = float64(m) * msgsPerMailboxDay / secPerDay
	c.LoginRate = float64(m) * loginsPerMailboxDay / secPerDay
	c.Duration = min(maxPointSec, float64(o.Budget)/c.SMTPRate)
	if pol == "rendezvous" {
		// No placement.Choose: cheap enough for a window long enough that
		// the busiest backend is not decided by one huge message.
		c.Duration = max(c.Duration, minRendezvousSec)
	}
	c.Costs.NetRTTMs, c.Costs.NetGbitPerSec = 0.1, 10 // a data-centre LAN, not loopback
	return c
}

func scalePoint(o Options, pol string, n int, m uint64) (ScalePoint, error) {
	return runPoint(scaleConfig(o, pol, n, m))
}

// Skewed popularity: mailboxes drawn Zipf(s) instead of uniformly, for
// recipients and for logins alike (loadgen's -zipf). Per-mailbox placement
// puts a popular mailbox's whole load on its R backends.
const (
	skewZipfS     = 1.1
	skewMailboxes = 1e7
)

var skewBackends = []int{10, 100, 1000}

func skewRuns(o Options) ([]ScalePoint, error) {
	var out []ScalePoint
	for _, pol := range scalePolicies {
		for _, n := range skewBackends {
			c := scaleConfig(o, pol, n, skewMailboxes)
			c.Mix.ZipfS = skewZipfS
			p, err := runPoint(c)
			if err != nil {
				return nil, err
			}
			o.logf("skewed %s N=%d: capacity %.0f msg/s, files balance %.2f", pol, n, p.CapacityMsgS, p.FilesMaxOverMean)
			out = append(out, p)
		}
	}
	return out, nil
}

func runPoint(c cluster.Config) (ScalePoint, error) {
	pol, n, m := c.Policy, c.Backends, c.Mailboxes
	s, err := cluster.New(c)
	if err != nil {
		return ScalePoint{}, err
	}
	r := s.Run()
	return ScalePoint{Policy: pol, Backends: n, Mailboxes: m, OfferedMsgS: c.SMTPRate, SimulatedSec: c.Duration,
		Delivered: r.Delivered, CapacityMsgS: r.CapacityMsgS, CapacitySpreadMsgS: r.CapacitySpreadMsgS, CapacityMailboxes: float64(m) * r.CapacityMsgS / c.SMTPRate,
		UtilMax: r.UtilMax, UtilMean: r.UtilMean, ContactedPerLogin: r.ContactedMean,
		WrittenMaxOverMean: r.WrittenMaxMean, FilesMaxOverMean: r.FilesMaxMean, StoredMaxOverMean: r.StoredMaxMean,
		FilesPerMessage: r.FilesPerMessage, CopiesPerMessage: r.CopiesPerMsg, WallSec: r.Run.WallSec}, nil
}

// Growth: 50 backends, 50 more join after an hour; no file moves.
const (
	growthStart     = 50
	growthAdded     = 50
	growthMailboxes = 1e6
	growthSec       = 7200
	growthSampleSec = 600
)

// GrowthRun is the time series of one policy.
type GrowthRun struct {
	Policy  string           `json:"policy"`
	Samples []cluster.Sample `json:"samples"`
	Result  cluster.Result   `json:"result"`
}

func growthRuns(o Options) ([]GrowthRun, error) {
	var out []GrowthRun
	for _, pol := range scalePolicies {
		c := scaleConfig(o, pol, growthStart, growthMailboxes)
		c.Duration, c.SampleEverySec = growthSec, growthSampleSec
		c.Additions = []cluster.Addition{{AtSec: growthSec / 2, Count: growthAdded}}
		s, err := cluster.New(c)
		if err != nil {
			return nil, err
		}
		r := s.Run()
		samples := r.Samples
		r.Samples, r.Run = nil, cluster.RunCost{}
		out = append(out, GrowthRun{Policy: pol, Samples: samples, Result: r})
		o.logf("growth %s: %d delivered", pol, r.Delivered)
	}
	return out, nil
}

func scaleCharts(o Options, points []ScalePoint, growth []GrowthRun) error {
	charts := map[string]chart{
		"scale-out-capacity": {Title: "Cluster capacity (10 msgs + 24 POP3 logins per mailbox per day)",
			XLabel: "backends", YLabel: "messages/s at saturation", LogX: true, LogY: true},
		"scale-out-contacted": {Title: "Backends contacted per POP3 login", XLabel: "backends",
			YLabel: "backends per login", LogX: true, LogY: true},
		"scale-out-balance": {Title: "Storage balance (copies written per backend, max/mean)", XLabel: "backends",
			YLabel: "max / mean", LogX: true},
	}
	for _, pol := range scalePolicies {
		for _, m := range scaleMailboxes {
			name := fmt.Sprintf("%s %.0e mailboxes", pol, float64(m))
			var cap, cont, bal series
			cap.Name, cont.Name, bal.Name = name, name, name
			for _, p := range points {
				if p.Policy == pol && p.Mailboxes == m {
					x := float64(p.Backends)
					cap.X, cap.Y = append(cap.X, x), append(cap.Y, p.CapacityMsgS)
					cont.X, cont.Y = append(cont.X, x), append(cont.Y, p.ContactedPerLogin)
					bal.X, bal.Y = append(bal.X, x), append(bal.Y, p.FilesMaxOverMean)
				}
			}
			for k, s := range map[string]series{"scale-out-capacity": cap, "scale-out-contacted": cont, "scale-out-balance": bal} {
				c := charts[k]
				c.Lines = append(c.Lines, s)
				charts[k] = c
			}
		}
	}
	for _, name := range []string{"scale-out-capacity", "scale-out-contacted", "scale-out-balance"} {
		if err := charts[name].save(o.OutDir, name); err != nil {
			return err
		}
	}
	return growthChart(o, growth)
}

func growthChart(o Options, growth []GrowthRun) error {
	c := chart{Title: "50 backends, 50 added at t = 1 h: share of new mail on the new backends",
		XLabel: "time (s)", YLabel: "share of bytes written"}
	for _, g := range growth {
		s := series{Name: g.Policy}
		for _, p := range g.Samples {
			s.X, s.Y = append(s.X, p.AtSec), append(s.Y, p.NewestShare)
		}
		c.Lines = append(c.Lines, s)
	}
	return c.save(o.OutDir, "scale-out-growth")
}
