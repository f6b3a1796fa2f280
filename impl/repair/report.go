package repair

import (
	"fmt"
	"io"
	"strings"
)

// Limits on what a report lists (the counts are always complete).
const (
	maxErrorSamples  = 20
	maxListedActions = 1000
)

// Report is the outcome of a Run, for people (WriteText) and scripts (JSON).
type Report struct {
	DryRun      bool     `json:"dry_run"`
	Redundancy  int      `json:"redundancy"`
	Drain       string   `json:"drain,omitempty"`
	Backends    int      `json:"backends"`
	Unreachable []string `json:"unreachable"` // backends whose copies are unknown
	Mailboxes   int      `json:"mailboxes"`
	// Scanned counts (mailbox, id) pairs, deleted ones included.
	Scanned           int `json:"scanned"`
	ReReplicated      int `json:"re_replicated"`
	OrphansRemoved    int `json:"orphans_removed"`
	OrphansKept       int `json:"orphans_kept"` // orphan-log copies of delivered messages, kept as replicas
	TombstonedRemoved int `json:"tombstoned_removed"`
	// BelowR counts messages that had fewer than R copies when scanned
	// (a drained backend's copy not counted), before this run's copies.
	BelowR int `json:"below_r"`
	// BelowTarget counts messages left with fewer than R copies: too few
	// writable backends lack them.
	BelowTarget int `json:"below_target"`
	// Rendezvous placement (rehome.go): messages with a copy away from
	// home when scanned, and how many such copies each backend held;
	// copies removed from away once every home backend held the message;
	// messages left (in a dry run: that would be left) with a copy away.
	Rendezvous   bool           `json:"rendezvous"`
	Rebalance    bool           `json:"rebalance"`
	AwayFromHome int            `json:"away_from_home"`
	AwayCopies   map[string]int `json:"away_copies"`
	Rebalanced   int            `json:"rebalanced"`
	StillAway    int            `json:"still_away"`

	Errors int `json:"errors"`
	// DrainComplete: every message on the drained backend has R copies
	// elsewhere (meaningful with Drain, and only when not a dry run).
	DrainComplete bool     `json:"drain_complete"`
	ErrorSamples  []string `json:"error_samples"`
	// Actions lists the first changes made or, in a dry run, planned.
	Actions []Action `json:"actions"`
}

// Clean reports whether the run left nothing to do: no error, nothing
// below target, every backend listed, and after a rebalance nothing away
// from home.
func (r *Report) Clean() bool {
	return r.Errors == 0 && r.BelowTarget == 0 && len(r.Unreachable) == 0 && (!r.Rebalance || r.StillAway == 0)
}

// Idle reports whether the run did (or, dry, would do) nothing.
func (r *Report) Idle() bool {
	return r.ReReplicated+r.OrphansRemoved+r.TombstonedRemoved+r.Rebalanced == 0 && len(r.Actions) == 0
}

func (r *Report) add(a Action, err error) {
	if len(r.Actions) < maxListedActions {
		r.Actions = append(r.Actions, a)
	}
	if err != nil {
		r.fail(fmt.Errorf("%s %s %s on %s: %w", a.Kind, a.Box, a.ID, a.Target, err))
		return
	}
	switch a.Kind {
	case Copy:
		r.ReReplicated++
	case RemoveOrphan:
		r.OrphansRemoved++
	case RemoveTomb:
		r.TombstonedRemoved++
	case RemoveAway:
		r.Rebalanced++
	}
}

func (r *Report) fail(err error) {
	r.Errors++
	if len(r.ErrorSamples) < maxErrorSamples {
		r.ErrorSamples = append(r.ErrorSamples, err.Error())
	}
}

// WriteText writes the summary for people.
func (r *Report) WriteText(w io.Writer) error {
	verb := ""
	if r.DryRun {
		verb = " (dry run: nothing changed; counts are what would be done)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "repair R=%d over %d backends, %d mailboxes%s\n", r.Redundancy, r.Backends, r.Mailboxes, verb)
	if r.Drain != "" {
		fmt.Fprintf(&b, "draining %s: complete=%s\n", r.Drain, yes(r.DrainComplete))
	}
	if len(r.Unreachable) > 0 {
		fmt.Fprintf(&b, "unreachable (copies unknown): %s\n", strings.Join(r.Unreachable, ", "))
	}
	type count struct {
		label string
		n     int
	}
	counts := []count{
		{"scanned", r.Scanned}, {"below R when scanned", r.BelowR}, {"re-replicated", r.ReReplicated}, {"orphans removed", r.OrphansRemoved},
		{"orphans kept (delivered)", r.OrphansKept}, {"tombstoned copies removed", r.TombstonedRemoved},
		{"still below target", r.BelowTarget}, {"errors", r.Errors},
	}
	if r.Rendezvous {
		counts = append(counts, count{"away from home (scanned)", r.AwayFromHome},
			count{"copies moved home", r.Rebalanced}, count{"still away from home", r.StillAway})
	}
	for _, c := range counts {
		fmt.Fprintf(&b, "  %-26s %d\n", c.label, c.n)
	}
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
