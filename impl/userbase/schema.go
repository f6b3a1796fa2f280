package userbase

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Column limits. mbox follows RFC 5321 4.5.3.1 (mailbox.MaxNameBytes);
// the others are generous but bounded so that bad input gets a clear error
// from us rather than a truncation or a driver error.
const (
	maxHashBytes      = 255
	maxForwardBytes   = 1000
	maxForwards       = 20
	maxAddrBytes      = 255
	maxQuotaBytes     = 1 << 50 // 1 PiB: far above any mailbox, far below int64 overflow
	maxBackendNumbers = 1 << 30 // bound on grp and priority
)

// schema is the one definition of the tables. {p} is the table prefix,
// {bin} the per-dialect binary collation of the key columns, {opts} the
// per-dialect table options. Keys are compared byte for byte on both
// engines (MySQL's default collation is case-insensitive, SQLite's is not);
// the CHECK keeps hand-written INSERTs canonical (lower-case), so that one
// spelling of a mailbox exists everywhere. MariaDB >= 10.2 and SQLite both
// enforce CHECK. (SQLite's lower() folds only ASCII.)
var schema = []string{
	`CREATE TABLE IF NOT EXISTS {p}mailboxes (
	mbox VARCHAR(254){bin} NOT NULL PRIMARY KEY,
	password_hash VARCHAR(255) NOT NULL DEFAULT '',
	quota_bytes BIGINT NOT NULL DEFAULT 0,
	forward VARCHAR(1000) NOT NULL DEFAULT '',
	enabled SMALLINT NOT NULL DEFAULT 1,
	CHECK (mbox = LOWER(mbox)),
	CHECK (quota_bytes >= 0),
	CHECK (enabled IN (0, 1))
){opts}`,
	`CREATE TABLE IF NOT EXISTS {p}backends (
	addr VARCHAR(255){bin} NOT NULL PRIMARY KEY,
	grp INTEGER NOT NULL DEFAULT 0,
	priority INTEGER NOT NULL DEFAULT 0,
	readonly SMALLINT NOT NULL DEFAULT 0,
	enabled SMALLINT NOT NULL DEFAULT 1,
	CHECK (readonly IN (0, 1)),
	CHECK (enabled IN (0, 1))
){opts}`,
	`CREATE TABLE IF NOT EXISTS {p}placement_history (
	epoch INTEGER NOT NULL,
	addr VARCHAR(255){bin} NOT NULL,
	grp INTEGER NOT NULL,
	started BIGINT NOT NULL,
	anchored SMALLINT NOT NULL DEFAULT 0,
	PRIMARY KEY (epoch, addr),
	CHECK (anchored IN (0, 1))
){opts}`,
}

// TableNames are the tables of the schema, without prefix (for tools and
// tests that drop them).
func TableNames() []string { return []string{"mailboxes", "backends", "placement_history"} }

