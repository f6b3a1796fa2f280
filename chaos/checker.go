package chaos

import (
	"fmt"
	"sort"
)

// SendRecord is one SMTP transaction of the history.
type SendRecord struct {
	ID        string   `json:"id"`
	Boxes     []string `json:"boxes"`
	Outcome   Outcome  `json:"outcome"`
	Code      int      `json:"code,omitempty"`
	Err       string   `json:"err,omitempty"`
	LatencyMs float64  `json:"latency_ms"`
	fp        fingerprint
	// Epoch is the life of the cluster (one powersmtp process) that took
	// the message; for a 250, DataAtMs and AckAtMs are when DATA was sent
	// and the 250 arrived, in ms since the run started.
	Epoch    int     `json:"epoch"`
	DataAtMs float64 `json:"data_at_ms,omitempty"`
	AckAtMs  float64 `json:"ack_at_ms,omitempty"`
}

// DeleteRecord is one message deleted in a POP session; Acked means the
// session's QUIT was answered +OK.
type DeleteRecord struct {
	ID    string `json:"id"`
	Box   string `json:"box"`
	Acked bool   `json:"acked"`
	UID   string `json:"uid"`   // the message id that DELE named
	Epoch int    `json:"epoch"` // the life of the cluster it happened in
}

// Copy is one message found by the final read.
type Copy struct {
	Box     string // mailbox it was listed in
	UID     string // UIDL: the PowerMail message id
	ChaosID string // X-Chaos-Id, "" when missing
	Stored  []byte // nil once checked
	Pos     int    // message number in the listing: the mailbox's order
}

// Counts are the checker's findings.
type Counts struct {
	Sent        int `json:"sent"`
	Acked       int `json:"acked"`
	Failed      int `json:"failed"`
	Info        int `json:"info"`
	Refused5xx  int `json:"refused_5xx"`
	Retrieved   int `json:"retrieved"`
	Lost        int `json:"lost"`
	Duplicated  int `json:"duplicated"`
	Corrupt     int `json:"corrupt"`
	Phantom     int `json:"phantom"`
	Resurrected int `json:"resurrected"`
	// VisibleAfter4xx counts copies of refused messages (4xx, or 5xx) that
	// a POP3 read found: the sender retries a 4xx, so each is a duplicate
	// in the user's mailbox. A violation in every cell.
	VisibleAfter4xx int `json:"visible_after_4xx"`
	InfoPresent     int `json:"info_present"`
	DeletesAcked    int `json:"deletes_acked"`
	DeletesInfo     int `json:"deletes_info"`
	TmpLeft         int `json:"tmp_left"`
	TopChecked      int `json:"top_checked"`
	TopWrong        int `json:"top_wrong"` // TOP cut short or not the message's first lines
	// Misordered counts messages that a mailbox lists before a message
	// that the same powersmtp process acknowledged before their DATA was
	// sent: that order is promised (impl/msgid, Generator).
	Misordered int `json:"misordered"`
	// IDReused counts listed messages whose UIDL names another message too.
	IDReused int `json:"id_reused"`
	// TombstonesBelowR counts acknowledged deletes with fewer tombstones
	// on disk at the end than R (less the disks lost since): a tombstone
	// that expired early, or was never made durable.
	TombstonesBelowR int `json:"tombstones_below_r"`
	// UnderReplicated counts acknowledged messages with fewer than R
	// copies on disk after the run: measured, not a violation (repair's job).
	UnderReplicated int `json:"under_replicated"`
	// UnderReplicatedAfterRepair is the same measure after repair ran: a
	// violation unless the cell may lose mail.
	UnderReplicatedAfterRepair int          `json:"under_replicated_after_repair"`
	Repair                     RepairCounts `json:"repair"`
}

// Violations lists what broke the promise. Refusals with 5xx count: every
// recipient exists, so a permanent refusal bounces good mail (a userbase
// that is down must give 451, never 550).
func (c Counts) Violations() []string {
	var v []string
	for _, x := range []struct {
		name string
		n    int
	}{{"lost", c.Lost}, {"duplicated", c.Duplicated}, {"corrupt", c.Corrupt}, {"phantom", c.Phantom},
		{"resurrected", c.Resurrected}, {"visible_after_4xx", c.VisibleAfter4xx},
		{"tmp_left", c.TmpLeft}, {"refused_5xx", c.Refused5xx}, {"top_wrong", c.TopWrong},
		{"misordered", c.Misordered}, {"id_reused", c.IDReused}, {"tombstones_below_r", c.TombstonesBelowR}} {
		if x.n > 0 {
			v = append(v, fmt.Sprintf("%s=%d", x.name, x.n))
		}
	}
	return v
}

