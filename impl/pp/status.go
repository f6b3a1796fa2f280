package pp

import (
	"fmt"
	"math"
	"strings"
	"time"

	"powermail/impl/mail"
)

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

// FormatStatus formats the text of the OK reply to STATUS: "free=...
// total=... ...". The flush wait goes in whole microseconds, rounded up: a
// wait that was measured is never 0.
func FormatStatus(s mail.BackendStatus) string {
	flushMicros := (s.FlushWait + time.Microsecond - 1) / time.Microsecond
	return fmt.Sprintf("%s=%d %s=%d %s=%d %s=%d %s=%d %s=%s %s=%d %s=%d %s=%d",
		statusFree, s.FreeBytes, statusTotal, s.TotalBytes, statusInodes, s.FreeInodes,
		statusMessages, s.Messages, statusMailboxes, s.Mailboxes,
		statusReadOnly, OnOff(s.ReadOnly), statusMinFree, s.MinFreeBytes,
		statusUploads, s.Uploads, statusFlush, int64(flushMicros))
}

// ParseStatus parses the text of a STATUS reply. Unknown keys are ignored so
// that a newer server can add fields without breaking older clients.
// The load keys (uploads, flushus) came later than the others: a backend
// from before them reports neither, and they read as 0.
func ParseStatus(text string) (mail.BackendStatus, error) {
	var st mail.BackendStatus
	seen := map[string]bool{}
	for _, kv := range strings.Split(text, " ") {
		k, v, _ := strings.Cut(kv, "=")
		if _, known := statusKeys[k]; !known {
			continue
		}
		if err := setStatus(&st, k, v); err != nil {
			return mail.BackendStatus{}, fmt.Errorf("%w: STATUS %s: %v", ErrMalformedReply, k, err)
		}
		seen[k] = true
	}
	for k, required := range statusKeys {
		if required && !seen[k] {
			return mail.BackendStatus{}, fmt.Errorf("%w: STATUS %q", ErrMalformedReply, clip(text))
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

func setStatus(st *mail.BackendStatus, k, v string) error {
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
		// Saturated rather than wrapped: any wait this long is "very slow".
		st.FlushWait = time.Duration(min(n, int64(math.MaxInt64/time.Microsecond))) * time.Microsecond
	case statusReadOnly:
		st.ReadOnly, err = ParseOnOff(v)
	}
	return err
}
