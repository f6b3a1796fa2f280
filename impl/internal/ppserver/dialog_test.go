package ppserver_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"powermail/impl/pp"
)

// TestDialogs replays the transcripts in testdata/dialogs. Each line is:
//
//	# comment
//	greeting        read the greeting and remember the challenge
//	auth            authenticate with the test secret (checks the server's proof)
//	C: text         send text and CRLF; Go escapes (\x00, \r, \n) and {NxS}
//	                (S repeated N times) are expanded
//	C! text         the same without the CRLF
//	S: prefix       the next line from the server must start with prefix
//	S: <closed>     the server must have closed the connection
//	hangup          close the client side
//	check-clean     nothing prepared or committed, no upload open
//	cancelled N     N uploads were cancelled by the server
//
// The server runs against a fake store; edge cases of bad input are easier to
// read as dialogs than as code.
func TestDialogs(t *testing.T) {
	files, _ := filepath.Glob("testdata/dialogs/*.txt")
	if len(files) == 0 {
		t.Fatal("no dialogs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			st := newFakeStore(t.TempDir())
			_, p := newPipeClient(t, newServer(t, st), testSecret)
			d := &dialog{t: t, c: p.rawConn(t), st: st, p: p}
			d.r = pp.NewReader(d.c, 0)
			aw, drain := asyncWriter(d.c)
			d.w, d.drain = bufio.NewWriter(aw), drain
			d.run(f)
		})
	}
}

type dialog struct {
	t      *testing.T
	c      net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	st     *fakeStore
	p      *pipeServer
	drain  func()
	snonce string
}

func (d *dialog) run(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		d.t.Fatal(err)
	}
	for n, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := d.step(line); err != nil {
			d.t.Fatalf("%s:%d: %s: %v", path, n+1, line, err)
		}
	}
}

// asyncWriter returns a writer that hands data to a goroutine writing to c.
// net.Pipe has no buffer: a pipelined burst would otherwise block against
// the server's replies, which TCP's socket buffers absorb in real use.
// The returned drain function waits until everything queued was written.
func asyncWriter(c net.Conn) (io.Writer, func()) {
	ch := make(chan []byte, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range ch {
			c.Write(p) // errors show up as a closed connection in S: lines
		}
	}()
	return chanWriter(ch), func() { close(ch); <-done }
}

type chanWriter chan []byte

func (w chanWriter) Write(p []byte) (int, error) {
	w <- bytes.Clone(p)
	return len(p), nil
}

var repeatRE = regexp.MustCompile(`\{(\d+)x([^}]*)\}`)

func expand(s string) (string, error) {
	s = repeatRE.ReplaceAllStringFunc(s, func(m string) string {
		g := repeatRE.FindStringSubmatch(m)
		n, _ := strconv.Atoi(g[1])
		return strings.Repeat(g[2], n)
	})
	return strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`)
}

func (d *dialog) step(line string) error {
	switch {
	case line == "greeting":
		return d.greeting()
	case line == "auth":
		return d.auth()
	case line == "hangup":
		d.drain()
		d.c.Close()
		d.p.wg.Wait()
		return nil
	case line == "check-clean":
		return d.checkClean()
	case strings.HasPrefix(line, "cancelled "):
		return d.checkCancelled(line[len("cancelled "):])
	case strings.HasPrefix(line, "C: "), strings.HasPrefix(line, "C! "):
		text, err := expand(line[3:])
		if err != nil {
			return err
		}
		if line[1] == ':' {
			text += "\r\n"
		}
		d.w.WriteString(text)
		d.w.Flush() // the server may have closed already: that is checked by S: lines
		return nil
	case strings.HasPrefix(line, "S: "):
		return d.expect(line[3:])
	}
	return errorf("unknown directive")
}
