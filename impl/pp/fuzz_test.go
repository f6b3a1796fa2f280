package pp

import (
	"bytes"
	"io"
	"testing"
	"time"
)

var fixedTime = time.UnixMilli(1732370000000)

// FuzzFrame feeds arbitrary bytes to the line reader and the frame parser,
// as a server reads a message stream. Invariants: no panic; every accepted
// line is within bounds and free of CR, LF and NUL; every accepted frame
// prints back to the very line it was parsed from (one spelling per frame);
// no CHUNK claims more than MaxChunkBytes.
func FuzzFrame(f *testing.F) {
	f.Add(stream(f, []byte("hello\r\n"), 3))
	f.Add([]byte("CHUNK 5\r\nab"))
	f.Add([]byte("CHUNK 1048577\r\n"))
	f.Add([]byte("END 0 00000000\r\n"))
	f.Add([]byte("CHUNK 3\nabc"))
	f.Add([]byte("CHUNK 3\r\nab\x00END 1 x\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), 0)
		for {
			line, err := ReadLine(r)
			if err != nil {
				return
			}
			if len(line)+2 > MaxLineBytes || CheckLine(line) != nil {
				t.Fatalf("ReadLine returned a bad line %q", line)
			}
			fr, err := ParseFrame(line)
			if err != nil {
				continue
			}
			if fr.String() != line {
				t.Fatalf("frame %q prints as %q", line, fr.String())
			}
			if fr.Kind == FrameChunk {
				if fr.Len < 1 || fr.Len > MaxChunkBytes {
					t.Fatalf("chunk length %d", fr.Len)
				}
				if ReadChunk(r, fr.Len, io.Discard) != nil {
					return
				}
			}
		}
	})
}

// FuzzReply: ParseReply never panics, and an ERR it accepts formats back
// to a sendable line with the same code (control characters in the text
// are replaced, so the text itself may differ).
func FuzzReply(f *testing.F) {
	for _, s := range []string{"OK", "OK 12 3", "ERR 451 local error", "ERR 5", "ERR 999 x", "ERR 550"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		_, err := ParseReply(line)
		e, ok := err.(*Error)
		if !ok {
			return
		}
		again := FormatErr(e)
		_, err = ParseReply(again)
		if e2, ok := err.(*Error); CheckLine(again) != nil || !ok || e2.Code != e.Code {
			t.Fatalf("%q formats back as %q", line, again)
		}
	})
}
