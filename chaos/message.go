package chaos

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Message sizes: small, so thousands fit in a CI minute; some lines start
// with "." so that dot-stuffing (RFC 5321 section 4.5.2) is exercised.
const (
	minBodyLines = 3
	maxBodyLines = 120
	idHeader     = "X-Chaos-Id: "
)

// message is one generated mail: its chaos id and its wire form (CRLF,
// dot-stuffed, without the final ".\r\n").
type message struct {
	ID   string
	Wire []byte
}

// newMessage builds message n deterministically from rng.
func newMessage(rng *rand.Rand, id string, rcpts []string) message {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: chaos@chaos.invalid\r\nTo: %s\r\n", strings.Join(rcpts, ", "))
	fmt.Fprintf(&b, "Subject: chaos %s\r\nMessage-ID: <%s@chaos.invalid>\r\n%s%s\r\n\r\n", id, id, idHeader, id)
	lines := minBodyLines + rng.IntN(maxBodyLines-minBodyLines)
	for i := 0; i < lines; i++ {
		if rng.IntN(8) == 0 {
			b.WriteString("..") // a body line starting with ".", stuffed
		}
		fmt.Fprintf(&b, "line %d of %s %x\r\n", i, id, rng.Uint64())
	}
	return message{ID: id, Wire: b.Bytes()}
}

// fingerprint is what the checker keeps of a sent message.
type fingerprint struct {
	Len int
	Sum [sha256.Size]byte
}

func fingerprintOf(wire []byte) fingerprint {
	return fingerprint{Len: len(wire), Sum: sha256.Sum256(wire)}
}

// matches reports whether a retrieved message (the stored form: our wire
// form with a Received: header prepended) ends with exactly the sent bytes.
func (f fingerprint) matches(stored []byte) bool {
	if len(stored) < f.Len {
		return false
	}
	return sha256.Sum256(stored[len(stored)-f.Len:]) == f.Sum
}

// chaosID extracts the X-Chaos-Id header value of a stored message ("" if none).
func chaosID(stored []byte) string {
	head, _, _ := bytes.Cut(stored, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(idHeader)); ok {
			return string(v)
		}
	}
	return ""
}
