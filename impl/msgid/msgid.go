// Package msgid defines the identifier of a stored message.
//
// The writer (powersmtp) chooses the id once per message; every backend stores
// its copy under the same id, powerpop uses it as the UIDL (RFC 1939 section 7:
// 1 to 70 characters in 0x21..0x7E, never reused), and tombstones name it.
//
// Form: 12 hex digits of milliseconds since the Unix epoch, then 32 hex digits
// (128 bits) from crypto/rand: 44 lower-case hex characters. The time prefix
// makes a sort by id a sort by delivery time, identical on every replica; the
// random part makes collisions between writers negligible without coordination.
package msgid

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

const (
	timeHexLen  = 12
	randomBytes = 16
	// Len is the length of every valid id.
	Len = timeHexLen + 2*randomBytes
)

// ID is a validated message id.
type ID string

// ErrSyntax is returned by Parse for anything that is not a valid id.
var ErrSyntax = errors.New("invalid message id")

// New returns a fresh id for a message received at now.
func New(now time.Time) ID {
	var b [randomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("msgid: crypto/rand failed: " + err.Error()) // rand.Read never fails on Linux >= 3.17
	}
	ms := uint64(now.UnixMilli()) & (1<<48 - 1)
	ts := strconv.FormatUint(ms, 16)
	for len(ts) < timeHexLen {
		ts = "0" + ts
	}
	return ID(ts + hex.EncodeToString(b[:]))
}

// Parse validates s: exactly Len lower-case hex digits.
func Parse(s string) (ID, error) {
	if len(s) != Len {
		return "", ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", ErrSyntax
		}
	}
	return ID(s), nil
}

// Time returns the delivery time encoded in the id, to the millisecond.
func (id ID) Time() time.Time {
	ms, _ := strconv.ParseUint(string(id[:timeHexLen]), 16, 64)
	return time.UnixMilli(int64(ms))
}

func (id ID) String() string { return string(id) }
