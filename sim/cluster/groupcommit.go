package cluster

// Group commit, as impl/store does it under flush mode syncfs: a writer
// that needs durability waits for the next flush of its backend; one flush
// runs at a time, and every writer that became ready while it ran shares
// the one after it. So a flush's cost is divided among the writers that
// waited for it: few at low load (a flush or two per replica), many when
// the backend is busy, which is why the accept rate keeps growing with
// concurrency after the CPU per message alone says it should stop.
//
// A replica is FlushesPerWrite stages (2 in the store: the upload's bytes
// durable before END is answered, the links before COMMIT is), each its
// share of WriteCPUMs on the host, then a wait for a flush. A flush takes
// WriteFlushMs of device time and charges FlushCPUMs of CPU once, whoever
// shares it. Events, not the Lindley shortcut of the other paths: when a
// replica joins a flush depends on when other replicas' flushes end.

// replicaJob is one replica of one in-flight message.
type replicaJob struct {
	msg     int32
	backend int32
	stage   uint8 // flushes done so far
}

// flusher is one backend's flush: the round running and the one filling.
type flusher struct {
	busy      bool
	cur, next []int32 // replica jobs
}

type groupCommit struct {
	jobs     []replicaJob
	free     []int32
	flushers []flusher
	flushes  int64
}

// writeGroupCommit starts every live replica of message idx.
func (s *Sim) writeGroupCommit(idx int32) {
	m := &s.inflight[idx]
	live := 0
	for _, f := range m.files {
		n := 0
		for _, b := range f.Backends {
			if s.view.Backends[b].Up {
				n++
			}
		}
		if n < s.cfg.W {
			s.st.rejected++
			s.nextMessage(m.session, s.now+ms(s.cfg.Costs.NetRTTMs))
			s.freeInflightRec(idx)
			return
		}
		live += n
	}
	// Several files (recipients placed apart) are answered when W copies
	// of each are durable; counting W per file is exact when each file's
	// replicas finish in the same order, and the calibration sends one.
	m.need, m.left = int16(s.cfg.W*len(m.files)), int16(live)
	for _, f := range m.files {
		for _, b := range f.Backends {
			if s.view.Backends[b].Up {
				s.stageCPU(s.newReplica(replicaJob{msg: idx, backend: int32(b)}), m.kib)
			}
		}
	}
}

// stageCPU runs one stage's CPU of replica j, then queues it for a flush.
func (s *Sim) stageCPU(j int32, kib float64) {
	c := s.cfg.Costs
	cpu := (c.WriteCPUMs + c.WriteCPUPerKiBMs*kib) / float64(c.FlushesPerWrite)
	done := s.station(int(s.gc.jobs[j].backend)).Submit(s.now, s.service(ms(cpu)))
	s.q.Push(done, evFlushReady, int64(j))
}

// flushReady: replica j's changes are made; it waits for a flush that
// starts from now on.
func (s *Sim) flushReady(j int32) {
	b := int(s.gc.jobs[j].backend)
	for len(s.gc.flushers) <= b {
		s.gc.flushers = append(s.gc.flushers, flusher{})
	}
	f := &s.gc.flushers[b]
	if f.busy {
		f.next = append(f.next, j)
		return
	}
	f.cur = append(f.cur[:0], j)
	s.startFlush(b)
}

func (s *Sim) startFlush(b int) {
	s.gc.flusher(b).busy = true
	s.gc.flushes++
	c := s.cfg.Costs
	if c.FlushCPUMs > 0 {
		s.station(b).Submit(s.now, s.service(ms(c.FlushCPUMs)))
	}
	// A flush takes its mean every time, whatever ExpService says: a
	// journal commit and a cache flush vary far less than an exponential
	// draw, whose long tail would hold up every writer of the batch.
	s.q.Push(s.now+ms(c.WriteFlushMs), evFlushDone, int64(b))
}

func (g *groupCommit) flusher(b int) *flusher { return &g.flushers[b] }

// flushDone ends backend b's flush: the round that filled meanwhile starts
// at once (its leader was waiting), and each writer of the finished round
// goes on to its next stage, whose flush is a later one.
func (s *Sim) flushDone(b int) {
	f := s.gc.flusher(b)
	done := f.cur
	f.cur, f.next = f.next, done[:0:0]
	if len(f.cur) > 0 {
		s.startFlush(b)
	} else {
		f.busy = false
	}
	for _, j := range done {
		job := &s.gc.jobs[j]
		job.stage++
		if int(job.stage) < s.cfg.Costs.FlushesPerWrite {
			s.stageCPU(j, s.inflight[job.msg].kib)
			continue
		}
		s.replicaDurable(j)
	}
}

// replicaDurable counts replica j; the W-th answers the message.
func (s *Sim) replicaDurable(j int32) {
	idx := s.gc.jobs[j].msg
	s.gc.free = append(s.gc.free, j)
	m := &s.inflight[idx]
	m.need--
	m.left--
	if m.need == 0 {
		s.answered(m, s.now+ms(s.cfg.Costs.NetRTTMs))
	}
	if m.left == 0 {
		s.freeInflightRec(idx)
	}
}

func (s *Sim) newReplica(r replicaJob) int32 {
	if n := len(s.gc.free); n > 0 {
		j := s.gc.free[n-1]
		s.gc.free = s.gc.free[:n-1]
		s.gc.jobs[j] = r
		return j
	}
	s.gc.jobs = append(s.gc.jobs, r)
	return int32(len(s.gc.jobs) - 1)
}
