// Command powersmtp is PowerMail's ESMTP receiver: it accepts mail only for
// mailboxes in the userbase and answers 250 only after the message is
// durable on W backends (see package internal/delivery).
//
// Usage: powersmtp [-config FILE] [-key value ...]; every key of the file is
// also a flag, and flags win. See deploy/config/powersmtp.conf.
package main

import "powermail/impl/internal/app"

func main() {
	cfg := app.DefaultSMTPConfig()
	app.Main("powersmtp", &cfg, app.RunSMTP)
}
