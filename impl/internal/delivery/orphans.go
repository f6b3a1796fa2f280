package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

// Orphan records a copy that may have been left on a backend because its
// abort could not be delivered. Repair reads these and removes the copies.
type Orphan struct {
	Time    time.Time      `json:"time"`
	Backend string         `json:"backend"`
	ID      msgid.ID       `json:"id"`
	Boxes   []mailbox.Name `json:"boxes"`
}

// OrphanLog is an append-only JSON-lines file; each record is fsynced
// before Append returns, so a crash right after cannot forget an orphan.
type OrphanLog struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// OpenOrphanLog opens (creating) the log at path for appending.
func OpenOrphanLog(path string) (*OrphanLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("orphan log: %w", err)
	}
	return &OrphanLog{path: path, f: f}, nil
}

// Append writes o durably.
func (l *OrphanLog) Append(o Orphan) error {
	line, err := json.Marshal(o)
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

// Close closes the file.
func (l *OrphanLog) Close() error { return l.f.Close() }

// ReadOrphans returns every record of the log at path (for repair).
func ReadOrphans(path string) ([]Orphan, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Orphan
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var o Orphan
		if err := dec.Decode(&o); err != nil {
			return out, fmt.Errorf("orphan log %s: %w", path, err)
		}
		out = append(out, o)
	}
	return out, nil
}
