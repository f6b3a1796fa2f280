package pp

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
)

// MaxChunkBytes bounds one CHUNK frame, so a receiver never has to hold or
// trust more than this per frame; message size is bounded by the server's
// max-message-bytes, checked as data arrives.
const MaxChunkBytes = 1 << 20

// maxMessageSize is the largest size an END line may announce (1 TiB): a
// syntactic bound only; the store enforces its own, much smaller limit.
const maxMessageSize = 1 << 40

// Frame verbs inside a message stream.
const (
	VerbChunk = "CHUNK"
	VerbEnd   = "END"
)

// FrameKind tells a CHUNK header from an END trailer.
type FrameKind int

const (
	FrameChunk FrameKind = iota + 1
	FrameEnd
)

// Frame is one parsed frame line. For a CHUNK, Len raw bytes follow the line.
type Frame struct {
	Kind FrameKind
	Len  int    // CHUNK: bytes that follow
	Size int64  // END: total bytes announced
	CRC  uint32 // END: CRC-32C of the whole message
}

// ErrBadFrame wraps every frame syntax error.
var ErrBadFrame = errors.New("bad frame")

// ParseFrame parses "CHUNK <n>" or "END <size> <crc32c-hex>".
func ParseFrame(line string) (Frame, error) {
	f := strings.Split(line, " ")
	switch {
	case len(f) == 2 && f[0] == VerbChunk:
		n, err := ParseCount(f[1], 1, MaxChunkBytes)
		if err != nil {
			return Frame{}, fmt.Errorf("%w: CHUNK: %v", ErrBadFrame, err)
		}
		return Frame{Kind: FrameChunk, Len: int(n)}, nil
	case len(f) == 3 && f[0] == VerbEnd:
		size, err := ParseCount(f[1], 0, maxMessageSize)
		if err != nil {
			return Frame{}, fmt.Errorf("%w: END: %v", ErrBadFrame, err)
		}
		crc, err := parseCRC(f[2])
		if err != nil {
			return Frame{}, fmt.Errorf("%w: END: %v", ErrBadFrame, err)
		}
		return Frame{Kind: FrameEnd, Size: size, CRC: crc}, nil
	}
	return Frame{}, fmt.Errorf("%w: want CHUNK <n> or END <size> <crc32c>, got %q", ErrBadFrame, clip(line))
}

// parseCRC decodes a CRC-32C written as exactly 8 lower-case hex digits
// (one spelling per value, as everywhere in the protocol).
func parseCRC(s string) (uint32, error) {
	bad := errors.New("checksum is not 8 lower-case hex digits")
	if len(s) != 8 || strings.ToLower(s) != s {
		return 0, bad
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, bad
	}
	return uint32(v), nil
}

// String formats the frame line that ParseFrame parses.
func (f Frame) String() string {
	if f.Kind == FrameChunk {
		return VerbChunk + " " + strconv.Itoa(f.Len)
	}
	return fmt.Sprintf("%s %d %08x", VerbEnd, f.Size, f.CRC)
}

// ReadFrame reads one frame line from r. For a CHUNK the caller must then
// consume exactly f.Len bytes (ReadChunk).
func ReadFrame(r *bufio.Reader) (Frame, error) {
	line, err := ReadLine(r)
	if err != nil {
		return Frame{}, err
	}
	return ParseFrame(line)
}

// ReadChunk copies the n payload bytes of a CHUNK to dst, straight out of
// r's buffer (no copy buffer is allocated per frame). A short payload is
// io.ErrUnexpectedEOF: the peer vanished mid-frame.
func ReadChunk(r *bufio.Reader, n int, dst io.Writer) error {
	for n > 0 {
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil { // fills the buffer
				if err == io.EOF {
					return io.ErrUnexpectedEOF
				}
				return err
			}
		}
		p, _ := r.Peek(min(n, r.Buffered()))
		if _, err := dst.Write(p); err != nil {
			return err
		}
		r.Discard(len(p))
		n -= len(p)
	}
	return nil
}

// WriteChunk buffers one CHUNK frame carrying p (1 <= len(p) <= MaxChunkBytes).
func WriteChunk(w *bufio.Writer, p []byte) error {
	if len(p) == 0 || len(p) > MaxChunkBytes {
		return fmt.Errorf("%w: chunk of %d bytes", ErrBadFrame, len(p))
	}
	if err := WriteLine(w, Frame{Kind: FrameChunk, Len: len(p)}.String()); err != nil {
		return err
	}
	_, err := w.Write(p)
	return err
}

// castagnoli is the CRC-32C table; the CPU computes it (SSE 4.2, ARMv8).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Summer computes the size and CRC-32C announced by END while data streams.
type Summer struct {
	size int64
	crc  uint32
}

// NewSummer returns an empty Summer.
func NewSummer() *Summer { return &Summer{} }

// Write adds p to the running size and checksum.
func (s *Summer) Write(p []byte) (int, error) {
	s.size += int64(len(p))
	s.crc = crc32.Update(s.crc, castagnoli, p)
	return len(p), nil
}

// End returns the END frame for everything written so far.
func (s *Summer) End() Frame {
	return Frame{Kind: FrameEnd, Size: s.size, CRC: s.crc}
}
