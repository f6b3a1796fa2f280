// Package orphanlog is powersmtp's record of copies that a delivery may
// have left on a backend because it could not reach the backend to remove
// them. Repair (ppadmin repair, the chaos suite) reads it to tell a stray
// copy from a replica; this package is the one reader and writer of its
// format, so every tool applies the same rules.
//
// Format: one JSON object per line (time, backend, id, boxes, acked),
// appended and fsynced before Append returns, so a crash right after cannot
// forget an entry. A crash in the middle of an append can leave a torn last
// line: Read skips an unparsable LAST line (and says so), while an
// unparsable line before it is an error, since that is not what a crash
// leaves.
//
// Acked tells the two kinds of entry apart. A refused message (the sender
// got 4xx) has Acked false: every copy of it is stray, and repair may remove
// a copy that only such entries name. An accepted message (250) whose extra
// replica could not be cleaned up has Acked true: that copy may be the last
// one of mail the sender was told is stored, and must never be removed as
// an orphan.
//
// A refused message must also never show, not even after a disk is lost:
// when its refusal may leave a copy behind, it leaves tombstones for the
// id (VOID) on R backends per mailbox, as a delete does, and a tombstone
// where a login looks hides every copy. A record with Voided names a
// backend that took such a VOID, and its mailboxes. When fewer than R
// backends took the VOID of a mailbox (every backend down at once, a power
// cut of the whole cluster), the id is pending: powersmtp voids it on more
// backends later (at start, and periodically), appending a Voided record
// for each.
package orphanlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Entry is one copy that may have been left behind.
type Entry struct {
	Time    time.Time      `json:"time"`
	Backend string         `json:"backend"`
	ID      msgid.ID       `json:"id"`
	Boxes   []mailbox.Name `json:"boxes"`
	// Acked: the message was accepted (250); the copy is not stray.
	Acked bool `json:"acked"`
	// Voided: Backend holds tombstones for ID in Boxes (a refusal's VOID
	// landed there); not a copy left behind.
	Voided bool `json:"voided,omitempty"`
}

// PendingVoid is a refused message with too few tombstones.
type PendingVoid struct {
	ID     msgid.ID
	Boxes  []mailbox.Name
	Strays []string                  // backends that may hold a copy
	Voided map[mailbox.Name][]string // per mailbox, backends that hold its tombstone
}

// Pending returns the refused messages (a stray entry without Acked) with
// a mailbox whose VOID fewer than r distinct backends took, one per id,
// with the union of their mailboxes. (Which backends count, those a login
// lists, is the placement's question: powersmtp asks it, see
// delivery.VoidPending.)
func Pending(entries []Entry, r int) []PendingVoid {
	var out []PendingVoid
	at := map[msgid.ID]int{}
	voided := map[msgid.ID]map[mailbox.Name][]string{}
	for _, e := range entries {
		switch {
		case e.Voided:
			if voided[e.ID] == nil {
				voided[e.ID] = map[mailbox.Name][]string{}
			}
			for _, b := range e.Boxes {
				voided[e.ID][b] = appendNew(voided[e.ID][b], e.Backend)
			}
		case !e.Acked:
			i, seen := at[e.ID]
			if !seen {
				i = len(out)
				at[e.ID] = i
				out = append(out, PendingVoid{ID: e.ID})
			}
			out[i].Strays = appendNew(out[i].Strays, e.Backend)
			for _, b := range e.Boxes {
				out[i].Boxes = appendNew(out[i].Boxes, b)
			}
		}
	}
	for i := range out {
		out[i].Voided = voided[out[i].ID]
	}
	return slices.DeleteFunc(out, func(p PendingVoid) bool {
		return !slices.ContainsFunc(p.Boxes, func(b mailbox.Name) bool { return len(p.Voided[b]) < r })
	})
}

func appendNew[T comparable](list []T, s T) []T {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// Log is an open orphan log, safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// Open opens (creating) the log at path for appending.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("orphan log: %w", err)
	}
	return &Log{f: f, path: path}, nil
}

// Counted for the operator (deploy/prometheus/alerts.yml): each entry is a
// copy repair must look at; a failed write is an orphan nobody will know of.
var (
	appended = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_smtp_orphans_logged_total",
		Help: "Copies recorded in the orphan log for repair (aborts or voids that could not reach a backend).",
	})
	appendErrors = promauto.NewCounter(prometheus.CounterOpts{
		Name: "powermail_smtp_orphan_log_errors_total",
		Help: "Orphan log entries that could not be written or fsynced.",
	})
)

// Append writes e durably.
func (l *Log) Append(e Entry) error {
	if err := l.append(e); err != nil {
		appendErrors.Inc()
		return err
	}
	appended.Inc()
	return nil
}

func (l *Log) append(e Entry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return err
	}
	return l.f.Sync()
}

// Path is the file the log appends to.
func (l *Log) Path() string { return l.path }

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }

// ErrTornLast is returned (with the entries before it) when the last line
// does not parse: what a crash during an append leaves.
var ErrTornLast = errors.New("orphan log: torn last line skipped")

// Read returns every entry of the log at path; a missing log is empty. See
// the package doc for torn lines.
func Read(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("orphan log: %w", err)
	}
	var out []Entry
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			if i == len(lines)-1 {
				return out, ErrTornLast
			}
			return out, fmt.Errorf("orphan log %s: line %d: %w", path, i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}
