package main

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/repair"
)

// statusJSON is one backend in "status -json".
type statusJSON struct {
	Addr         string `json:"addr"`
	Group        string `json:"group"`
	Up           bool   `json:"up"`
	Error        string `json:"error,omitempty"`
	ReadOnly     bool   `json:"readonly"`
	FreeBytes    uint64 `json:"free_bytes"`
	TotalBytes   uint64 `json:"total_bytes"`
	MinFreeBytes uint64 `json:"min_free_bytes"`
	FreeInodes   uint64 `json:"free_inodes"`
	Messages     int64  `json:"messages"`
	Mailboxes    int    `json:"mailboxes"`
	Uploads      int64  `json:"uploads"`  // in flight
	FlushMicros  uint64 `json:"flush_us"` // moving average of a delivery's wait for durability
	// AwayCopies, under rendezvous placement: copies on this backend that
	// belong on other home backends.
	AwayCopies *int `json:"away_copies,omitempty"`
}

// cmdStatus shows the state of each backend the daemons use (the static
// list, or the enabled rows of the backends table). A backend that does
// not answer makes the exit status 1 after the table, for monitoring
// scripts. Under rendezvous placement it also counts the copies away from
// home, which takes a scan of every mailbox (as repair -dry-run).
func cmdStatus(e *env, args []string) error {
	_, cf, backends, err := e.clusterCommand("status", args, 0)
	if err != nil {
		return err
	}
	defer closeAll(backends)
	states := repair.Probe(e.ctx, backends)
	out, rows, down := make([]statusJSON, len(states)), make([][]string, len(states)), 0
	for i, s := range states {
		out[i], rows[i] = statusOf(s)
		if !s.Up {
			down++
		}
	}
	header := []string{"BACKEND", "GROUP", "STATE", "READONLY", "FREE", "TOTAL", "INODES", "MESSAGES", "MAILBOXES", "UPLOADS", "FLUSH"}
	away, err := e.awayFromHome(cf, backends)
	if err != nil {
		return err
	}
	if away != nil {
		header = append(header, "AWAY")
		for i := range out {
			n := away.AwayCopies[out[i].Addr]
			out[i].AwayCopies = &n
			rows[i] = append(rows[i], strconv.Itoa(n))
		}
	}
	if err := e.table(out, header, rows); err != nil {
		return err
	}
	if away != nil && !e.json {
		fmt.Fprintf(e.stdout, "%d messages have a copy away from home (ppadmin repair -rebalance moves them)\n", away.AwayFromHome)
	}
	if down > 0 {
		return fmt.Errorf("%d of %d backends down", down, len(states))
	}
	return nil
}

// awayFromHome scans the cluster under rendezvous placement (a repair dry
// run); nil under PowerMail's, where every backend is home.
func (e *env) awayFromHome(cf clusterFlags, backends []repair.Node) (*repair.Report, error) {
	homes, _, err := e.homes(cf)
	if err != nil || homes == nil {
		return nil, err
	}
	return repair.Run(e.ctx, backends, repair.Options{Redundancy: cf.redundancy, DryRun: true, Homes: homes,
		Log: slog.New(slog.DiscardHandler)})
}

func statusOf(s repair.State) (statusJSON, []string) {
	st := s.Status
	j := statusJSON{Addr: s.Addr, Group: s.Group, Up: s.Up, ReadOnly: s.ReadOnly || st.ReadOnly,
		FreeBytes: st.FreeBytes, TotalBytes: st.TotalBytes, MinFreeBytes: st.MinFreeBytes,
		FreeInodes: st.FreeInodes, Messages: st.Messages, Mailboxes: st.Mailboxes,
		Uploads: st.Uploads, FlushMicros: uint64(st.FlushWait.Microseconds())}
	if !s.Up {
		j.Error = s.Err.Error()
		return j, []string{s.Addr, s.Group, "down", "-", "-", "-", "-", "-", "-", "-", "-"}
	}
	state := "up"
	if st.FreeBytes < st.MinFreeBytes {
		state = "full"
	}
	return j, []string{s.Addr, s.Group, state, yesNo(j.ReadOnly), formatBytes(st.FreeBytes), formatBytes(st.TotalBytes),
		strconv.FormatUint(st.FreeInodes, 10), strconv.FormatInt(st.Messages, 10), strconv.Itoa(st.Mailboxes),
		strconv.FormatInt(st.Uploads, 10), st.FlushWait.String()}
}

