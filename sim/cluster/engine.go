package cluster

import (
	"math/rand/v2"
	"time"

	"powermail/impl/placement"
	"powermail/sim/event"
	"powermail/sim/policy"
	"powermail/sim/station"
	"powermail/sim/workload"
)

// Event kinds.
const (
	evArrive     uint8 = iota // open-loop SMTP arrival
	evSession                 // closed-loop session sends its next message
	evWrite                   // message reached the backends (Arg: in-flight index)
	evLogin                   // POP3 login
	evRetrieve                // POP3 session retrieves and deletes (Arg: list head)
	evCrash                   // some backend crashes
	evRestart                 // backend Arg comes back
	evDiskLoss                // some backend loses its disk
	evRepair                  // repair job Arg finished
	evAdd                     // Additions[Arg] joins
	evStat                    // front ends refresh free space
	evSample                  // record a point of the time series
	evFlushReady              // a replica's CPU is done, it waits for a flush (Arg: replica)
	evFlushDone               // backend Arg's flush finished
)

// backend is the simulator's side of one backend.
type backend struct {
	host       int
	storedKiB  float64
	writtenKiB float64
	files      int64
	bcastBase  float64 // broadcast LIST seconds when it last came up
	bcastSec   float64 // broadcast LIST seconds charged while up, before that
}

// Sim is one run. It is not safe for concurrent use.
type Sim struct {
	cfg   Config
	q     event.Queue
	now   float64
	rng   *rand.Rand
	gen   *workload.Gen
	view  policy.View
	pol   policy.Policy
	hosts []*station.Station
	bks   []backend
	slabs
	inflight     []inflight
	freeInflight []int32
	repairs      []repairJob
	bcast        float64 // LIST seconds of PowerMail logins, charged to every up backend
	upN          int     // backends up
	st           stats
	holders      []int
	series       series
	gc           groupCommit
}

// New prepares a run; it fails on an invalid configuration.
func New(cfg Config) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	s.mboxes = map[uint32]*mbox{}
	s.gen = workload.NewGen(cfg.Mix, cfg.Mailboxes, rand.New(rand.NewPCG(cfg.Seed, 1)))
	if cfg.Policy == "rendezvous" {
		s.pol = &policy.Rendezvous{R: cfg.R, W: cfg.W}
	} else {
		s.pol = &policy.PowerMail{Req: placement.Request{Target: cfg.R, Min: cfg.W, Spread: cfg.Spread},
			Rng: rand.New(rand.NewPCG(cfg.Seed, 2))}
	}
	if cfg.SharedHost {
		s.hosts = []*station.Station{station.New(cfg.Costs.HostCPUs)}
	}
	s.addBackends(cfg.Backends)
	return s, nil
}

// addBackends appends n empty backends as one epoch.
func (s *Sim) addBackends(n int) {
	groups := make([]int, n)
	for i := range groups {
		groups[i] = (len(s.bks) + i) % s.cfg.Groups
	}
	s.view.AddBatch(groups, s.capacityBytes())
	for range n {
		host := 0
		if !s.cfg.SharedHost {
			host = len(s.hosts)
			s.hosts = append(s.hosts, station.New(s.cfg.Costs.HostCPUs))
		}
		s.bks = append(s.bks, backend{host: host, bcastBase: s.bcast})
	}
	s.upN += n
}

func (s *Sim) capacityBytes() int64 { return int64(s.cfg.CapacityGiB * (1 << 30)) }

// Run simulates the configured duration and returns the result.
func (s *Sim) Run() Result {
	start := time.Now()
	s.schedule()
	events := int64(0)
	for {
		e, ok := s.q.Pop()
		if !ok || e.At > s.cfg.Duration {
			break
		}
		s.now = e.At
		s.dispatch(e.Kind, e.Arg)
		events++
	}
	s.now = s.cfg.Duration
	return s.result(events, time.Since(start))
}

// schedule puts the first event of every process in the queue.
func (s *Sim) schedule() {
	c := s.cfg
	if c.Sessions > 0 {
		for i := range c.Sessions {
			s.q.Push(float64(i)*1e-6, evSession, int64(i))
		}
	} else {
		s.q.Push(s.gen.Exp(1/c.SMTPRate), evArrive, 0)
	}
	if c.LoginRate > 0 {
		s.q.Push(s.gen.Exp(1/c.LoginRate), evLogin, 0)
	}
	s.scheduleFailure(evCrash, c.CrashPerYear)
	s.scheduleFailure(evDiskLoss, c.AFR)
	for i, a := range c.Additions {
		s.q.Push(a.AtSec, evAdd, int64(i))
	}
	if c.StatEverySec > 0 {
		s.q.Push(c.StatEverySec, evStat, 0)
	}
	if c.SampleEverySec > 0 {
		s.q.Push(c.SampleEverySec, evSample, 0)
	}
}

func (s *Sim) dispatch(kind uint8, arg int64) {
	switch kind {
	case evArrive:
		s.q.Push(s.now+s.gen.Exp(1/s.cfg.SMTPRate), evArrive, 0)
		s.arrive(-1)
	case evSession:
		s.arrive(int32(arg))
	case evWrite:
		s.write(int32(arg))
	case evLogin:
		s.q.Push(s.now+s.gen.Exp(1/s.cfg.LoginRate), evLogin, 0)
		s.login()
	case evRetrieve:
		s.retrieve(int32(arg))
	case evCrash, evRestart, evDiskLoss, evRepair:
		s.failure(kind, arg)
	case evAdd:
		s.addBackends(s.cfg.Additions[arg].Count)
	case evStat:
		s.refreshFree()
		s.q.Push(s.now+s.cfg.StatEverySec, evStat, 0)
	case evSample:
		s.sample()
		s.q.Push(s.now+s.cfg.SampleEverySec, evSample, 0)
	case evFlushReady:
		s.flushReady(int32(arg))
	case evFlushDone:
		s.flushDone(int(arg))
	}
}

// refreshFree gives the front ends the backends' free space, as powersmtp's
// periodic status poll does (PowerMail 1.9 refreshed it about every 10 min).
func (s *Sim) refreshFree() {
	capB := s.capacityBytes()
	floor := capB / 20 // a backend refuses mail below 5% free
	for i := range s.bks {
		free := capB - int64(s.bks[i].storedKiB*1024)
		s.view.SetFree(i, free, free < floor)
	}
}

func (s *Sim) station(b int) *station.Station { return s.hosts[s.bks[b].host] }

// service draws a service time of the given mean (see Config.ExpService).
func (s *Sim) service(meanSec float64) float64 {
	if s.cfg.ExpService {
		return meanSec * s.rng.ExpFloat64()
	}
	return meanSec
}

func ms(x float64) float64 { return x / 1e3 }
