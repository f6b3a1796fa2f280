package smtpd

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// FuzzSession runs whole sessions over arbitrary client bytes and checks the
// invariants that matter whatever the client sends: the server ends, every
// reply line is well formed, a message is accepted exactly when a 250 with an
// id was sent, and every accepted body is valid stored form within the limits.
func FuzzSession(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		f.Add(transcriptClientBytes(f, file))
	}
	f.Add([]byte("EHLO a\r\nMAIL FROM:<>\r\nRCPT TO:<u@local.test>\r\nDATA\r\nx\n.\r\n.\r\nQUIT\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := testConfig()
		cfg.MaxErrors = 50
		srv, del := newTestServer(t, cfg)
		conn := &bufConn{in: bytes.NewReader(in)}
		srv.ServeConn(conn)
		out := conn.out.Bytes()
		checkReplies(t, out)
		msgs := del.messages()
		if n := bytes.Count(out, []byte("250 2.0.0 OK id=")); n != len(msgs) {
			t.Fatalf("%d acceptances sent, %d messages delivered", n, len(msgs))
		}
		for _, m := range msgs {
			checkStored(t, cfg, m)
		}
	})
}

var replyLine = regexp.MustCompile(`^[2-5][0-9][0-9][ -][^\r\n]*$`)

func checkReplies(t *testing.T, out []byte) {
	t.Helper()
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Fatalf("output does not end in CRLF: %q", out)
	}
	for _, l := range bytes.Split(bytes.TrimSuffix(out, []byte("\r\n")), []byte("\r\n")) {
		if len(out) > 0 && !replyLine.Match(l) {
			t.Fatalf("malformed reply line %q", l)
		}
	}
}

func checkStored(t *testing.T, cfg Config, m delivered) {
	t.Helper()
	hdr := receivedHeader(cfg.Hostname, &m.tx)
	body, ok := bytes.CutPrefix(m.body, hdr)
	if !ok || len(m.tx.Recipients) == 0 || int64(len(body)) > cfg.MaxMessageBytes {
		t.Fatalf("bad message: tx %+v body %q", m.tx, m.body)
	}
	if len(body) > 0 && !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Fatalf("stored body does not end in CRLF: %q", body)
	}
	for _, l := range bytes.SplitAfter(body, []byte("\r\n")) {
		if bytes.ContainsAny(bytes.TrimSuffix(l, []byte("\r\n")), "\r\n") || len(l) > cfg.MaxLineBytes+1 {
			t.Fatalf("bad stored line %q", l)
		}
		if bytes.Equal(l, []byte(".\r\n")) {
			t.Fatalf("terminator inside stored body %q", body)
		}
	}
}

// transcriptClientBytes extracts what the client sends in a transcript.
func transcriptClientBytes(f *testing.F, path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	var out []byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		switch {
		case bytes.HasPrefix(l, []byte("C: ")):
			out = append(append(out, l[3:]...), "\r\n"...)
		case bytes.HasPrefix(l, []byte("R: ")):
			out = append(out, l[3:]...) // quoted: close enough for a seed
		}
	}
	return out
}
