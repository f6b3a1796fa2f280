package userbase

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pingcap/failpoint"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"powermail/impl/fault"
	"powermail/impl/mailbox"
)

var queryDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "powermail_userbase_query_seconds",
	Help:    "Userbase database calls by operation and outcome (ok, temporary).",
	Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
}, []string{"op", "outcome"})

// DB is the uncached userbase database: lookups for Cached, and the
// administration used by ppadmin. Safe for concurrent use.
type DB struct {
	sql     *sql.DB
	dialect dialect
	prefix  string
	timeout time.Duration

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // by query template
}

// OpenDB opens the database named by cfg without touching it: a MySQL
// server that is down makes calls fail with ErrTemporary later, it does not
// stop a daemon from starting. An SQLite file must already exist (ppadmin
// init creates it), so that a typo in the path is an error here rather than
// a fresh empty userbase.
func OpenDB(cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Driver == DriverSQLite {
		if _, err := os.Stat(cfg.Path); err != nil {
			return nil, fmt.Errorf("userbase: %w (create it with ppadmin init)", err)
		}
	}
	return openDB(cfg, false)
}

// Init creates the database (an SQLite file, if missing) and its tables if
// they do not exist. It is idempotent.
func Init(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := createPrivate(cfg); err != nil {
		return err
	}
	db, err := openDB(cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, ddl := range schema {
		if err := db.exec(ctx, "init", ddl, nil); err != nil {
			return err
		}
	}
	// A database from before the placement history, or a backends table
	// edited by hand: record its membership (history.go).
	_, err = db.SyncHistory(ctx)
	return err
}

// createPrivate creates a missing SQLite file readable by its owner only:
// it holds password hashes. SQLite gives its -wal and -shm files the
// database file's permissions.
func createPrivate(cfg Config) error {
	if cfg.Driver != DriverSQLite {
		return nil
	}
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("userbase: %w", err)
	}
	return f.Close()
}

func openDB(cfg Config, create bool) (*DB, error) {
	d := dialects[cfg.Driver]
	sdb, err := openSQL(cfg, d, create)
	if err != nil {
		return nil, fmt.Errorf("userbase: %w", err)
	}
	sdb.SetMaxOpenConns(cfg.PoolSize)
	sdb.SetMaxIdleConns(cfg.PoolSize)
	sdb.SetConnMaxLifetime(cfg.ConnMaxLifetime)
	return &DB{sql: sdb, dialect: d, prefix: cfg.TablePrefix, timeout: cfg.QueryTimeout,
		stmts: make(map[string]*sql.Stmt)}, nil
}

// openSQL opens the pool: an SQLite file, or MySQL through the failover
// connector (one node when Hosts is empty: the DSN's own address).
func openSQL(cfg Config, d dialect, create bool) (*sql.DB, error) {
	if cfg.Driver != DriverMySQL {
		return sql.Open(d.driver, cfg.sqliteDSN(create))
	}
	mc, err := cfg.mysqlConfig()
	if err != nil {
		return nil, err
	}
	hosts := cfg.Hosts
	if len(hosts) == 0 {
		hosts = []string{mc.Addr}
	}
	conn, err := newFailover(mc, hosts)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}

// Close releases the prepared statements and the connection pool.
func (db *DB) Close() error {
	db.mu.Lock()
	for _, st := range db.stmts {
		st.Close()
	}
	db.stmts = nil
	db.mu.Unlock()
	return db.sql.Close()
}

// stmt returns the prepared statement for a query template. Statements are
// prepared on first use rather than at open, so that a database that is down
// when a daemon starts costs a temporary error, not a failed start.
func (db *DB) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	db.mu.Lock()
	st, ok := db.stmts[q]
	closed := db.stmts == nil
	db.mu.Unlock()
	switch {
	case ok:
		return st, nil
	case closed:
		return nil, errors.New("userbase: database closed")
	}
	// Prepare outside the lock: a slow database must delay only this
	// caller, within its own timeout, not every caller queued on mu.
	st, err := db.sql.PrepareContext(ctx, db.dialect.expand(q, db.prefix))
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if prev, ok := db.stmts[q]; ok || db.stmts == nil {
		st.Close() // lost a race with another caller, or closed meanwhile
		if !ok {
			return nil, errors.New("userbase: database closed")
		}
		return prev, nil
	}
	db.stmts[q] = st
	return st, nil
}

