package cluster

import "powermail/sim/policy"

// login is one POP3 session's AUTHORIZATION and listing: a LIST on every
// backend that may hold the mailbox (all of them under PowerMail's policy).
// The mailbox's waiting mail is taken now and retrieved when the listing is
// complete; mail arriving in between belongs to the next session, as with a
// real maildrop snapshot.
func (s *Sim) login() {
	m := s.gen.AnyMailbox()
	mb := s.mboxes[m]
	var entries int
	var mem *policy.Memory
	if mb != nil {
		entries, mem = int(mb.count), &mb.mem
	}
	holders, all := s.pol.Holders(&s.view, m, mem, s.holders[:0])
	s.holders = holders
	c := s.cfg.Costs
	listSec := ms(c.ListCPUMs + c.ListPerEntryMs*float64(entries))
	var done float64
	var contacted int
	if all {
		done, contacted = s.listAll(listSec)
	} else {
		done, contacted = s.listSome(holders, listSec)
	}
	done += ms(c.NetRTTMs)
	s.st.logins++
	s.st.contacted += int64(contacted)
	s.st.maxContacted = max(s.st.maxContacted, contacted)
	if s.now >= s.cfg.Warmup {
		s.st.login.add(done - s.now)
	}
	if mb != nil {
		delete(s.mboxes, m)
		s.st.retrievedLogins++
		s.q.Push(done, evRetrieve, int64(mb.head))
	}
}

// listAll lists on every up backend. With QueueBroadcast each LIST is a
// queued job; otherwise every up backend is charged one LIST at once by
// counting the broadcast (O(1) per login instead of O(N)).
func (s *Sim) listAll(listSec float64) (done float64, contacted int) {
	if !s.cfg.QueueBroadcast {
		s.bcast += listSec
		return s.now + listSec, s.upN
	}
	done = s.now
	for b := range s.bks {
		if s.view.Backends[b].Up {
			done = max(done, s.station(b).Submit(s.now, s.service(listSec)))
			contacted++
		}
	}
	return done, contacted
}

func (s *Sim) listSome(holders []int, listSec float64) (done float64, contacted int) {
	done = s.now
	for _, b := range holders {
		if s.view.Backends[b].Up {
			done = max(done, s.station(b).Submit(s.now, s.service(listSec)))
			contacted++
		}
	}
	return done, contacted
}

// retrieve RETRs each message from one live copy and DELEs every live copy
// (a down backend keeps its copy: the real system leaves a tombstone on the
// others). A file is freed with its last link.
func (s *Sim) retrieve(head int32) {
	c := s.cfg.Costs
	for l := head; l >= 0; {
		lk := s.links[l]
		s.freeLink(l)
		l = lk.next
		f := &s.files[lk.file]
		if src := s.liveCopy(f); src >= 0 {
			s.station(src).Submit(s.now, s.service(ms(c.RetrCPUMs+c.RetrCPUPerKiBMs*float64(f.kib))))
			s.st.retrieved++
		} else if f.copies() == 0 {
			s.st.lostSeen++
		}
		f.refs--
		if f.refs == 0 {
			s.deleteFile(lk.file)
		}
	}
}

// liveCopy picks a random copy on an up backend, or -1.
func (s *Sim) liveCopy(f *fileRec) int {
	var up [len(f.bk)]int
	n := 0
	for _, b := range f.bk {
		if b >= 0 && s.view.Backends[b].Up {
			up[n] = int(b)
			n++
		}
	}
	if n == 0 {
		return -1
	}
	return up[s.rng.IntN(n)]
}

// deleteFile unlinks every copy (DELE at QUIT) and frees the record.
func (s *Sim) deleteFile(fi int32) {
	c := s.cfg.Costs
	f := &s.files[fi]
	for _, b := range f.bk {
		if b < 0 {
			continue
		}
		s.bks[b].storedKiB -= float64(f.kib)
		if s.view.Backends[b].Up {
			s.station(int(b)).Submit(s.now, s.service(ms(c.DeleCPUMs)))
		}
	}
	s.freeFile(fi)
}
