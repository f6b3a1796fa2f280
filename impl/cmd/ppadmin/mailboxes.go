package main

import (
	"flag"

	"powermail/impl/mailbox"
	"powermail/impl/userbase"
)

// addFlags are the flags of "add" and "catchall".
type addFlags struct {
	pw       passwordFlags
	quota    string
	forward  string
	disabled bool
}

func (a *addFlags) register(e *env, name string) *flag.FlagSet {
	fs := e.flags(name)
	a.pw.register(fs)
	fs.StringVar(&a.quota, "quota", "unlimited", "quota: bytes, a number with K/M/G/T, or unlimited")
	fs.StringVar(&a.forward, "forward", "", "comma-separated destinations; makes the mailbox forward-only")
	fs.BoolVar(&a.disabled, "disabled", false, "add it disabled")
	return fs
}

func cmdAdd(e *env, args []string) error {
	var a addFlags
	pos, err := parseArgs(a.register(e, "add"), args, 1, 1)
	if err != nil {
		return err
	}
	return addMailbox(e, mailbox.Name(pos[0]), a)
}

// cmdCatchAll adds "*@domain": mail for any local part of domain that has
// no mailbox of its own goes there (or to its forwards).
func cmdCatchAll(e *env, args []string) error {
	var a addFlags
	pos, err := parseArgs(a.register(e, "catchall"), args, 1, 1)
	if err != nil {
		return err
	}
	return addMailbox(e, mailbox.Name("*@"+pos[0]), a)
}

func addMailbox(e *env, name mailbox.Name, a addFlags) error {
	quota, err := parseQuota(a.quota)
	if err != nil {
		return err
	}
	hash, err := a.pw.stored(e.stdin)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	m := userbase.Mailbox{Name: name, PasswordHash: hash, QuotaBytes: quota,
		Forward: splitList(a.forward), Enabled: !a.disabled}
	if err := db.AddMailbox(e.ctx, m); err != nil {
		return err
	}
	return e.report(db, name, "added")
}

// report prints a mailbox after a change: "added alice@example.com" for
// people, the whole record for scripts.
func (e *env) report(db *userbase.DB, name mailbox.Name, verb string) error {
	m, err := db.Mailbox(e.ctx, name)
	if err != nil {
		return err
	}
	return e.print(toJSON(m), "%s %s\n", verb, m.Name)
}

func cmdList(e *env, args []string) error {
	pos, err := parseArgs(e.flags("list"), args, 0, 1)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	domain := ""
	if len(pos) == 1 {
		domain = pos[0]
	}
	list, err := db.ListMailboxes(e.ctx, domain)
	if err != nil {
		return err
	}
	out, rows := make([]mailboxJSON, 0, len(list)), make([][]string, 0, len(list))
	for _, m := range list {
		out, rows = append(out, toJSON(m)), append(rows, mailboxRow(m))
	}
	return e.table(out, mailboxHeader, rows)
}

func cmdShow(e *env, args []string) error {
	pos, err := parseArgs(e.flags("show"), args, 1, 1)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	m, err := db.Mailbox(e.ctx, mailbox.Name(pos[0]))
	if err != nil {
		return err
	}
	return e.table(toJSON(m), mailboxHeader, [][]string{mailboxRow(m)})
}

func cmdPasswd(e *env, args []string) error {
	var p passwordFlags
	fs := e.flags("passwd")
	p.register(fs)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	hash, err := p.stored(e.stdin)
	if err == nil && hash == "" {
		err = usagef("give -password, -password-stdin or -hash")
	}
	if err != nil {
		return err
	}
	return change(e, pos[0], "password set for", func(db *userbase.DB, n mailbox.Name) error {
		return db.SetPassword(e.ctx, n, hash)
	})
}

func cmdQuota(e *env, args []string) error {
	pos, err := parseArgs(e.flags("quota"), args, 2, 2)
	if err != nil {
		return err
	}
	q, err := parseQuota(pos[1])
	if err != nil {
		return err
	}
	return change(e, pos[0], "quota set for", func(db *userbase.DB, n mailbox.Name) error {
		return db.SetQuota(e.ctx, n, q)
	})
}

func cmdForward(e *env, args []string) error {
	fs := e.flags("forward")
	clear := fs.Bool("clear", false, "remove all forward destinations (a normal mailbox again)")
	pos, err := parseArgs(fs, args, 1, 2)
	if err != nil {
		return err
	}
	if *clear != (len(pos) == 1) {
		return usagef("give destinations or -clear, not both or neither")
	}
	var fwd []string
	if !*clear {
		fwd = splitList(pos[1])
	}
	return change(e, pos[0], "forward set for", func(db *userbase.DB, n mailbox.Name) error {
		return db.SetForward(e.ctx, n, fwd)
	})
}

func cmdEnable(e *env, args []string) error  { return setEnabled(e, "enable", args, true) }
func cmdDisable(e *env, args []string) error { return setEnabled(e, "disable", args, false) }

func setEnabled(e *env, name string, args []string, on bool) error {
	pos, err := parseArgs(e.flags(name), args, 1, -1)
	if err != nil {
		return err
	}
	for _, p := range pos {
		err := change(e, p, name+"d", func(db *userbase.DB, n mailbox.Name) error {
			return db.SetEnabled(e.ctx, n, on)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// cmdRemove prints {"mailbox": ..., "removed": true} per mailbox with -json
// (there is no record left to print).
func cmdRemove(e *env, args []string) error {
	pos, err := parseArgs(e.flags("remove"), args, 1, -1)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	for _, p := range pos {
		n, err := mailbox.Parse(p)
		if err == nil {
			err = db.RemoveMailbox(e.ctx, n)
		}
		if err != nil {
			return err
		}
		out := map[string]any{"mailbox": n, "removed": true}
		if err := e.print(out, "removed %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

// change applies f to the named mailbox and reports the result.
func change(e *env, arg, verb string, f func(*userbase.DB, mailbox.Name) error) error {
	db, err := e.open()
	if err != nil {
		return err
	}
	n, err := mailbox.Parse(arg)
	if err != nil {
		return err
	}
	if err := f(db, n); err != nil {
		return err
	}
	return e.report(db, n, verb)
}
