package wire

import (
	"fmt"
	"strings"
)

// Status is the reply to STATUS: what a front end needs to choose a backend
// (free space, read-only, load) and what an operator wants to see.
type Status struct {
	FreeBytes    uint64
	TotalBytes   uint64
	FreeInodes   uint64
	Messages     int64
	Mailboxes    int
	ReadOnly     bool
	MinFreeBytes uint64
	// The load: uploads in flight and the moving average of a delivery's
	// wait for durability, in microseconds (package store, load.go).
	// Optional on the wire: a backend from before them reports neither,
	// and they read as 0.
	Uploads     int64
	FlushMicros uint64
}

// Status fields on the wire, in order.
const (
	statusFree      = "free"
	statusTotal     = "total"
	statusInodes    = "inodes"
	statusMessages  = "messages"
	statusMailboxes = "mailboxes"
	statusReadOnly  = "readonly"
	statusMinFree   = "minfree"
	statusUploads   = "uploads"
	statusFlush     = "flushus"
)

// OnOff spells a switch the way READONLY takes it.
func OnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// ParseOnOff is the inverse of OnOff.
func ParseOnOff(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("want on or off, got %q", clip(s))
}

// String formats the text of the OK reply: "free=... total=... ...".
func (s Status) String() string {
	return fmt.Sprintf("%s=%d %s=%d %s=%d %s=%d %s=%d %s=%s %s=%d %s=%d %s=%d",
		statusFree, s.FreeBytes, statusTotal, s.TotalBytes, statusInodes, s.FreeInodes,
		statusMessages, s.Messages, statusMailboxes, s.Mailboxes,
		statusReadOnly, OnOff(s.ReadOnly), statusMinFree, s.MinFreeBytes,
		statusUploads, s.Uploads, statusFlush, s.FlushMicros)
}

// ParseStatus parses the text of a STATUS reply. Unknown keys are ignored so
// that a newer server can add fields without breaking older clients.
func ParseStatus(text string) (Status, error) {
	var st Status
	seen := map[string]bool{}
	for _, kv := range strings.Split(text, " ") {
		k, v, _ := strings.Cut(kv, "=")
		if _, known := statusKeys[k]; !known {
			continue
		}
		if err := st.set(k, v); err != nil {
			return Status{}, fmt.Errorf("%w: STATUS %s: %v", ErrMalformedReply, k, err)
		}
		seen[k] = true
	}
	for k, required := range statusKeys {
		if required && !seen[k] {
			return Status{}, fmt.Errorf("%w: STATUS %q", ErrMalformedReply, clip(text))
		}
	}
	return st, nil
}

// statusKeys are the known keys, true for the required ones.
var statusKeys = map[string]bool{
	statusFree: true, statusTotal: true, statusInodes: true, statusMessages: true,
	statusMailboxes: true, statusReadOnly: true, statusMinFree: true,
	statusUploads: false, statusFlush: false,
}

func (st *Status) set(k, v string) error {
	var n int64
	var err error
	if k != statusReadOnly {
		n, err = ParseCount(v, 0, 1<<62)
	}
	switch k {
	case statusFree:
		st.FreeBytes = uint64(n)
	case statusTotal:
		st.TotalBytes = uint64(n)
	case statusInodes:
		st.FreeInodes = uint64(n)
	case statusMessages:
		st.Messages = n
	case statusMailboxes:
		st.Mailboxes = int(n)
	case statusMinFree:
		st.MinFreeBytes = uint64(n)
	case statusUploads:
		st.Uploads = n
	case statusFlush:
		st.FlushMicros = uint64(n)
	case statusReadOnly:
		st.ReadOnly, err = ParseOnOff(v)
	}
	return err
}