// key names one expected copy: a message in one mailbox.
type key struct{ box, id string }

// Check compares the history with what the final read found.
func Check(sends []SendRecord, deletes []DeleteRecord, copies []Copy) Counts {
	var c Counts
	found := map[key][]Copy{}
	for _, cp := range copies {
		found[key{cp.Box, cp.ChaosID}] = append(found[key{cp.Box, cp.ChaosID}], cp)
	}
	c.Retrieved = len(copies)
	deleted := map[key]bool{} // true: acknowledged
	for _, d := range deletes {
		k := key{d.Box, d.ID}
		deleted[k] = deleted[k] || d.Acked
		if d.Acked {
			c.DeletesAcked++
		} else {
			c.DeletesInfo++
		}
	}
	expected := map[key]bool{}
	for _, s := range sends {
		c.countSend(s)
		for _, box := range s.Boxes {
			k := key{box, s.ID}
			expected[k] = true
			acked, wasDeleted := deleted[k]
			c.checkCopies(s, found[k], wasDeleted, acked)
		}
	}
	for k, cps := range found {
		if !expected[k] {
			c.Phantom += len(cps)
		}
	}
	c.Misordered = misordered(sends, copies)
	c.IDReused = reusedIDs(copies)
	return c
}

func (c *Counts) countSend(s SendRecord) {
	c.Sent++
	switch {
	case s.Outcome == OK:
		c.Acked++
	case s.Outcome == Info:
		c.Info++
	default:
		c.Failed++
		if s.Code >= 500 {
			c.Refused5xx++
		}
	}
}

// checkCopies applies the rules to the copies of one message in one mailbox.
func (c *Counts) checkCopies(s SendRecord, cps []Copy, wasDeleted, deleteAcked bool) {
	for _, cp := range cps {
		if !s.fp.matches(cp.Stored) {
			c.Corrupt++
		}
	}
	n := len(cps)
	switch {
	case wasDeleted && deleteAcked:
		c.Resurrected += n
		return
	case n > 1:
		c.Duplicated += n - 1
	}
	switch s.Outcome {
	case OK:
		if n == 0 && !wasDeleted {
			c.Lost++
		}
	case Info:
		if n > 0 {
			c.InfoPresent++
		}
	case Fail:
		if n > 0 && !wasDeleted {
			c.VisibleAfter4xx++
		}
	}
}

// lostIDs lists acknowledged messages missing from the final read, for the
// report (sorted, at most maxListed).
func lostIDs(sends []SendRecord, deletes []DeleteRecord, copies []Copy) []string {
	return listIDs(sends, deletes, copies, func(s SendRecord, found bool) bool { return s.Outcome == OK && !found })
}

// visibleIDs lists refused messages the final read found, with their
// reply, for the report.
func visibleIDs(sends []SendRecord, deletes []DeleteRecord, copies []Copy) []string {
	return listIDs(sends, deletes, copies, func(s SendRecord, found bool) bool { return s.Outcome == Fail && found })
}

// listIDs lists "id mailbox [code]" of the sends, in mailboxes where no
// delete was recorded, for which pick is true (sorted, at most maxListed).
func listIDs(sends []SendRecord, deletes []DeleteRecord, copies []Copy, pick func(SendRecord, bool) bool) []string {
	const maxListed = 50
	have := map[key]bool{}
	for _, cp := range copies {
		have[key{cp.Box, cp.ChaosID}] = true
	}
	gone := map[key]bool{}
	for _, d := range deletes {
		gone[key{d.Box, d.ID}] = true
	}
	var out []string
	for _, s := range sends {
		for _, b := range s.Boxes {
			k := key{b, s.ID}
			if !gone[k] && pick(s, have[k]) {
				out = append(out, fmt.Sprintf("%s %s %d %s", s.ID, b, s.Code, s.Err))
			}
		}
	}
	sort.Strings(out)
	return out[:min(len(out), maxListed)]
}
