package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"powermail/impl/userbase"
)

// The README's ppadmin examples are the console transcripts
// testdata/readme-*.txt: "$ ppadmin ..." lines are run through run() in a
// temp dir, one temp dir per file, and the lines after each are its expected
// stdout+stderr. README.md shows each file verbatim in a fenced block between
//
//	<!-- tested:begin impl/cmd/ppadmin/testdata/readme-examples.txt -->
//	<!-- tested:end -->
//
// (TestReadmeInSync checks that, for every marked block). After changing
// ppadmin's output, regenerate the transcripts with
//
//	go test ./impl/cmd/ppadmin -run ReadmeExamples -update
//
// and paste each file into README.md between its markers.
var (
	update     = flag.Bool("update", false, "rewrite testdata/readme-*.txt with the actual output")
	readmePath = flag.String("readme", "../../../README.md", "the README whose tested blocks TestReadmeInSync checks")
)

const stepTimeout = 30 * time.Second

type step struct {
	cmd  string   // the "$ ..." line without "$ "
	want []string // expected output lines
}

func parseTranscript(t *testing.T, text string) []step {
	var steps []step
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			steps = append(steps, step{cmd: cmd})
			continue
		}
		if len(steps) == 0 {
			t.Fatalf("output before the first command: %q", line)
		}
		steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
	}
	return steps
}

func TestReadmeExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/readme-*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	pkgDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(t.TempDir())
			got := replay(t, parseTranscript(t, string(raw)))
			if f == "testdata/readme-examples.txt" {
				checkExampleEffects(t)
			}
			if *update {
				if err := os.WriteFile(filepath.Join(pkgDir, f), []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// replay runs the steps, reports differences unless -update, and returns
// the transcript as it actually ran.
func replay(t *testing.T, steps []step) string {
	var transcript strings.Builder
	for _, s := range steps {
		got := runLine(t, s.cmd)
		transcript.WriteString("$ " + s.cmd + "\n" + got)
		want := strings.Join(s.want, "\n")
		if len(s.want) > 0 {
			want += "\n"
		}
		if got != want && !*update {
			t.Errorf("$ %s\n got:\n%s want:\n%s", s.cmd, got, want)
		}
	}
	return transcript.String()
}

// checkExampleEffects shows that what the examples did works for the
// daemons: the logins and the catch-all resolve through the userbase API.
func checkExampleEffects(t *testing.T) {
	cfg := userbase.Defaults()
	cfg.Path = "userbase.db"
	s, err := userbase.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Authenticate(ctx, "bob%example.com", "through the looking glass"); err != nil {
		t.Errorf("bob (password from stdin): %v", err)
	}
	if _, err := s.Authenticate(ctx, "alice@example.com", "wonderland"); err != nil {
		t.Errorf("alice: %v", err)
	}
	if e, err := s.Lookup(ctx, "nobody@example.com"); err != nil || !e.CatchAll {
		t.Errorf("catch-all: %+v %v", e, err)
	}
}

// runLine runs one transcript command: "ppadmin ARGS", optionally preceded
// by "echo 'WORDS' |" to feed stdin.
func runLine(t *testing.T, line string) string {
	args := shellSplit(t, line)
	stdin := ""
	if len(args) > 2 && args[0] == "echo" {
		bar := indexOf(args, "|")
		if bar < 0 {
			t.Fatalf("echo without |: %s", line)
		}
		stdin, args = strings.Join(args[1:bar], " ")+"\n", args[bar+1:]
	}
	if len(args) == 0 || args[0] != "ppadmin" {
		t.Fatalf("not a ppadmin command: %s", line)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var out bytes.Buffer
	run(ctx, args[1:], strings.NewReader(stdin), &out, &out)
	return out.String()
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// shellSplit splits like sh for the quoting the examples use: blanks
// separate words; '...' and "..." quote (no escapes inside).
func shellSplit(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quote := false, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote: %s", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestReadmeInSync checks that every block of README.md marked as tested
// is its file verbatim. A file with no block in the README is not an error
// (the README may show only some), but a marked block must match.
func TestReadmeInSync(t *testing.T) {
	const root = "../../.."
	readme, err := os.ReadFile(*readmePath)
	if err != nil {
		t.Skipf("no README.md: %v", err)
	}
	const begin, end = "<!-- tested:begin ", "<!-- tested:end -->"
	rest, blocks := string(readme), 0
	for {
		_, after, ok := strings.Cut(rest, begin)
		if !ok {
			break
		}
		path, body, _ := strings.Cut(after, " -->\n")
		block, tail, ok := strings.Cut(body, end)
		if !ok {
			t.Fatalf("README.md: block for %s has no end marker", path)
		}
		want, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Fatalf("README.md names %s: %v", path, err)
		}
		if got := unfence(block); got != string(want) {
			t.Errorf("README.md block differs from %s; paste the file between the markers:\n%s", path, got)
		}
		rest, blocks = tail, blocks+1
	}
	if blocks == 0 {
		t.Skip("README.md has no tested blocks yet")
	}
}

// unfence strips the ``` lines around a fenced block.
func unfence(block string) string {
	lines := strings.SplitAfter(strings.TrimRight(block, "\n")+"\n", "\n")
	if len(lines) >= 2 && strings.HasPrefix(lines[0], "```") && strings.HasPrefix(lines[len(lines)-2], "```") {
		lines = lines[1 : len(lines)-2]
	}
	return strings.Join(lines, "")
}
