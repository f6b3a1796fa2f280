package smtpd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	testMaxLine  = 1000
	testMaxBytes = 4096
)

// readAll runs the real reader over in, reading through r's small reads, and
// returns the stored bytes, the error, and what is left after a drain.
func readAll(in []byte, maxLine int, maxBytes int64, chunk int) (out []byte, err error, rest []byte, drainErr error) {
	src := io.Reader(bytes.NewReader(in))
	if chunk > 0 {
		src = iotest.OneByteReader(src)
	}
	br := bufio.NewReaderSize(src, maxLine+1)
	d := newDataReader(br, maxLine, maxBytes)
	out, err = io.ReadAll(d)
	if err != nil {
		drainErr = d.drain(0)
	}
	rest, _ = io.ReadAll(br)
	return out, err, rest, drainErr
}

// model is the reference semantics, written over the whole input at once:
// split into lines at LF, apply the checks in order, then for a failure skip to
// the first "." CRLF line that follows a CRLF-terminated line.
func model(in []byte, maxLine int, maxBytes int64) (out []byte, err error, rest []byte, drainErr error) {
	pos := 0
	for {
		nl := bytes.IndexByte(in[pos:], '\n')
		if nl < 0 {
			if len(in)-pos > maxLine {
				return out, errDataLineTooLong, nil, io.EOF
			}
			return out, io.ErrUnexpectedEOF, nil, io.EOF
		}
		line := in[pos : pos+nl+1]
		pos += nl + 1
		var fail error
		switch {
		case len(line) > maxLine:
			fail = errDataLineTooLong
		case !bytes.HasSuffix(line, []byte("\r\n")) || bytes.Contains(line[:len(line)-2], []byte("\r")):
			fail = errBareNewline
		case string(line) == ".\r\n":
			return out, nil, in[pos:], nil
		case int64(len(out)+len(line)) > maxBytes:
			fail = errMessageTooLarge
		}
		if fail != nil {
			rest, drainErr := modelDrain(in[pos:], bytes.HasSuffix(line, []byte("\r\n")))
			return out, fail, rest, drainErr
		}
		out = append(out, line...)
	}
}

func modelDrain(in []byte, strict bool) ([]byte, error) {
	for pos := 0; ; {
		nl := bytes.IndexByte(in[pos:], '\n')
		if nl < 0 {
			return nil, io.EOF
		}
		line := in[pos : pos+nl+1]
		pos += nl + 1
		if strict && string(line) == ".\r\n" {
			return in[pos:], nil
		}
		strict = bytes.HasSuffix(line, []byte("\r\n"))
	}
}

func TestDataReaderTable(t *testing.T) {
	long := strings.Repeat("x", testMaxLine-2)
	tests := []struct {
		name, in, out, rest string
		err                 error
	}{
		{"empty message", ".\r\n", "", "", nil},
		{"stuffing kept", "a\r\n..b\r\n.\r\nNEXT", "a\r\n..b\r\n", "NEXT", nil},
		{"line at limit", long + "\r\n.\r\n", long + "\r\n", "", nil},
		{"line over limit", long + "x\r\nok\r\n.\r\nNEXT", "", "NEXT", errDataLineTooLong},
		{"bare LF mid line", "a\nb\r\n.\r\nNEXT", "", "NEXT", errBareNewline},
		{"bare CR mid line", "a\rb\r\n.\r\nNEXT", "", "NEXT", errBareNewline},
		{"LF.LF end", "a\r\n\n.\n", "a\r\n", "", errBareNewline},
		{"CRLF.LF end", "a\r\n.\nMAIL FROM:<x@y>\r\n", "a\r\n", "", errBareNewline},
		{"LF.CRLF end then smuggled tx then real end", "a\r\n\n.\r\nMAIL FROM:<x@y>\r\nDATA\r\nevil\r\n.\r\nQUIT\r\n",
			"a\r\n", "QUIT\r\n", errBareNewline},
		{"CR.CR end", "a\r\n\r.\rMAIL FROM:<x@y>\r\n", "a\r\n", "", errBareNewline},
		{"too large", strings.Repeat("y\r\n", testMaxBytes) + ".\r\nNEXT", strings.Repeat("y\r\n", testMaxBytes/3), "NEXT", errMessageTooLarge},
		// The piece of a line that arrived is passed on before its end is
		// known (see partial); the error makes the Deliverer drop it.
		{"eof", "a\r\nb", "a\r\nb", "", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err, rest, _ := readAll([]byte(tc.in), testMaxLine, testMaxBytes, 0)
			if !errors.Is(err, tc.err) && err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if string(out) != tc.out || string(rest) != tc.rest {
				t.Errorf("out %q rest %q, want %q %q", out, rest, tc.out, tc.rest)
			}
		})
	}
}

