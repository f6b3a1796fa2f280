package main

import (
	"flag"
	"fmt"
	"strconv"

	"powermail/impl/userbase"
)

// backendCommands are the subcommands of "backend"; the daemons poll the
// backends table, so a change here reaches every powersmtp and powerpop
// within their poll interval, without a restart.
var backendCommands = map[string]func(e *env, args []string) error{
	"list":   backendList,
	"add":    backendAdd,
	"set":    backendSet,
	"remove": backendRemove,
}

func cmdBackend(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("missing backend subcommand")
	}
	f, ok := backendCommands[args[0]]
	if !ok {
		return usagef("unknown backend subcommand %q", args[0])
	}
	return f(e, args[1:])
}

type backendJSON struct {
	Addr     string `json:"addr"`
	Group    int    `json:"group"`
	Priority int    `json:"priority"`
	ReadOnly bool   `json:"readonly"`
	Enabled  bool   `json:"enabled"`
}

func backendList(e *env, args []string) error {
	if _, err := parseArgs(e.flags("backend list"), args, 0, 0); err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	list, err := db.ListBackends(e.ctx)
	if err != nil {
		return err
	}
	out, rows := make([]backendJSON, 0, len(list)), make([][]string, 0, len(list))
	for _, b := range list {
		out = append(out, backendJSON(b))
		rows = append(rows, []string{b.Addr, strconv.Itoa(b.Group), strconv.Itoa(b.Priority), yesNo(b.ReadOnly), yesNo(b.Enabled)})
	}
	return e.table(out, []string{"ADDR", "GROUP", "PRIORITY", "READONLY", "ENABLED"}, rows)
}

// backendFlags registers the settable fields over b's current values, so
// that "set" changes only the flags given.
func backendFlags(e *env, name string, b *userbase.BackendRow) *flag.FlagSet {
	fs := e.flags(name)
	fs.IntVar(&b.Group, "group", b.Group, "placement group (copies go to distinct groups)")
	fs.IntVar(&b.Priority, "priority", b.Priority, "priority within the group (lower is preferred)")
	fs.BoolVar(&b.ReadOnly, "readonly", b.ReadOnly, "serve reads only, take no new mail")
	fs.BoolVar(&b.Enabled, "enabled", b.Enabled, "use this backend (-enabled=false keeps it listed but unused)")
	return fs
}

func backendAdd(e *env, args []string) error {
	b := userbase.BackendRow{Enabled: true}
	pos, err := parseArgs(backendFlags(e, "backend add", &b), args, 1, 1)
	if err != nil {
		return err
	}
	b.Addr = pos[0]
	db, err := e.open()
	if err != nil {
		return err
	}
	if err := db.AddBackend(e.ctx, b); err != nil {
		return err
	}
	return e.printBackend(b, "added")
}

func backendSet(e *env, args []string) error {
	if len(args) == 0 || len(args[0]) > 0 && args[0][0] == '-' {
		return usagef("backend set <addr> [-group N] [-priority N] [-readonly=BOOL] [-enabled=BOOL]")
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	b, err := findBackend(e, db, args[0])
	if err != nil {
		return err
	}
	if _, err := parseArgs(backendFlags(e, "backend set", &b), args[1:], 0, 0); err != nil {
		return err
	}
	if err := db.UpdateBackend(e.ctx, b); err != nil {
		return err
	}
	return e.printBackend(b, "updated")
}

func findBackend(e *env, db *userbase.DB, addr string) (userbase.BackendRow, error) {
	list, err := db.ListBackends(e.ctx)
	if err != nil {
		return userbase.BackendRow{}, err
	}
	for _, b := range list {
		if b.Addr == addr {
			return b, nil
		}
	}
	return userbase.BackendRow{}, fmt.Errorf("%w: %s", userbase.ErrNoSuchBackend, addr)
}

func backendRemove(e *env, args []string) error {
	pos, err := parseArgs(e.flags("backend remove"), args, 1, 1)
	if err != nil {
		return err
	}
	db, err := e.open()
	if err != nil {
		return err
	}
	if err := db.RemoveBackend(e.ctx, pos[0]); err != nil {
		return err
	}
	return e.print(map[string]any{"addr": pos[0], "removed": true}, "removed backend %s\n", pos[0])
}

func (e *env) printBackend(b userbase.BackendRow, verb string) error {
	return e.print(backendJSON(b), "%s backend %s group=%d priority=%d readonly=%s enabled=%s\n",
		verb, b.Addr, b.Group, b.Priority, yesNo(b.ReadOnly), yesNo(b.Enabled))
}