// call runs f with a prepared statement (none for qNone: f runs its own
// transaction) under the query timeout and turns
// any failure into a TemporaryError; f's own sentinel errors (wrapping
// ErrNoSuchMailbox and the like) pass through unchanged.
func (db *DB) call(ctx context.Context, op, q string, f func(context.Context, *sql.Stmt) error) error {
	ctx, cancel := context.WithTimeout(ctx, db.timeout)
	defer cancel()
	failpoint.Inject("down", func(val failpoint.Value) { // the database is unreachable (sleep(ms) for a slow one)
		if err := fault.Err(val); err != nil {
			failpoint.Return(temporary(op, err))
		}
	})
	start := time.Now()
	var st *sql.Stmt
	var err error
	if q != qNone {
		st, err = db.stmt(ctx, q)
	}
	if err == nil {
		err = f(ctx, st)
	}
	outcome := "ok"
	switch {
	case err == nil, isAnswer(err):
	default:
		outcome = "temporary"
		err = temporary(op, err)
	}
	queryDuration.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
	return err
}

// tx runs f in one transaction under the query timeout, with the error
// rules of call. f may return errRetry (another writer got there first, as
// when two tools record the same epoch): the transaction is rolled back
// and f runs again, a bounded number of times.
func (db *DB) tx(ctx context.Context, op string, f func(context.Context, *sql.Tx) error) error {
	var err error
	for attempt := range maxTxAttempts {
		if attempt > 0 { // apart, so that the same writers do not collide again
			time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond) * 5)))
		}
		err = db.call(ctx, op, qNone, func(ctx context.Context, _ *sql.Stmt) error {
			return db.txOnce(ctx, f)
		})
		if !errors.Is(err, errRetry) {
			return err
		}
	}
	return temporary(op, err)
}

// maxTxAttempts bounds the retries of a transaction that lost a race.
const maxTxAttempts = 10

// errRetry: the transaction lost a race and should run again.
var errRetry = errors.New("userbase: concurrent change, retry")

func (db *DB) txOnce(ctx context.Context, f func(context.Context, *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// q is a query template expanded for this database.
func (db *DB) q(template string) string { return db.dialect.expand(template, db.prefix) }

// isAnswer reports whether err is a definite answer from the database rather
// than a failure to get one.
func isAnswer(err error) bool {
	for _, e := range []error{ErrNoSuchMailbox, ErrExists, ErrNoSuchBackend, ErrInvalid, errRetry} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// exec runs a statement; args are bound, never spliced.
func (db *DB) exec(ctx context.Context, op, q string, args []any) error {
	return db.call(ctx, op, q, func(ctx context.Context, st *sql.Stmt) error {
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}

// update runs an UPDATE or DELETE that must hit exactly one row; none
// gives notFound.
func (db *DB) update(ctx context.Context, op, q string, notFound error, args ...any) error {
	return db.call(ctx, op, q, func(ctx context.Context, st *sql.Stmt) error {
		res, err := st.ExecContext(ctx, args...)
		return oneRow(res, err, notFound)
	})
}

// oneRow is the error of an UPDATE or DELETE that must hit one row:
// notFound when it hit none.
func oneRow(res sql.Result, err, notFound error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		return notFound
	}
	return err
}

// Find implements Source with one round trip: the exact name and its
// catch-all are fetched together and the exact one wins.
func (db *DB) Find(ctx context.Context, name mailbox.Name) (Mailbox, error) {
	catchAll := mailbox.CatchAll(name.Domain())
	var found []Mailbox
	err := db.call(ctx, "find", qFind, func(ctx context.Context, st *sql.Stmt) (err error) {
		found, err = queryMailboxes(ctx, st, name, catchAll)
		return err
	})
	if err != nil {
		return Mailbox{}, err
	}
	for _, want := range []mailbox.Name{name, catchAll} {
		for _, m := range found {
			if m.Name == want {
				return m, nil
			}
		}
	}
	return Mailbox{}, fmt.Errorf("%w: %s", ErrNoSuchMailbox, name)
}

func queryMailboxes(ctx context.Context, st *sql.Stmt, args ...any) ([]Mailbox, error) {
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		var m Mailbox
		var name, forward string
		if err := rows.Scan(&name, &m.PasswordHash, &m.QuotaBytes, &forward, &m.Enabled); err != nil {
			return nil, err
		}
		m.Name, m.Forward = mailbox.Name(name), splitForward(forward)
		out = append(out, m)
	}
	return out, rows.Err()
}

func splitForward(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