// The queries, identical on both engines. ? placeholders only: no value is
// ever spliced into SQL text, so SQL metacharacters in input are inert.
const (
	qFind = `SELECT mbox, password_hash, quota_bytes, forward, enabled FROM {p}mailboxes
		WHERE mbox IN (?, ?) AND enabled = 1`
	qGet        = `SELECT mbox, password_hash, quota_bytes, forward, enabled FROM {p}mailboxes WHERE mbox = ?`
	qList       = `SELECT mbox, password_hash, quota_bytes, forward, enabled FROM {p}mailboxes ORDER BY mbox`
	qListDomain = `SELECT mbox, password_hash, quota_bytes, forward, enabled FROM {p}mailboxes
		WHERE mbox LIKE ? ORDER BY mbox`
	// qInsert is the one INSERT that adds a mailbox (README).
	qInsert = `INSERT INTO {p}mailboxes (mbox, password_hash, quota_bytes, forward, enabled) VALUES (?, ?, ?, ?, ?)`
	qDelete = `DELETE FROM {p}mailboxes WHERE mbox = ?`
	qSetPW  = `UPDATE {p}mailboxes SET password_hash = ? WHERE mbox = ?`
	qSetQ   = `UPDATE {p}mailboxes SET quota_bytes = ? WHERE mbox = ?`
	qSetFwd = `UPDATE {p}mailboxes SET forward = ? WHERE mbox = ?`
	qSetOn  = `UPDATE {p}mailboxes SET enabled = ? WHERE mbox = ?`

	qBackends      = `SELECT addr, grp, priority, readonly, enabled FROM {p}backends ORDER BY addr`
	qBackendInsert = `INSERT INTO {p}backends (addr, grp, priority, readonly, enabled) VALUES (?, ?, ?, ?, ?)`
	qBackendUpdate = `UPDATE {p}backends SET grp = ?, priority = ?, readonly = ?, enabled = ? WHERE addr = ?`
	qBackendDelete = `DELETE FROM {p}backends WHERE addr = ?`

	// The placement history (history.go). A placement member is a backend
	// that takes new mail by the operator's say: enabled, not read-only.
	qPlacementMembers = `SELECT 0, addr, grp FROM {p}backends WHERE enabled = 1 AND readonly = 0 ORDER BY addr`
	qHistory          = `SELECT epoch, addr, grp, started, anchored FROM {p}placement_history ORDER BY epoch, addr`
	qHistoryLatest    = `SELECT epoch, addr, grp FROM {p}placement_history
		WHERE epoch = (SELECT MAX(epoch) FROM {p}placement_history) AND addr <> '' ORDER BY addr`
	qHistoryInsert = `INSERT INTO {p}placement_history (epoch, addr, grp, started, anchored) VALUES (?, ?, ?, ?, 0)`
	qHistoryCount  = `SELECT COUNT(*) FROM {p}placement_history WHERE epoch = ?`
	qHistoryDrop   = `DELETE FROM {p}placement_history WHERE epoch < ?`
	qHistoryAnchor = `UPDATE {p}placement_history SET anchored = 1 WHERE epoch = ?`

	// qNone: call runs f without a prepared statement (a transaction).
	qNone = ""
)

// dialect is everything that differs between the engines: the driver name,
// two fragments of DDL, and how a duplicate key is reported.
type dialect struct {
	driver      string
	bin         string
	opts        string
	isDuplicate func(error) bool
}

var dialects = map[string]dialect{
	DriverMySQL: {
		driver: "mysql",
		bin:    " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		opts:   " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
		isDuplicate: func(err error) bool {
			var me *mysql.MySQLError
			return errors.As(err, &me) && me.Number == 1062 // ER_DUP_ENTRY
		},
	},
	DriverSQLite: {
		driver: "sqlite",
		isDuplicate: func(err error) bool {
			var se *sqlite.Error
			return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
	},
}

// expand fills in the table prefix (validated by Config.Validate to be
// [a-z0-9_]) and the dialect's DDL fragments.
func (d dialect) expand(q, prefix string) string {
	return strings.NewReplacer("{p}", prefix, "{bin}", d.bin, "{opts}", d.opts).Replace(q)
}

// SchemaSQL returns the CREATE TABLE statements that Init runs for driver,
// for DBAs who create tables themselves (ppadmin schema prints them).
func SchemaSQL(driver, tablePrefix string) ([]string, error) {
	d, ok := dialects[driver]
	if !ok {
		return nil, fmt.Errorf("%w: driver %q", ErrInvalid, driver)
	}
	if !tablePrefixRE.MatchString(tablePrefix) {
		return nil, fmt.Errorf("%w: table prefix %q", ErrInvalid, tablePrefix)
	}
	out := make([]string, len(schema))
	for i, ddl := range schema {
		out[i] = d.expand(ddl, tablePrefix)
	}
	return out, nil
}

// The MySQL driver logs connection errors on its own; Cached already returns
// them as temporary errors, so the driver's copies go to slog at debug level
// instead of to stderr past the daemons' structured log.
func init() { mysql.SetLogger(driverLog{}) }

type driverLog struct{}

func (driverLog) Print(v ...any) { slog.Debug("mysql driver", "msg", fmt.Sprint(v...)) }
