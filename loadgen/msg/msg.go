// Package msg builds and verifies the test messages of loadgen. Every
// message carries its id and a checksum of its body in headers, so that a
// POP3 run can verify byte for byte what an SMTP run sent, whatever server
// stored it in between; chaos tests reuse it to classify what they read back.
//
// A message looks like (RFC 5322 3.6; CRLF line ends; no line starts with a
// dot, so SMTP dot-stuffing never changes it):
//
//	From: <loadgen@loadgen.invalid>
//	To: <rcpt>
//	Subject: loadgen <id>
//	Message-ID: <id@loadgen.invalid>
//	X-Loadgen-Id: <id>
//	X-Loadgen-Len: <body bytes>
//	X-Loadgen-Sum: <crc32c(id || body), 8 hex>
//
//	body lines of printable text ...
//
// CRC-32C (hardware accelerated on amd64 and arm64) rather than SHA-256: the
// checksum guards against accidents (truncation, swapped or damaged bytes),
// not adversaries, and loadgen must stay cheap next to the server it drives.
package msg

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Header names (compared case-insensitively when verifying: RFC 5322 1.2.2).
const (
	HeaderID  = "X-Loadgen-Id"
	HeaderLen = "X-Loadgen-Len"
	HeaderSum = "X-Loadgen-Sum"
)

// minBodyBytes keeps room for one short line; messages asked to be smaller
// than their headers get this body.
const minBodyBytes = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sum is the checksum carried in HeaderSum: CRC-32C over the id and the body,
// so a body moved onto another message's headers is caught too.
func Sum(id string, body []byte) uint32 {
	c := crc32.Update(0, castagnoli, []byte(id))
	return crc32.Update(c, castagnoli, body)
}

// Build appends a message of about size bytes (exactly size when size is
// larger than the headers) with the given id and recipient to dst. The body
// depends on the id, so different messages have different bodies.
func Build(dst []byte, id, rcpt string, size int) []byte {
	start := len(dst)
	dst = appendHeaders(dst, id, rcpt, 0)
	bodyLen := size - (len(dst) - start) - 2 // the blank line
	// The length header's digits changed the header size: measure again.
	dst = appendHeaders(dst[:start], id, rcpt, max(bodyLen, minBodyBytes))
	bodyLen = max(size-(len(dst)-start)-2, minBodyBytes)
	dst = appendHeaders(dst[:start], id, rcpt, bodyLen)
	hdrEnd := len(dst)
	dst = append(dst, "\r\n"...)
	dst = appendBody(dst, bodyOffset(id), bodyLen)
	sum := Sum(id, dst[hdrEnd+2:])
	// Patch the sum into its fixed-width placeholder.
	copy(dst[hdrEnd-2-sumHexDigits:], fmt.Sprintf("%08x", sum))
	return dst
}

const sumHexDigits = 8

func appendHeaders(dst []byte, id, rcpt string, bodyLen int) []byte {
	dst = append(dst, "From: <loadgen@loadgen.invalid>\r\nTo: <"...)
	dst = append(dst, rcpt...)
	dst = append(dst, ">\r\nSubject: loadgen "...)
	dst = append(dst, id...)
	dst = append(dst, "\r\nMessage-ID: <"...)
	dst = append(dst, id...)
	dst = append(dst, "@loadgen.invalid>\r\n"+HeaderID+": "...)
	dst = append(dst, id...)
	dst = append(dst, "\r\n"+HeaderLen+": "...)
	dst = strconv.AppendInt(dst, int64(bodyLen), 10)
	dst = append(dst, "\r\n"+HeaderSum+": 00000000\r\n"...)
	return dst
}

// Info is what Verify learned from a message.
type Info struct {
	ID       string
	BodyLen  int
	Received int // bytes of the whole message as read
}

// Verification failures.
var (
	ErrNoHeaders = errors.New("msg: not a loadgen message (headers missing)")
	ErrLength    = errors.New("msg: body length differs from " + HeaderLen)
	ErrChecksum  = errors.New("msg: body checksum differs from " + HeaderSum)
)

// Verify checks a message as a client reads it back (after POP3 dot
// un-stuffing; the server may have prepended headers such as Received:).
func Verify(data []byte) (Info, error) {
	h, body, err := parseHeaders(data)
	if err != nil {
		return Info{}, err
	}
	info := Info{ID: h.id, BodyLen: len(body), Received: len(data)}
	if len(body) != h.bodyLen {
		return info, fmt.Errorf("%w: %d, want %d (id %s)", ErrLength, len(body), h.bodyLen, h.id)
	}
	if got := Sum(h.id, body); got != h.sum {
		return info, fmt.Errorf("%w: %08x, want %08x (id %s)", ErrChecksum, got, h.sum, h.id)
	}
	return info, nil
}
