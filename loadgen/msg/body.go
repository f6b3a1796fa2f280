package msg

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Body text comes from one shared pool of fixed-width lines, generated once
// from a fixed seed: building a message is then a copy, not per-byte work.
// Each message starts at a line chosen by its id and wraps around the pool.
const (
	lineBytes      = 78 // 76 characters + CRLF, the RFC 5322 2.1.1 SHOULD
	poolLines      = 16 << 10
	maxLastLineLen = 998 // RFC 5322 2.1.1 MUST (without CRLF)
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 "

var pool = makePool()

func makePool() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	p := make([]byte, 0, poolLines*lineBytes)
	for range poolLines {
		// The first character is never a dot or a space: no dot-stuffing,
		// no line that looks like header folding.
		p = append(p, alphabet[r.IntN(52)])
		for range lineBytes - 3 {
			p = append(p, alphabet[r.IntN(len(alphabet))])
		}
		p = append(p, '\r', '\n')
	}
	return p
}

// bodyOffset picks the first pool line from the id (FNV-1a).
func bodyOffset(id string) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h = (h ^ uint32(id[i])) * 16777619
	}
	return int(h%poolLines) * lineBytes
}

// appendBody appends n bytes of body: whole pool lines, then a last line
// that brings the total to exactly n and ends in CRLF.
func appendBody(dst []byte, off, n int) []byte {
	full := n / lineBytes
	last := n % lineBytes
	if last > 0 && last < 3 && full > 0 {
		// A last line needs a character and CRLF: lengthen it instead.
		full--
		last += lineBytes
	}
	dst = appendPool(dst, off, full*lineBytes)
	if last > 0 {
		for i := 0; i < last-2; i++ {
			dst = append(dst, alphabet[i%52])
		}
		dst = append(dst, "\r\n"[max(0, 2-last):]...)
	}
	return dst
}

func appendPool(dst []byte, off, n int) []byte {
	for n > 0 {
		k := min(n, len(pool)-off)
		dst = append(dst, pool[off:off+k]...)
		n -= k
		off = 0
	}
	return dst
}

type headers struct {
	id      string
	bodyLen int
	sum     uint32
}

var headerEnd = []byte("\r\n\r\n")

// parseHeaders finds the loadgen headers in the header section (RFC 5322
// 2.1: headers, an empty line, the body).
func parseHeaders(data []byte) (headers, []byte, error) {
	var h headers
	end := bytes.Index(data, headerEnd)
	if end < 0 {
		return h, nil, ErrNoHeaders
	}
	body := data[end+len(headerEnd):]
	found := 0
	for _, line := range bytes.Split(data[:end], []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		v := string(bytes.TrimSpace(value))
		var err error
		switch {
		case bytes.EqualFold(name, []byte(HeaderID)):
			h.id = v
		case bytes.EqualFold(name, []byte(HeaderLen)):
			h.bodyLen, err = strconv.Atoi(v)
		case bytes.EqualFold(name, []byte(HeaderSum)):
			var s uint64
			s, err = strconv.ParseUint(v, 16, 32)
			h.sum = uint32(s)
		default:
			continue
		}
		if err != nil {
			return h, body, fmt.Errorf("%w: bad %s", ErrNoHeaders, name)
		}
		found++
	}
	if found != 3 {
		return h, body, ErrNoHeaders
	}
	return h, body, nil
}
