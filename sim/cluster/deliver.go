package cluster

import (
	"slices"

	"powermail/sim/policy"
)

// inflight is a message between its arrival and its write.
type inflight struct {
	arrive  float64
	kib     float64
	session int32 // -1: open loop
	files   []policy.File
	// Group commit only: replicas still to become durable before the
	// 250 (need) and before the record can be freed (left).
	need, left int16
}

// arrive takes one message from the SMTP client: recipients, placement, the
// front end's CPU, then the transfer to the backends.
func (s *Sim) arrive(session int32) {
	kib := s.gen.SizeKiB()
	rcpts := s.recipients(s.gen.Recipients())
	files, err := s.pol.Place(&s.view, rcpts)
	if err != nil {
		s.st.rejected++
		s.nextMessage(session, s.now+ms(s.cfg.Costs.NetRTTMs))
		return
	}
	done := s.now + ms(s.cfg.Costs.SMTPCPUMs)
	if s.cfg.SharedHost {
		// The load generator runs on the same cores (the benchmark's
		// machine): its CPU per message competes with the daemons'.
		done = s.hosts[0].Submit(s.now, s.service(ms(s.cfg.Costs.SMTPCPUMs+s.cfg.Costs.LoadgenCPUMs)))
	}
	idx := s.newInflight(inflight{arrive: s.now, kib: kib, session: session, files: files})
	at := done + ms(s.cfg.Costs.NetRTTMs) + s.cfg.Costs.TransferSec(kib)
	s.q.Push(at, evWrite, int64(idx))
}

// write runs every replica of every file on its backend. A file is durable
// when W of its copies are; the message is answered when all its files are.
// With fewer than W live copies of any file the message gets a 451 and the
// copies written are aborted (two-phase delivery leaves none behind).
func (s *Sim) write(idx int32) {
	if s.cfg.GroupCommit {
		s.writeGroupCommit(idx)
		return
	}
	m := s.inflight[idx]
	s.freeInflightRec(idx)
	ack := s.now
	var done [policy.MaxR]float64
	for _, f := range m.files {
		n := 0
		for _, b := range f.Backends {
			if s.view.Backends[b].Up {
				done[n] = s.writeReplica(b, m.kib)
				n++
			}
		}
		if n < s.cfg.W {
			s.st.rejected++
			s.nextMessage(m.session, s.now+ms(s.cfg.Costs.NetRTTMs))
			return
		}
		slices.Sort(done[:n])
		ack = max(ack, done[s.cfg.W-1])
	}
	s.answered(&m, ack+ms(s.cfg.Costs.NetRTTMs))
}

// answered counts message m as delivered, answered 250 at ack, and stores
// its files.
func (s *Sim) answered(m *inflight, ack float64) {
	s.st.delivered++
	if s.now >= s.cfg.Warmup {
		s.st.deliver.add(ack - m.arrive)
		s.st.deliveredAfterWarmup++
	}
	for _, f := range m.files {
		s.store(f, m.kib)
	}
	s.nextMessage(m.session, ack)
}

// writeReplica charges backend b for one durable write and returns when it is
// durable.
func (s *Sim) writeReplica(b int, kib float64) float64 {
	c := s.cfg.Costs
	done := s.station(b).Submit(s.now, s.service(ms(c.WriteCPUMs+c.WriteCPUPerKiBMs*kib)))
	return done + ms(c.WriteFlushMs)
}

// store records file f's copies (only on backends that were up) and links
// it into its recipients' mailboxes.
func (s *Sim) store(f policy.File, kib float64) {
	rec := fileRec{kib: float32(kib), refs: uint16(len(f.Rcpts)), acked: true}
	for i := range rec.bk {
		rec.bk[i] = -1
	}
	n := 0
	for _, b := range f.Backends {
		if s.view.Backends[b].Up {
			rec.bk[n] = int16(b)
			n++
			s.bks[b].storedKiB += kib
			s.bks[b].writtenKiB += kib
			s.bks[b].files++
		}
	}
	s.st.filesWritten++
	s.st.copiesWritten += int64(n)
	fi := s.newFile(rec)
	for _, r := range f.Rcpts {
		s.linkInto(r, fi, f.Depth)
	}
}

func (s *Sim) linkInto(r uint32, fi int32, depth uint8) {
	mb := s.mboxes[r]
	if mb == nil {
		mb = &mbox{head: -1, mem: policy.Memory{OldestEpoch: uint16(s.view.Epoch())}}
		s.mboxes[r] = mb
	}
	mb.head = s.newLink(fi, mb.head)
	mb.count = min(mb.count+1, 65535)
	mb.mem.Depth = max(mb.mem.Depth, depth)
}

// recipients draws k distinct mailboxes (an envelope names each once).
func (s *Sim) recipients(k int) []uint32 {
	k = int(min(uint64(k), s.cfg.Mailboxes))
	rcpts := make([]uint32, 0, k)
	for len(rcpts) < k {
		if m := s.gen.Mailbox(); !slices.Contains(rcpts, m) {
			rcpts = append(rcpts, m)
		}
	}
	return rcpts
}

// nextMessage lets a closed-loop session send again once answered.
func (s *Sim) nextMessage(session int32, at float64) {
	if session >= 0 {
		s.q.Push(at, evSession, int64(session))
	}
}

func (s *Sim) newInflight(m inflight) int32 {
	if n := len(s.freeInflight); n > 0 {
		i := s.freeInflight[n-1]
		s.freeInflight = s.freeInflight[:n-1]
		s.inflight[i] = m
		return i
	}
	s.inflight = append(s.inflight, m)
	return int32(len(s.inflight) - 1)
}

func (s *Sim) freeInflightRec(i int32) {
	s.inflight[i] = inflight{}
	s.freeInflight = append(s.freeInflight, i)
}
