// Package msgid defines the identifier of a stored message.
//
// The writer (powersmtp) chooses the id once per message; every backend stores
// its copy under the same id, powerpop uses it as the UIDL (RFC 1939 section 7:
// 1 to 70 characters in 0x21..0x7E, never reused), and tombstones name it.
//
// Form: 12 hex digits of milliseconds since the Unix epoch, then 32 hex
// digits: 44 lower-case hex characters. The time prefix makes a sort by id
// a sort by delivery time, identical on every replica. From New the 32
// digits are 128 random bits (crypto/rand); from a Generator, 4 digits of
// sequence number and 112 random bits. The random part makes collisions
// between writers negligible without coordination.
//
// # Order, and a clock that jumps
//
// A mailbox lists its messages by id, so the id is the order the user
// sees. powersmtp takes every id from one Generator, whose ids increase
// strictly in the order they are handed out, whatever the wall clock does:
// the time prefix never goes below the last one given (after a jump back
// it stays where it was and the sequence number counts up, until the clock
// passes it again), and ids with one prefix follow their sequence numbers.
// So a message acknowledged before another's DATA arrived at the same
// powersmtp process sorts first in every mailbox (the chaos checker holds
// it to exactly that).
//
// What a jump costs: after a jump forward by D is corrected, the prefix
// stays up to D ahead of the clock until the clock catches up (the time in
// the id is late; the order holds). A burst of more than 65,536 ids in one
// millisecond moves the prefix on by one. What is not promised: order
// across processes. Two powersmtps slot their messages by their own
// clocks, so one that is D behind files its mail up to D earlier than the
// other's; a powersmtp restarted after a forward jump that was corrected
// hands out smaller ids than before. Nothing is lost or duplicated by any
// of it: ids stay unique, and every replica sorts alike.
package msgid

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"
)

const (
	timeHexLen  = 12
	seqHexLen   = 4
	randomBytes = 16
	// Len is the length of every valid id.
	Len = timeHexLen + 2*randomBytes

	maxMs  = 1<<(4*timeHexLen) - 1
	maxSeq = 1<<(4*seqHexLen) - 1
)

// ID is a validated message id.
type ID string

// ErrSyntax is returned by Parse for anything that is not a valid id.
var ErrSyntax = errors.New("invalid message id")

// New returns a fresh id for a message received at now. Ids from New are
// ordered by their times only, and within one millisecond at random; a
// writer that needs its own order kept uses a Generator.
func New(now time.Time) ID {
	return ID(hexDigits(uint64(now.UnixMilli())&maxMs, timeHexLen) + randomHex(randomBytes))
}

// Generator hands out ids that increase strictly, in the order of the
// calls (see the package doc). The zero value is ready; it must not be
// copied once used. One per writer process.
type Generator struct {
	mu  sync.Mutex
	ms  uint64 // time prefix of the last id
	seq uint64 // its sequence number
}

// New returns an id for a message received at now, greater than every id
// g handed out before.
func (g *Generator) New(now time.Time) ID {
	ms, seq := g.next(uint64(now.UnixMilli()) & maxMs)
	return ID(hexDigits(ms, timeHexLen) + hexDigits(seq, seqHexLen) + randomHex(randomBytes-seqHexLen/2))
}

// next is the prefix and sequence number of the next id: now, unless the
// last id was at now or later (a clock that jumped back, or a second id
// within one millisecond).
func (g *Generator) next(ms uint64) (uint64, uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case ms > g.ms:
		g.ms, g.seq = ms, 0
	case g.seq < maxSeq:
		g.seq++
	default:
		g.ms, g.seq = g.ms+1, 0
	}
	return g.ms, g.seq
}

// hexDigits is v in n lower-case hex digits, zero-padded.
func hexDigits(v uint64, n int) string {
	s := strconv.FormatUint(v, 16)
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("msgid: crypto/rand failed: " + err.Error()) // rand.Read never fails on Linux >= 3.17
	}
	return hex.EncodeToString(b)
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
