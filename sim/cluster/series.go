package cluster

// Sample is one point of a run's time series: what happened since the
// previous point.
type Sample struct {
	AtSec          float64 `json:"at_sec"`
	Backends       int     `json:"backends"`
	Delivered      int64   `json:"delivered"`
	ContactedMean  float64 `json:"backends_contacted_per_login"`
	WrittenMaxMean float64 `json:"written_max_over_mean"` // of this interval's writes
	StoredMaxMean  float64 `json:"stored_max_over_mean"`
	NewestShare    float64 `json:"newest_epoch_write_share"` // share of this interval's writes on the last-added backends
	NewestBackends int     `json:"newest_epoch_backends"`
}

type series struct {
	points     []Sample
	prevW      []float64
	prevLogins int64
	prevCont   int64
	prevDeliv  int64
}

// sample records the interval since the previous sample.
func (s *Sim) sample() {
	se := &s.series
	for len(se.prevW) < len(s.bks) {
		se.prevW = append(se.prevW, 0)
	}
	newest := len(s.bks) - s.newestEpochSize()
	var sum, worst, newSum, storedSum, storedMax float64
	for i := range s.bks {
		w := s.bks[i].writtenKiB - se.prevW[i]
		se.prevW[i] = s.bks[i].writtenKiB
		sum += w
		worst = max(worst, w)
		if i >= newest {
			newSum += w
		}
		storedSum += s.bks[i].storedKiB
		storedMax = max(storedMax, s.bks[i].storedKiB)
	}
	n := float64(len(s.bks))
	p := Sample{AtSec: s.now, Backends: len(s.bks), Delivered: s.st.delivered - se.prevDeliv,
		NewestBackends: len(s.bks) - newest}
	if sum > 0 {
		p.WrittenMaxMean, p.NewestShare = worst/(sum/n), newSum/sum
	}
	if storedSum > 0 {
		p.StoredMaxMean = storedMax / (storedSum / n)
	}
	if l := s.st.logins - se.prevLogins; l > 0 {
		p.ContactedMean = float64(s.st.contacted-se.prevCont) / float64(l)
	}
	se.prevLogins, se.prevCont, se.prevDeliv = s.st.logins, s.st.contacted, s.st.delivered
	se.points = append(se.points, p)
}

// newestEpochSize is how many backends the latest addition brought (0
// before any).
func (s *Sim) newestEpochSize() int {
	if s.view.Epoch() == 0 {
		return 0
	}
	return s.cfg.Additions[s.view.Epoch()-1].Count
}
