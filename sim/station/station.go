// Package station models a server that does work in first-come first-served
// order on c identical servers (CPU cores, or disk queue slots).
//
// It uses the Lindley recursion instead of events: when jobs are submitted in
// the order of their arrival times, a job's start is the moment the earliest
// server becomes free, so its completion time is known at once. The engine
// submits every job at the current event time, which keeps that order, and a
// delivery or a POP3 login costs no extra events. A multi-server FIFO queue
// fed this way is exactly the textbook M/M/c (or G/G/c) queue; the tests
// check it against the closed forms.
package station

import "fmt"

// Station is a FIFO queue in front of len(freeAt) servers.
type Station struct {
	freeAt  []float64 // when each server finishes its last accepted job
	busySec float64   // total service time accepted: utilisation numerator
	jobs    int64
	last    float64 // latest arrival seen, to assert arrival order
}

// New returns a station with servers parallel servers.
func New(servers int) *Station {
	if servers < 1 {
		panic(fmt.Sprintf("station: %d servers", servers))
	}
	return &Station{freeAt: make([]float64, servers)}
}

// Submit queues a job arriving at now that needs serviceSec of one server,
// and returns the time it completes. now must not be earlier than the
// previous arrival: an out-of-order arrival would break FIFO.
func (s *Station) Submit(now, serviceSec float64) (done float64) {
	if now < s.last {
		panic(fmt.Sprintf("station: arrival %v before %v", now, s.last))
	}
	s.last = now
	k := 0
	for i, f := range s.freeAt {
		if f < s.freeAt[k] {
			k = i
		}
	}
	done = max(now, s.freeAt[k]) + serviceSec
	s.freeAt[k] = done
	s.busySec += serviceSec
	s.jobs++
	return done
}

// Backlog is how long a job arriving at now would wait before starting.
func (s *Station) Backlog(now float64) float64 {
	least := s.freeAt[0]
	for _, f := range s.freeAt[1:] {
		least = min(least, f)
	}
	return max(0, least-now)
}

// BusySec is the total service time accepted so far.
func (s *Station) BusySec() float64 { return s.busySec }

// Jobs is the number of jobs accepted so far.
func (s *Station) Jobs() int64 { return s.jobs }

// Servers is the number of parallel servers.
func (s *Station) Servers() int { return len(s.freeAt) }

// Utilisation is the fraction of server time used over a run of elapsedSec.
func (s *Station) Utilisation(elapsedSec float64) float64 {
	if elapsedSec <= 0 {
		return 0
	}
	return s.busySec / (elapsedSec * float64(len(s.freeAt)))
}
