package cluster

import "math"

const secPerYear = 365.25 * 24 * 3600

// repairJob is the re-replication of the copies a lost disk held.
type repairJob struct {
	backend int
	files   []int32
	gens    []uint32
}

// scheduleFailure draws the next failure of a kind that strikes each backend
// at perYear: one Poisson process for the whole cluster.
func (s *Sim) scheduleFailure(kind uint8, perYear float64) {
	if perYear <= 0 {
		return
	}
	rate := perYear * float64(len(s.bks)) / secPerYear
	s.q.Push(s.now+s.rng.ExpFloat64()/rate, kind, 0)
}

func (s *Sim) failure(kind uint8, arg int64) {
	switch kind {
	case evCrash:
		s.scheduleFailure(evCrash, s.cfg.CrashPerYear)
		if b := s.rng.IntN(len(s.bks)); s.view.Backends[b].Up {
			s.setUp(b, false)
			s.st.crashes++
			s.q.Push(s.now+s.rng.ExpFloat64()*s.cfg.CrashDownSec, evRestart, int64(b))
		}
	case evRestart:
		s.setUp(int(arg), true)
	case evDiskLoss:
		s.scheduleFailure(evDiskLoss, s.cfg.AFR)
		s.loseDisk(s.rng.IntN(len(s.bks)))
	case evRepair:
		s.finishRepair(int(arg))
	}
}

// setUp keeps the broadcast-LIST accounting right across up/down changes.
func (s *Sim) setUp(b int, up bool) {
	bk := &s.bks[b]
	if up == s.view.Backends[b].Up {
		return
	}
	if up {
		bk.bcastBase = s.bcast
		s.upN++
	} else {
		bk.bcastSec += s.bcast - bk.bcastBase
		s.upN--
	}
	s.view.SetUp(b, up)
}

// loseDisk drops every copy on b. A file left with no copy is lost mail
// (every link an acknowledged message). The disk is replaced at once and
// the lost copies are copied back from the survivors at RepairMBps; until
// then those files have one copy fewer.
func (s *Sim) loseDisk(b int) {
	s.st.diskLosses++
	job := repairJob{backend: b}
	lostKiB := 0.0
	for i := range s.files {
		f := &s.files[i]
		if f.refs == 0 || !f.holds(b) {
			continue
		}
		f.drop(b)
		lostKiB += float64(f.kib)
		if f.copies() == 0 {
			s.st.lostMessages += int64(f.refs)
			continue
		}
		job.files = append(job.files, int32(i))
		job.gens = append(job.gens, f.gen)
	}
	s.bks[b].storedKiB = 0
	s.repairs = append(s.repairs, job)
	secs := lostKiB / 1024 / math.Max(s.cfg.RepairMBps, 1e-9)
	s.q.Push(s.now+secs, evRepair, int64(len(s.repairs)-1))
}

// finishRepair puts the copies back on the replaced disk for files that
// still exist and still have a survivor.
func (s *Sim) finishRepair(j int) {
	job := s.repairs[j]
	s.repairs[j] = repairJob{}
	for k, fi := range job.files {
		f := &s.files[fi]
		if f.gen != job.gens[k] || f.refs == 0 || f.copies() == 0 || f.holds(job.backend) {
			continue
		}
		f.add(job.backend)
		s.bks[job.backend].storedKiB += float64(f.kib)
		s.st.repairedCopies++
	}
}

func (f *fileRec) holds(b int) bool {
	for _, x := range f.bk {
		if int(x) == b {
			return true
		}
	}
	return false
}

func (f *fileRec) drop(b int) {
	for i, x := range f.bk {
		if int(x) == b {
			f.bk[i] = -1
		}
	}
}

func (f *fileRec) add(b int) {
	for i, x := range f.bk {
		if x < 0 {
			f.bk[i] = int16(b)
			return
		}
	}
}
