package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"powermail/impl/userbase/password"
)

// flags returns a flag set for a subcommand with the -json flag every
// subcommand has.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("ppadmin "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&e.json, "json", false, "print JSON for scripts")
	return fs
}

// parseArgs parses flags anywhere among the arguments ("add alice@x
// -quota 1G" as well as "add -quota 1G alice@x") and checks the number of
// positional arguments; max < 0 means no upper bound.
func parseArgs(fs *flag.FlagSet, args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	if len(pos) < minArgs || maxArgs >= 0 && len(pos) > maxArgs {
		return nil, usagef("wrong number of arguments")
	}
	return pos, nil
}

// passwordFlags are the ways to give a password: on the command line
// (visible in ps: for tests and demos), on stdin, or already hashed (for
// migrating PowerMail's {md5} and {plain} values).
type passwordFlags struct {
	plain, hash, scheme string
	fromStdin           bool
}

func (p *passwordFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.plain, "password", "", "the password (visible to other users in ps; prefer -password-stdin)")
	fs.BoolVar(&p.fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	fs.StringVar(&p.hash, "hash", "", "an already hashed password such as {md5}5f4dcc3b5aa765d61d8327deb882cf99")
	fs.StringVar(&p.scheme, "scheme", password.Argon2id, "hash scheme for -password/-password-stdin: argon2id, bcrypt, md5, plain")
}

// stored returns the value for the password_hash column, "" when no
// password was given, or an error if more than one way was used.
func (p *passwordFlags) stored(stdin io.Reader) (string, error) {
	given := 0
	for _, set := range []bool{p.plain != "", p.fromStdin, p.hash != ""} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return "", usagef("give only one of -password, -password-stdin, -hash")
	case p.hash != "":
		return p.hash, nil
	case given == 0:
		return "", nil
	}
	pw := p.plain
	if p.fromStdin {
		var err error
		if pw, err = readPasswordLine(stdin); err != nil {
			return "", err
		}
	}
	if pw == "" {
		return "", usagef("empty password")
	}
	return password.HashScheme(p.scheme, pw)
}

// readPasswordLine reads one line of at most MaxPasswordBytes.
func readPasswordLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, password.MaxPasswordBytes+2)
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", password.ErrTooLong
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading password from stdin: %w", err)
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

// quotaUnits are binary multiples, as PowerMail's "quota 250k".
var quotaUnits = map[byte]int64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}

// parseQuota accepts bytes ("1048576"), a binary multiple ("250M", "2g"),
// or "unlimited" (stored as 0).
func parseQuota(s string) (int64, error) {
	if s == "unlimited" {
		return 0, nil
	}
	mult := int64(1)
	if s != "" {
		if m, ok := quotaUnits[strings.ToUpper(s[len(s)-1:])[0]]; ok {
			mult, s = m, s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, usagef("quota %q: want bytes, a number with K/M/G/T, or unlimited", s)
	}
	return n * mult, nil
}

// splitList splits "a,b" into its non-empty, trimmed parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
