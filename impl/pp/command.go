package pp

import (
	"fmt"
	"strings"
)

// Command verbs (see the package doc).
const (
	VerbAuth      = "AUTH"
	VerbPrepare   = "PREPARE"
	VerbCommit    = "COMMIT"
	VerbAbort     = "ABORT"
	VerbVoid      = "VOID"
	VerbList      = "LIST"
	VerbGet       = "GET"
	VerbDelete    = "DELETE"
	VerbStatus    = "STATUS"
	VerbReadOnly  = "READONLY"
	VerbMinFree   = "MINFREE"
	VerbPing      = "PING"
	VerbMailboxes = "MAILBOXES"
	VerbQuit      = "QUIT"
)

// Command is one parsed command line.
type Command struct {
	Verb string // upper case
	Args []string
}

// ParseCommand splits a line into an upper-cased verb and its arguments.
// Arguments are separated by exactly one space: an empty field (two spaces,
// leading or trailing space) is a syntax error rather than something to guess
// about.
func ParseCommand(line string) (Command, error) {
	if line == "" {
		return Command{}, Errorf(CodeSyntax, "empty command")
	}
	f := strings.Split(line, " ")
	for _, a := range f {
		if a == "" {
			return Command{}, Errorf(CodeSyntax, "arguments must be separated by single spaces")
		}
	}
	return Command{Verb: strings.ToUpper(f[0]), Args: f[1:]}, nil
}

// String formats the command line.
func (c Command) String() string {
	return strings.Join(append([]string{c.Verb}, c.Args...), " ")
}

// Line returns the command as a line, or an error if it would not fit or
// contains a forbidden byte.
func (c Command) Line() (string, error) {
	s := c.String()
	if err := CheckLine(s); err != nil {
		return "", fmt.Errorf("%s: %w", c.Verb, err)
	}
	return s, nil
}
