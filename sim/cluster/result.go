package cluster

import (
	"math"
	"runtime"
	"time"
)

type stats struct {
	delivered, deliveredAfterWarmup, rejected int64
	filesWritten, copiesWritten               int64
	logins, retrievedLogins, retrieved        int64
	contacted                                 int64
	maxContacted                              int
	crashes, diskLosses, repairedCopies       int64
	lostMessages, lostSeen                    int64
	deliver, login                            hist
}

// Result is what a run reports; every field is deterministic for a seed
// except those under Run (wall time and memory).
type Result struct {
	Policy          string  `json:"policy"`
	Backends        int     `json:"backends"`
	Mailboxes       uint64  `json:"mailboxes"`
	SimulatedSec    float64 `json:"simulated_sec"`
	Delivered       int64   `json:"delivered"`
	Rejected        int64   `json:"rejected"`
	ThroughputMsgS  float64 `json:"throughput_msg_per_sec"` // delivered after warm-up / measured time
	FilesPerMessage float64 `json:"files_per_message"`
	CopiesPerMsg    float64 `json:"copies_per_message"`
	Deliver         Latency `json:"deliver_latency"`
	Login           Latency `json:"login_latency"`
	Logins          int64   `json:"logins"`
	ContactedMean   float64 `json:"backends_contacted_per_login"`
	ContactedMax    int     `json:"backends_contacted_max"`
	Retrieved       int64   `json:"messages_retrieved"`
	// Storage balance: max/mean over backends of bytes written (all the
	// mail a backend received) and of bytes stored at the end.
	WrittenMaxMean float64 `json:"written_max_over_mean"`
	FilesMaxMean   float64 `json:"files_max_over_mean"` // copies written: placement alone, without the size tail
	StoredMaxMean  float64 `json:"stored_max_over_mean"`
	StoredGiB      float64 `json:"stored_gib"`
	UtilMean       float64 `json:"backend_util_mean"`
	UtilMax        float64 `json:"backend_util_max"`
	// CapacityMsgS is the offered SMTP rate at which the busiest backend
	// would reach 100% (logins scaled in proportion): the cluster's
	// throughput limit under this mix of work.
	CapacityMsgS float64 `json:"capacity_msg_per_sec"`
	// CapacitySpreadMsgS is the same with the load spread perfectly (mean
	// utilisation): what the cluster could do if no backend were hotter.
	CapacitySpreadMsgS float64 `json:"capacity_spread_msg_per_sec"`
	Crashes            int64   `json:"crashes"`
	DiskLosses         int64   `json:"disk_losses"`
	LostMessages       int64   `json:"lost_acknowledged_messages"`
	Repaired           int64   `json:"repaired_copies"`
	// FlushesPerMsg: group commit only, flushes run over messages answered.
	FlushesPerMsg float64  `json:"flushes_per_message,omitempty"`
	Samples       []Sample `json:"samples,omitempty"`
	Run           RunCost  `json:"run"`
}

// RunCost is what the run cost on this machine (not deterministic).
type RunCost struct {
	Events      int64   `json:"events"`
	WallSec     float64 `json:"wall_sec"`
	HeapMiB     float64 `json:"heap_mib"`      // in use at the end, garbage included
	LiveHeapMiB float64 `json:"live_heap_mib"` // after a forced collection: what the run keeps
	LiveFiles   int64   `json:"live_files"`
	MboxRecords int     `json:"mailbox_records"`
}

func (s *Sim) result(events int64, wall time.Duration) Result {
	st := &s.st
	r := Result{
		Policy: s.pol.Name(), Backends: len(s.bks), Mailboxes: s.cfg.Mailboxes, SimulatedSec: s.cfg.Duration,
		Delivered: st.delivered, Rejected: st.rejected, Deliver: st.deliver.summary(), Login: st.login.summary(),
		Logins: st.logins, ContactedMax: st.maxContacted, Retrieved: st.retrieved,
		Crashes: st.crashes, DiskLosses: st.diskLosses, LostMessages: st.lostMessages, Repaired: st.repairedCopies,
	}
	if measured := s.cfg.Duration - s.cfg.Warmup; measured > 0 {
		r.ThroughputMsgS = float64(st.deliveredAfterWarmup) / measured
	}
	if st.delivered > 0 {
		r.FilesPerMessage = float64(st.filesWritten) / float64(st.delivered)
		r.CopiesPerMsg = float64(st.copiesWritten) / float64(st.delivered)
		r.FlushesPerMsg = float64(s.gc.flushes) / float64(st.delivered)
	}
	if st.logins > 0 {
		r.ContactedMean = float64(st.contacted) / float64(st.logins)
	}
	r.Samples = s.series.points
	s.balance(&r)
	s.utilisation(&r)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap := float64(ms.HeapAlloc) / (1 << 20)
	runtime.GC()
	runtime.ReadMemStats(&ms)
	r.Run = RunCost{Events: events, WallSec: wall.Seconds(), HeapMiB: heap, LiveHeapMiB: float64(ms.HeapAlloc) / (1 << 20),
		LiveFiles: s.liveFiles, MboxRecords: len(s.mboxes)}
	return r
}

func (s *Sim) balance(r *Result) {
	var wSum, wMax, sSum, sMax, fSum, fMax float64
	for _, b := range s.bks {
		fSum += float64(b.files)
		fMax = math.Max(fMax, float64(b.files))
		wSum += b.writtenKiB
		wMax = math.Max(wMax, b.writtenKiB)
		sSum += b.storedKiB
		sMax = math.Max(sMax, b.storedKiB)
	}
	n := float64(len(s.bks))
	if wSum > 0 {
		r.WrittenMaxMean = wMax / (wSum / n)
	}
	if fSum > 0 {
		r.FilesMaxMean = fMax / (fSum / n)
	}
	if sSum > 0 {
		r.StoredMaxMean = sMax / (sSum / n)
	}
	r.StoredGiB = sSum / (1 << 20)
}

// utilisation adds the broadcast LISTs each backend was charged to its
// station's busy time. With a shared host there is one station for all.
func (s *Sim) utilisation(r *Result) {
	elapsed := s.cfg.Duration
	var sum, worst float64
	for b := range s.bks {
		listSec := s.bks[b].bcastSec
		if s.view.Backends[b].Up {
			listSec += s.bcast - s.bks[b].bcastBase
		}
		st := s.station(b)
		busy := st.BusySec() + listSec
		u := busy / (elapsed * float64(st.Servers()))
		sum += u
		worst = math.Max(worst, u)
	}
	r.UtilMean = sum / float64(len(s.bks))
	r.UtilMax = worst
	if worst > 0 && s.cfg.Sessions == 0 {
		r.CapacityMsgS = s.cfg.SMTPRate / worst
		r.CapacitySpreadMsgS = s.cfg.SMTPRate / r.UtilMean
	}
}
