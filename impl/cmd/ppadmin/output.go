package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"powermail/impl/userbase"
	"powermail/impl/userbase/password"
)

// print writes v as JSON when -json was given, else the formatted text.
func (e *env) print(v any, format string, args ...any) error {
	if e.json {
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(v)
	}
	_, err := fmt.Fprintf(e.stdout, format, args...)
	return err
}

// table writes aligned columns for people, or v as JSON.
func (e *env) table(v any, header []string, rows [][]string) error {
	if e.json {
		return e.print(v, "")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// mailboxJSON is the stable JSON form of a mailbox. The password hash is
// not printed: only which scheme it uses, so that a migration can find the
// remaining {plain} and {md5} entries.
type mailboxJSON struct {
	Mailbox        string   `json:"mailbox"`
	QuotaBytes     int64    `json:"quota_bytes"`
	Forward        []string `json:"forward"`
	Enabled        bool     `json:"enabled"`
	PasswordScheme string   `json:"password_scheme"`
}

func toJSON(m userbase.Mailbox) mailboxJSON {
	fwd := m.Forward
	if fwd == nil {
		fwd = []string{}
	}
	return mailboxJSON{Mailbox: string(m.Name), QuotaBytes: m.QuotaBytes, Forward: fwd,
		Enabled: m.Enabled, PasswordScheme: schemeOf(m.PasswordHash)}
}

func schemeOf(hash string) string {
	switch s := password.SchemeOf(hash); {
	case hash == "":
		return "none"
	case s == "":
		return "invalid"
	default:
		return s
	}
}

var mailboxHeader = []string{"MAILBOX", "QUOTA", "FORWARD", "ENABLED", "PASSWORD"}

func mailboxRow(m userbase.Mailbox) []string {
	fwd := strings.Join(m.Forward, ",")
	if fwd == "" {
		fwd = "-"
	}
	return []string{string(m.Name), formatQuota(m.QuotaBytes), fwd, yesNo(m.Enabled), schemeOf(m.PasswordHash)}
}

// formatQuota prints the largest binary unit that divides the quota.
func formatQuota(q int64) string {
	if q == 0 {
		return "unlimited"
	}
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if q%u.size == 0 {
			return fmt.Sprintf("%d%s", q/u.size, u.suffix)
		}
	}
	return fmt.Sprint(q)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
