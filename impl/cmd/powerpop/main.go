// Command powerpop is PowerMail's POP3 server: it presents each mailbox
// merged from every backend that holds part of it, without duplicates, and
// makes deletes stick (see package internal/maildrop).
//
// Usage: powerpop [-config FILE] [-key value ...]; every key of the file is
// also a flag, and flags win. See deploy/config/powerpop.conf.
package main

import "powermail/impl/internal/app"

func main() {
	cfg := app.DefaultPOPConfig()
	app.Main("powerpop", &cfg, app.RunPOP)
}
