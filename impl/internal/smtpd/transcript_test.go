package smtpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Dialog transcripts in testdata/*.txt, one step per line:
//
//	C: <command>       client line; CRLF is appended
//	R: "<go string>"   raw client bytes, Go-quoted (for bare CR/LF, BDAT data)
//	S: <code> [text]   next reply has this code (and starts with this text)
//	D: <n>             the Deliverer has accepted n messages so far
//	B: "<go string>"   the last accepted body is our Received: header + this
//	E: closed          the server closed the connection
//	# comment
//
// Consecutive C/R lines are written as one packet, so they arrive pipelined.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runTranscript(t, f)
		})
	}
}

type step struct {
	kind byte
	arg  string
	line int
}

func parseTranscript(t *testing.T, path string) []step {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var steps []step
	for i, l := range strings.Split(string(data), "\n") {
		if l == "" || l[0] == '#' {
			continue
		}
		if len(l) < 3 || l[1:3] != ": " {
			t.Fatalf("%s:%d: bad step %q", path, i+1, l)
		}
		steps = append(steps, step{kind: l[0], arg: l[3:], line: i + 1})
	}
	return steps
}

func runTranscript(t *testing.T, path string) {
	srv, del := newTestServer(t, testConfig())
	conn := pipeSession(t, srv)
	r := bufio.NewReader(conn)
	expectReply(t, r, "220", 0)
	steps := parseTranscript(t, path)
	var packet []byte
	writing := make(chan error, 1)
	writing <- nil
	for i, st := range steps {
		switch st.kind {
		case 'C', 'R':
			packet = append(packet, clientBytes(t, st)...)
			if i+1 < len(steps) && (steps[i+1].kind == 'C' || steps[i+1].kind == 'R') {
				continue
			}
			if err := <-writing; err != nil {
				t.Fatalf("line %d: write: %v", st.line, err)
			}
			// Write in the background: over net.Pipe a large packet blocks
			// until the server reads it, and the server may reply first.
			go func(p []byte) { _, err := conn.Write(p); writing <- err }(packet)
			packet = nil
		case 'S':
			expectReply(t, r, st.arg, st.line)
		case 'D':
			if n, _ := strconv.Atoi(st.arg); len(del.messages()) != n {
				t.Fatalf("line %d: %d messages delivered, want %d", st.line, len(del.messages()), n)
			}
		case 'B':
			checkLastBody(t, del, unquote(t, st))
		case 'E':
			if l, err := r.ReadString('\n'); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
				t.Fatalf("line %d: want connection closed, got %q %v", st.line, l, err)
			}
		default:
			t.Fatalf("line %d: unknown step %q", st.line, st.kind)
		}
	}
}

func clientBytes(t *testing.T, st step) []byte {
	if st.kind == 'C' {
		return []byte(st.arg + "\r\n")
	}
	return []byte(unquote(t, st))
}

func unquote(t *testing.T, st step) string {
	s, err := strconv.Unquote(st.arg)
	if err != nil {
		t.Fatalf("line %d: %v", st.line, err)
	}
	return s
}

// expectReply reads one (possibly multi-line) reply and checks that its last
// line starts with want.
func expectReply(t *testing.T, r *bufio.Reader, want string, line int) string {
	t.Helper()
	got, err := readReply(r)
	if err != nil {
		t.Fatalf("line %d: want %q, read error %v", line, want, err)
	}
	if !strings.HasPrefix(got, want) {
		t.Fatalf("line %d: got reply %q, want %q", line, got, want)
	}
	return got
}

func readReply(r *bufio.Reader) (string, error) {
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return l, err
		}
		if len(l) < 4 || !strings.HasSuffix(l, "\r\n") {
			return l, fmt.Errorf("malformed reply line %q", l)
		}
		if l[3] == ' ' {
			return strings.TrimSuffix(l, "\r\n"), nil
		}
	}
}

func checkLastBody(t *testing.T, del *fakeDeliverer, want string) {
	t.Helper()
	msgs := del.messages()
	if len(msgs) == 0 {
		t.Fatal("no message delivered")
	}
	body := string(msgs[len(msgs)-1].body)
	hdr := string(receivedHeader("mx.local.test", &msgs[len(msgs)-1].tx))
	if !strings.HasPrefix(body, hdr) || body[len(hdr):] != want {
		t.Fatalf("body %q, want %q + %q", body, hdr, want)
	}
}
