// Command ppadmin is the operator's tool for the userbase (the successor of
// PowerMail's pptool): it creates the schema, manages mailboxes, catch-alls
// and the run-time backend list, for people (aligned text) and for scripts
// (-json).
//
//	ppadmin [userbase flags] <command> [flags] [args]
//
// The userbase flags are the keys of userbase.Config (-driver, -db, -dsn,
// -config FILE, ...), the same keys the daemons read, so one configuration
// file can serve both. Exit status: 0 ok, 1 error, 2 usage,
// 75 (EX_TEMPFAIL) when the database could not be reached.
//
// Adding a subcommand is one function with the signature of command.run and
// one entry in the commands table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"powermail/impl/config"
	"powermail/impl/userbase"
)

// Exit statuses (sysexits.h for the temporary one, so that cron jobs and
// scripts can retry).
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitTemporary = 75
)

// command is one entry of the command table.
type command struct {
	name     string
	synopsis string // arguments, for the usage text
	help     string
	run      func(e *env, args []string) error
}

var commands []command

// The table is filled in init because "help" refers to it.
func init() {
	commands = []command{
		{"init", "", "create the database and tables (idempotent)", cmdInit},
		{"add", "<mbox> [-password P | -password-stdin | -hash H] [-quota BYTES] [-forward a,b] [-disabled]", "add a mailbox", cmdAdd},
		{"catchall", "<domain> [same flags as add]", "add the catch-all *@domain", cmdCatchAll},
		{"remove", "<mbox>...", "remove mailboxes", cmdRemove},
		{"list", "[domain]", "list mailboxes", cmdList},
		{"show", "<mbox>", "show one mailbox", cmdShow},
		{"passwd", "<mbox> -password P | -password-stdin | -hash H", "set the password", cmdPasswd},
		{"quota", "<mbox> <BYTES|250M|2G|unlimited>", "set the quota", cmdQuota},
		{"forward", "<mbox> <a,b> | -clear <mbox>", "set or clear forward destinations", cmdForward},
		{"enable", "<mbox>...", "enable mailboxes", cmdEnable},
		{"disable", "<mbox>...", "disable mailboxes (as if absent; catch-all applies)", cmdDisable},
		{"backend", "list | add <addr> | set <addr> | remove <addr>", "manage the backend list", cmdBackend},
		{"status", "[-backends LIST] -backend-secret-file F [-placement rendezvous]", "show each backend's state: up, read-only, free space, inodes, messages, load; copies away from home", cmdStatus},
		{"mailbox", "<mbox> [-backends LIST] -backend-secret-file F [-redundancy R]", "show every message of a mailbox with the backends holding it", cmdMailbox},
		{"repair", "[-backends LIST] -backend-secret-file F [-redundancy R] [-dry-run] [-drain ADDR [-mark-readonly]] [-orphan-log FILE] [-placement rendezvous [-rebalance [-settle-after D]]]", "restore R copies of every message; remove orphan and deleted copies; drain a backend; move copies home", cmdRepair},
		{"schema", "", "print the CREATE TABLE statements for -driver", cmdSchema},
		{"hash", "-password P | -password-stdin [-scheme S]", "print a password's stored form, for SQL INSERTs", cmdHash},
		{"help", "", "show this text", cmdHelp},
	}
}

// env is what every command gets: the configuration, the streams, and the
// database (opened on first use, so that "init" and "help" need none).
type env struct {
	ctx            context.Context
	cfg            userbase.Config
	stdin          io.Reader
	stdout, stderr io.Writer
	json           bool
	db             *userbase.DB
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	global, rest := splitGlobal(args)
	e := &env{ctx: ctx, cfg: userbase.Defaults(), stdin: stdin, stdout: stdout, stderr: stderr}
	if err := config.Load("ppadmin", global, &e.cfg); err != nil {
		fmt.Fprintln(stderr, "ppadmin:", err)
		return exitUsage
	}
	if len(rest) == 0 {
		cmdHelp(e, nil)
		return exitUsage
	}
	defer e.close()
	return e.dispatch(rest[0], rest[1:])
}

func (e *env) dispatch(name string, args []string) int {
	for _, c := range commands {
		if c.name != name {
			continue
		}
		err := c.run(e, args)
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			return exitUsage
		}
		fmt.Fprintf(e.stderr, "ppadmin %s: %v\n", name, err)
		var u usageError
		switch {
		case errors.As(err, &u):
			fmt.Fprintf(e.stderr, "usage: ppadmin %s %s\n", c.name, c.synopsis)
			return exitUsage
		case errors.Is(err, userbase.ErrTemporary):
			return exitTemporary
		}
		return exitError
	}
	fmt.Fprintf(e.stderr, "ppadmin: unknown command %q (try ppadmin help)\n", name)
	return exitUsage
}

// splitGlobal separates the userbase flags before the command from the
// command and its arguments. Every userbase key takes a value, so a flag
// without "=" consumes the next argument.
func splitGlobal(args []string) (global, rest []string) {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-" {
		if args[i] == "--" {
			return args[:i], args[i+1:]
		}
		if strings.Contains(args[i], "=") || args[i] == "-h" || args[i] == "-help" || args[i] == "--help" {
			i++
		} else {
			i += 2
		}
	}
	i = min(i, len(args))
	return args[:i], args[i:]
}

// open returns the database, opening it on first use.
func (e *env) open() (*userbase.DB, error) {
	if e.db == nil {
		db, err := userbase.OpenDB(e.cfg)
		if err != nil {
			return nil, err
		}
		e.db = db
	}
	return e.db, nil
}

func (e *env) close() {
	if e.db != nil {
		e.db.Close()
	}
}

// usageError marks errors caused by the command line, so that the command's
// synopsis is printed with them.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func cmdHelp(e *env, _ []string) error {
	fmt.Fprintln(e.stderr, "usage: ppadmin [-config FILE] [-driver sqlite|mysql] [-db FILE | -dsn DSN] <command> [-json] ...")
	fmt.Fprintln(e.stderr, "commands:")
	for _, c := range commands {
		fmt.Fprintf(e.stderr, "  %-9s %s\n            %s\n", c.name, c.synopsis, c.help)
	}
	fmt.Fprintln(e.stderr, "run 'ppadmin -help' for every userbase flag")
	return nil
}

func cmdInit(e *env, args []string) error {
	fs := e.flags("init")
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if err := userbase.Init(e.ctx, e.cfg); err != nil {
		return err
	}
	where := e.cfg.Path
	if e.cfg.Driver == userbase.DriverMySQL {
		where = "(dsn)"
	}
	return e.print(map[string]string{"initialised": e.cfg.Driver, "where": where},
		"initialised %s userbase %s\n", e.cfg.Driver, where)
}
