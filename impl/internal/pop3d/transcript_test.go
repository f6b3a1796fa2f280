package pop3d

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestTranscripts replays the dialogs in testdata/dialogs/*.txt against a
// server with the fake world (alice@example.com/secret with 4 messages,
// bob@example.com/"hunter 2" with none, plaintext allowed, no TLS).
//
// Format, one directive per line:
//
//	# comment
//	C: line     the client sends line + CRLF; consecutive C lines go in one write
//	S: line     the server's next line is exactly line
//	S~ prefix   the server's next line starts with prefix
//	CLOSED      the server closes the connection
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/dialogs/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dialogs: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			runTranscript(t, f)
		})
	}
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld()
	c := dial(t, w.server(t, testConfig(), nil), "127.0.0.1:5000")
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var batch []string
	for n, l := range lines {
		where := file + ":" + strconv.Itoa(n+1)
		if strings.HasPrefix(l, "C: ") {
			batch = append(batch, l[3:])
			continue
		}
		if len(batch) > 0 {
			c.send(batch...)
			batch = nil
		}
		checkDirective(t, c, where, l)
	}
	if len(batch) > 0 {
		c.send(batch...)
	}
}

func checkDirective(t *testing.T, c *client, where, l string) {
	t.Helper()
	switch {
	case l == "" || strings.HasPrefix(l, "#"):
	case strings.HasPrefix(l, "S: "):
		if got := c.line(); got != l[3:] {
			t.Fatalf("%s: got %q, want %q", where, got, l[3:])
		}
	case strings.HasPrefix(l, "S~ "):
		if got := c.line(); !strings.HasPrefix(got, l[3:]) {
			t.Fatalf("%s: got %q, want prefix %q", where, got, l[3:])
		}
	case l == "CLOSED":
		c.expectClosed()
	default:
		t.Fatalf("%s: bad directive %q", where, l)
	}
}
