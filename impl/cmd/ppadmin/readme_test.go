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

// The README's ppadmin examples are testdata/readme-examples.txt, a console
// transcript: "$ ppadmin ..." lines are run through run() in a temp dir, and
// the lines after each are its expected stdout+stderr. The README block
// between the markers below must be this file verbatim; after changing
// ppadmin's output, regenerate with
//
//	go test ./impl/cmd/ppadmin -run ReadmeExamples -update
//
// and paste the file into README.md between the markers.
var update = flag.Bool("update", false, "rewrite testdata/readme-examples.txt with the actual output")

const (
	examplesFile = "testdata/readme-examples.txt"
	readmeBegin  = "<!-- ppadmin-examples:begin (impl/cmd/ppadmin/testdata/readme-examples.txt) -->\n```console\n"
	readmeEnd    = "```\n<!-- ppadmin-examples:end -->"
	stepTimeout  = 30 * time.Second
)

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
			t.Fatalf("%s: output before the first command: %q", examplesFile, line)
		}
		steps[len(steps)-1].want = append(steps[len(steps)-1].want, line)
	}
	return steps
}

func TestReadmeExamples(t *testing.T) {
	raw, err := os.ReadFile(examplesFile)
	if err != nil {
		t.Fatal(err)
	}
	steps := parseTranscript(t, string(raw))
	pkgDir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	var transcript strings.Builder
	for _, s := range steps {
		got := runLine(t, s.cmd)
		transcript.WriteString("$ " + s.cmd + "\n" + got)
		if want := strings.Join(s.want, "\n") + "\n"; got != want && !*update {
			t.Errorf("$ %s\n got:\n%s want:\n%s", s.cmd, got, want)
		}
	}
	checkExampleEffects(t)
	if *update {
		if err := os.WriteFile(filepath.Join(pkgDir, examplesFile), []byte(transcript.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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

// TestReadmeExamplesInSync checks that README.md shows exactly the tested
// transcript. It skips until the README carries the marked block.
func TestReadmeExamplesInSync(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Skipf("no README.md: %v", err)
	}
	want, err := os.ReadFile(examplesFile)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), readmeBegin)
	if !ok {
		t.Skip("README.md has no ppadmin examples block yet")
	}
	block, _, ok := strings.Cut(rest, readmeEnd)
	if !ok {
		t.Fatal("README.md: ppadmin examples block has no end marker")
	}
	if block != string(want) {
		t.Fatalf("README.md ppadmin examples differ from %s; paste the file between the markers", examplesFile)
	}
}