// FuzzDataReader is the differential test: the streaming reader (fed one byte
// at a time or in large reads, with a small line limit so the limits matter)
// must agree with model on output, error, and where the next command begins.
func FuzzDataReader(f *testing.F) {
	for _, s := range []string{".\r\n", "a\r\n.\r\n", "a\n.\n", "a\r\n\n.\r\nMAIL\r\n.\r\n", "..\r\n.\r\nX",
		"a\r.\r\n", "xxxxxxxxxxxxxxxxxxxx\r\n.\r\n", "\r\n.\r\n"} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		maxLine, maxBytes := 16+int(mode%8), int64(64+int(mode%32)*4)
		wOut, wErr, wRest, wDrain := model(in, maxLine, maxBytes)
		gOut, gErr, gRest, gDrain := readAll(in, maxLine, maxBytes, int(mode%2))
		if !sameOutput(in, gOut, wOut, gErr, wErr) {
			t.Fatalf("in %q: got %q %v, model %q %v", in, gOut, gErr, wOut, wErr)
		}
		if (gDrain == nil) != (wDrain == nil) || gDrain == nil && !bytes.Equal(gRest, wRest) {
			t.Fatalf("in %q: drain got %v rest %q, model %v rest %q", in, gDrain, gRest, wDrain, wRest)
		}
	})
}

// sameOutput compares the reader with the model: the same error, the same
// stored bytes on success. On failure the reader may also have passed on a
// piece of the failing line (partial does not wait for a line to end), which
// holds no CR or LF; the Deliverer gives the message up then.
func sameOutput(in, got, want []byte, gErr, wErr error) bool {
	if gErr != wErr {
		return false
	}
	if wErr == nil {
		return bytes.Equal(got, want)
	}
	piece, ok := bytes.CutPrefix(got, want)
	return ok && bytes.HasPrefix(in[len(want):], piece) && !bytes.ContainsAny(piece, "\r\n")
}

// BenchmarkDataReader measures the strict reader on a 1 MiB message of
// 78-byte lines (the per-byte cost that DATA adds before the Deliverer).
func BenchmarkDataReader(b *testing.B) {
	line := strings.Repeat("x", 76) + "\r\n"
	msg := []byte(strings.Repeat(line, (1<<20)/len(line)) + ".\r\n")
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		br := bufio.NewReaderSize(bytes.NewReader(msg), 4096)
		if _, err := io.Copy(io.Discard, newDataReader(br, 1000, 1<<21)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPrefixReaderJoinsPrefixAndBody(t *testing.T) {
	p := &prefixReader{prefix: []byte("Received: x\r\n"), r: strings.NewReader("Subject: y\r\n\r\nbody\r\n")}
	buf := make([]byte, 64)
	n, err := p.Read(buf)
	if err != nil || string(buf[:n]) != "Received: x\r\nSubject: y\r\n\r\nbody\r\n" {
		t.Fatalf("first Read: %q %v; want prefix and body together", buf[:n], err)
	}
	if n, err := p.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("second Read: %d %v", n, err)
	}
	small := &prefixReader{prefix: []byte("abcdef"), r: strings.NewReader("gh")}
	got, err := io.ReadAll(io.LimitReader(small, 100))
	if err != nil || string(got) != "abcdefgh" {
		t.Fatalf("ReadAll: %q %v", got, err)
	}
}

// chunkReader returns one chunk per Read, as bytes trickle in from a slow
// sender.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	c.chunks = c.chunks[1:]
	return n, nil
}

// TestDataReaderPassesOnPartialLines: what arrived of a line is returned at
// once, so the backends hear from a slow sender byte by byte (issue 14);
// a CR waits for its LF and a "." starting a line waits to show whether it
// is the terminator.
func TestDataReaderPassesOnPartialLines(t *testing.T) {
	src := &chunkReader{chunks: []string{"Sub", "ject", "\r", "\n", ".", "x\r\n", ".", "\r\n", "NEXT"}}
	d := newDataReader(bufio.NewReaderSize(src, testMaxLine+1), testMaxLine, testMaxBytes)
	var pieces []string
	for {
		p := make([]byte, 100)
		n, err := d.Read(p)
		if n > 0 {
			pieces = append(pieces, string(p[:n]))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Sub", "ject", "\r\n", ".x\r\n"}
	if strings.Join(pieces, "|") != strings.Join(want, "|") {
		t.Fatalf("pieces %q, want %q", pieces, want)
	}
}