// formatBytes prints a size for people: bytes below 1 KiB, else one
// decimal of the largest binary unit.
func formatBytes(n uint64) string {
	const units = "KMGTPE"
	if n < 1<<10 {
		return strconv.FormatUint(n, 10)
	}
	v, u := float64(n)/(1<<10), 0
	for v >= 1<<10 && u < len(units)-1 {
		v, u = v/(1<<10), u+1
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[u:u+1]
}

// mailboxReport is "mailbox -json": every message of one mailbox with the
// backends that hold it.
type mailboxReport struct {
	Mailbox     mailbox.Name      `json:"mailbox"`
	Redundancy  int               `json:"redundancy"`
	Messages    []messageCopiesJS `json:"messages"`
	BelowTarget int               `json:"below_target"`
	Deleted     int               `json:"deleted"`
	Unreachable []string          `json:"unreachable"`
}

type messageCopiesJS struct {
	repair.Copies
	Count       int  `json:"copies"`
	BelowTarget bool `json:"below_target"`
}

// cmdMailbox lists every message id of one mailbox across the backends,
// flags those with fewer than R copies, and shows tombstones.
func cmdMailbox(e *env, args []string) error {
	pos, cf, backends, err := e.clusterCommand("mailbox", args, 1)
	if err != nil {
		return err
	}
	defer closeAll(backends)
	box, err := mailbox.Parse(pos[0])
	if err != nil {
		return err
	}
	ms := repair.ScanMailbox(e.ctx, repair.Probe(e.ctx, backends), box)
	rep := mailboxReport{Mailbox: box, Redundancy: cf.redundancy, Messages: []messageCopiesJS{}, Unreachable: ms.Unreachable}
	for _, c := range ms.Messages {
		m := messageCopiesJS{Copies: c, Count: len(c.Holders), BelowTarget: !c.Tombstoned() && len(c.Holders) < cf.redundancy}
		rep.Messages = append(rep.Messages, m)
		if m.BelowTarget {
			rep.BelowTarget++
		}
		if c.Tombstoned() {
			rep.Deleted++
		}
	}
	if e.json {
		return e.print(rep, "")
	}
	return printMailbox(e, rep)
}

func printMailbox(e *env, rep mailboxReport) error {
	rows := make([][]string, len(rep.Messages))
	for i, m := range rep.Messages {
		rows[i] = []string{string(m.ID), sizeOf(m.Copies), strconv.Itoa(m.Count), holders(m.Copies), noteOf(m, rep.Redundancy)}
	}
	if err := e.table(nil, []string{"ID", "SIZE", "COPIES", "BACKENDS", "NOTE"}, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(e.stdout, "%s: %d messages, %d below R=%d, %d deleted",
		rep.Mailbox, len(rep.Messages)-rep.Deleted, rep.BelowTarget, rep.Redundancy, rep.Deleted)
	if err == nil && len(rep.Unreachable) > 0 {
		_, err = fmt.Fprintf(e.stdout, "; not listed (unreachable): %s", strings.Join(rep.Unreachable, ","))
	}
	if err == nil {
		_, err = fmt.Fprintln(e.stdout)
	}
	return err
}

// sizeOf is the size the holders list; differing sizes are all shown, as
// they mean a damaged copy.
func sizeOf(c repair.Copies) string {
	var sizes []string
	for _, h := range c.Holders {
		s := strconv.FormatInt(h.Size, 10)
		if !slices.Contains(sizes, s) {
			sizes = append(sizes, s)
		}
	}
	if len(sizes) == 0 {
		return "-"
	}
	return strings.Join(sizes, "/")
}

func holders(c repair.Copies) string {
	addrs := make([]string, len(c.Holders))
	for i, h := range c.Holders {
		addrs[i] = h.Addr
	}
	if len(addrs) == 0 {
		return "-"
	}
	return strings.Join(addrs, ",")
}

func noteOf(m messageCopiesJS, r int) string {
	switch {
	case m.Tombstoned() && m.Count > 0:
		return "deleted; copies left (repair removes them); tombstones: " + strings.Join(m.Tombstones, ",")
	case m.Tombstoned():
		return "deleted " + m.Deleted.UTC().Format(time.RFC3339) + "; tombstones: " + strings.Join(m.Tombstones, ",")
	case m.BelowTarget:
		return fmt.Sprintf("BELOW R=%d", r)
	}
	return ""
}
