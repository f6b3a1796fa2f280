package userbase

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"powermail/impl/mailbox"
)

// Administration of the mailboxes table, for ppadmin. Every method validates
// its input first, so bad input gets an error wrapping ErrInvalid that says
// which field and why, before any SQL runs.

// AddMailbox inserts m; ErrExists if the name is taken.
func (db *DB) AddMailbox(ctx context.Context, m Mailbox) error {
	name, err := parseName(string(m.Name))
	if err != nil {
		return err
	}
	if err := checkMailbox(m); err != nil {
		return err
	}
	return db.call(ctx, "add", qInsert, func(ctx context.Context, st *sql.Stmt) error {
		_, err := st.ExecContext(ctx, string(name), m.PasswordHash, m.QuotaBytes,
			strings.Join(m.Forward, ","), boolInt(m.Enabled))
		if db.dialect.isDuplicate(err) {
			return fmt.Errorf("mailbox %s: %w", name, ErrExists)
		}
		return err
	})
}

// Mailbox returns the row named name, enabled or not.
func (db *DB) Mailbox(ctx context.Context, name mailbox.Name) (Mailbox, error) {
	name, err := parseName(string(name))
	if err != nil {
		return Mailbox{}, err
	}
	var found []Mailbox
	err = db.call(ctx, "get", qGet, func(ctx context.Context, st *sql.Stmt) (err error) {
		found, err = queryMailboxes(ctx, st, string(name))
		return err
	})
	if err == nil && len(found) == 0 {
		err = fmt.Errorf("%w: %s", ErrNoSuchMailbox, name)
	}
	if err != nil {
		return Mailbox{}, err
	}
	return found[0], nil
}

// ListMailboxes returns every row sorted by name, or only those of domain
// if domain is not empty.
func (db *DB) ListMailboxes(ctx context.Context, domain string) ([]Mailbox, error) {
	q, args := qList, []any(nil)
	if domain != "" {
		n, err := parseName("x@" + domain)
		if err != nil {
			return nil, err
		}
		// An LDH domain holds no LIKE wildcard (% or _), so the pattern
		// matches exactly the names ending in "@domain".
		q, args = qListDomain, []any{"%@" + n.Domain()}
	}
	var out []Mailbox
	err := db.call(ctx, "list", q, func(ctx context.Context, st *sql.Stmt) (err error) {
		out, err = queryMailboxes(ctx, st, args...)
		return err
	})
	return out, err
}

// RemoveMailbox deletes the row named name.
func (db *DB) RemoveMailbox(ctx context.Context, name mailbox.Name) error {
	return db.setField(ctx, "remove", qDelete, name)
}

// SetPassword stores a hash made by package password ("" disables logins).
func (db *DB) SetPassword(ctx context.Context, name mailbox.Name, hash string) error {
	if err := checkHash(hash); err != nil {
		return err
	}
	return db.setField(ctx, "passwd", qSetPW, name, hash)
}

// SetQuota sets the quota in bytes; 0 means unlimited.
func (db *DB) SetQuota(ctx context.Context, name mailbox.Name, quotaBytes int64) error {
	if err := checkQuota(quotaBytes); err != nil {
		return err
	}
	return db.setField(ctx, "quota", qSetQ, name, quotaBytes)
}

// SetForward sets the forward destinations; none makes it a normal mailbox.
func (db *DB) SetForward(ctx context.Context, name mailbox.Name, forward []string) error {
	if err := checkForward(forward); err != nil {
		return err
	}
	return db.setField(ctx, "forward", qSetFwd, name, strings.Join(forward, ","))
}

// SetEnabled enables or disables a mailbox; a disabled one is as if absent.
func (db *DB) SetEnabled(ctx context.Context, name mailbox.Name, enabled bool) error {
	return db.setField(ctx, "enable", qSetOn, name, boolInt(enabled))
}

// setField runs a one-row UPDATE/DELETE whose last argument is the name.
func (db *DB) setField(ctx context.Context, op, q string, name mailbox.Name, values ...any) error {
	n, err := parseName(string(name))
	if err != nil {
		return err
	}
	notFound := fmt.Errorf("%w: %s", ErrNoSuchMailbox, n)
	return db.update(ctx, op, q, notFound, append(values, string(n))...)
}

func parseName(s string) (mailbox.Name, error) {
	n, err := mailbox.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: mailbox %.80q: %w", ErrInvalid, s, err)
	}
	return n, nil
}

func checkMailbox(m Mailbox) error {
	if err := checkHash(m.PasswordHash); err != nil {
		return err
	}
	if err := checkQuota(m.QuotaBytes); err != nil {
		return err
	}
	return checkForward(m.Forward)
}

func checkHash(hash string) error {
	if len(hash) > maxHashBytes {
		return fmt.Errorf("%w: password hash is %d bytes, at most %d", ErrInvalid, len(hash), maxHashBytes)
	}
	if hash != "" && !strings.HasPrefix(hash, "{") {
		return fmt.Errorf("%w: password hash must start with {scheme}", ErrInvalid)
	}
	return nil
}

func checkQuota(q int64) error {
	if q < 0 || q > maxQuotaBytes {
		return fmt.Errorf("%w: quota %d bytes out of range 0..%d (0 = unlimited)", ErrInvalid, q, int64(maxQuotaBytes))
	}
	return nil
}

// checkForward accepts addresses as typed (RFC 5321 section 2.4: a remote
// local part may be case-sensitive, so it is not lower-cased) but requires
// each to parse as a mailbox, which also keeps commas out of them.
func checkForward(fwd []string) error {
	if len(fwd) > maxForwards {
		return fmt.Errorf("%w: %d forward destinations, at most %d", ErrInvalid, len(fwd), maxForwards)
	}
	if n := len(strings.Join(fwd, ",")); n > maxForwardBytes {
		return fmt.Errorf("%w: forward list is %d bytes, at most %d", ErrInvalid, n, maxForwardBytes)
	}
	for _, f := range fwd {
		if _, err := mailbox.Parse(f); err != nil || strings.HasPrefix(f, "*@") {
			return fmt.Errorf("%w: forward destination %.80q is not a mailbox", ErrInvalid, f)
		}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
