package main

import (
	"strings"

	"powermail/impl/userbase"
)

// cmdSchema prints the CREATE TABLE statements for the configured driver,
// for DBAs who create tables by hand.
func cmdSchema(e *env, args []string) error {
	if _, err := parseArgs(e.flags("schema"), args, 0, 0); err != nil {
		return err
	}
	ddl, err := userbase.SchemaSQL(e.cfg.Driver, e.cfg.TablePrefix)
	if err != nil {
		return err
	}
	return e.print(ddl, "%s;\n", strings.Join(ddl, ";\n"))
}

// cmdHash prints the stored form of a password, for provisioning with a
// plain SQL INSERT (PowerMail's "pptool crypt" and "pptool md5").
func cmdHash(e *env, args []string) error {
	var p passwordFlags
	fs := e.flags("hash")
	p.register(fs)
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	stored, err := p.stored(e.stdin)
	if err == nil && stored == "" {
		err = usagef("give -password or -password-stdin")
	}
	if err != nil {
		return err
	}
	return e.print(map[string]string{"password_hash": stored}, "%s\n", stored)
}
