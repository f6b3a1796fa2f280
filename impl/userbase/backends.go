package userbase

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strconv"

	"powermail/impl/mail"
)

// BackendRow is a row of the backends table: the run-time list of pplisteners
// that powersmtp and powerpop poll (issue 4 section 6), so that machines are
// added or drained without restarting any daemon and all daemons agree.
type BackendRow struct {
	Addr     string // host:port of the pplistener
	Group    int    // placement group: copies go to distinct groups
	Priority int    // within a group, lower is preferred
	ReadOnly bool   // serves reads, takes no new mail
	Enabled  bool   // false: listed for the record but not used
}

// ListBackends returns every backend, enabled or not, sorted by address.
func (db *DB) ListBackends(ctx context.Context) ([]BackendRow, error) {
	var out []BackendRow
	err := db.call(ctx, "backends", qBackends, func(ctx context.Context, st *sql.Stmt) error {
		rows, err := st.QueryContext(ctx)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var b BackendRow
			if err := rows.Scan(&b.Addr, &b.Group, &b.Priority, &b.ReadOnly, &b.Enabled); err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, err
}

// Members returns the enabled backends as the front ends and repair use
// them, a group named by its number. This is the one place a row becomes
// a mail.Member.
func (db *DB) Members(ctx context.Context) ([]mail.Member, error) {
	rows, err := db.ListBackends(ctx)
	if err != nil {
		return nil, err
	}
	var out []mail.Member
	for _, b := range rows {
		if b.Enabled {
			out = append(out, mail.Member{Addr: b.Addr, Group: strconv.Itoa(b.Group), Priority: b.Priority, ReadOnly: b.ReadOnly})
		}
	}
	return out, nil
}

// AddBackend inserts b; ErrExists if its address is listed. Like every
// change of the table made here, it records a placement epoch if it
// changes the placement membership (history.go).
func (db *DB) AddBackend(ctx context.Context, b BackendRow) error {
	if err := checkBackend(b); err != nil {
		return err
	}
	return db.changeBackends(ctx, "backend-add", func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, db.q(qBackendInsert), b.Addr, b.Group, b.Priority, boolInt(b.ReadOnly), boolInt(b.Enabled))
		if db.dialect.isDuplicate(err) {
			return fmt.Errorf("backend %s: %w", b.Addr, ErrExists)
		}
		return err
	})
}

// UpdateBackend replaces the row whose address is b.Addr.
func (db *DB) UpdateBackend(ctx context.Context, b BackendRow) error {
	if err := checkBackend(b); err != nil {
		return err
	}
	return db.changeBackends(ctx, "backend-set", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(qBackendUpdate), b.Group, b.Priority, boolInt(b.ReadOnly), boolInt(b.Enabled), b.Addr)
		return oneRow(res, err, fmt.Errorf("%w: %s", ErrNoSuchBackend, b.Addr))
	})
}

// RemoveBackend deletes the row for addr.
func (db *DB) RemoveBackend(ctx context.Context, addr string) error {
	return db.changeBackends(ctx, "backend-remove", func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.q(qBackendDelete), addr)
		return oneRow(res, err, fmt.Errorf("%w: %s", ErrNoSuchBackend, addr))
	})
}

// checkBackend wants a literal host:port with a numeric port, so that every
// daemon dials exactly what the operator typed.
func checkBackend(b BackendRow) error {
	if len(b.Addr) > maxAddrBytes {
		return fmt.Errorf("%w: backend address is %d bytes, at most %d", ErrInvalid, len(b.Addr), maxAddrBytes)
	}
	host, port, err := net.SplitHostPort(b.Addr)
	if err != nil || host == "" {
		return fmt.Errorf("%w: backend address %.80q: want host:port", ErrInvalid, b.Addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%w: backend address %.80q: port must be 1..65535", ErrInvalid, b.Addr)
	}
	for _, v := range []int{b.Group, b.Priority} {
		if v < 0 || v > maxBackendNumbers {
			return fmt.Errorf("%w: backend group and priority must be 0..%d", ErrInvalid, maxBackendNumbers)
		}
	}
	return nil
}
