package userbase

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"powermail/impl/config"
)

// Driver names for Config.Driver.
const (
	DriverSQLite = "sqlite"
	DriverMySQL  = "mysql"
)

// Config selects and tunes the userbase. ppadmin takes these keys as they
// are; daemons embed the struct with a prefix tag (Userbase userbase.Config
// `prefix:"userbase-"`), giving userbase-driver, userbase-dsn, and so on. Every call to the database is bounded by QueryTimeout, so a slow or
// dead database yields a temporary error within that time.
type Config struct {
	Driver      string   `key:"driver" help:"userbase engine: sqlite (embedded file) or mysql"`
	Path        string   `key:"db" help:"SQLite database file (driver sqlite)"`
	DSN         string   `key:"dsn" help:"MySQL DSN user:pass@tcp(host:3306)/dbname (driver mysql); timeouts come from connect-timeout and query-timeout"`
	Hosts       []string `key:"hosts" help:"database nodes host:port,... tried in turn, the last good one first (a Galera cluster); replaces the DSN's address; empty: the DSN's address"`
	TablePrefix string   `key:"table-prefix" help:"prefix for the table names, e.g. pm_ (letters, digits, _)"`

	ConnectTimeout  time.Duration `key:"connect-timeout" help:"MySQL TCP connect timeout"`
	QueryTimeout    time.Duration `key:"query-timeout" help:"upper bound on one userbase call, including waiting for a pooled connection"`
	PoolSize        int           `key:"pool-size" help:"most open database connections (and most idle ones kept)"`
	ConnMaxLifetime time.Duration `key:"conn-max-lifetime" help:"close pooled connections after this long (lets a MySQL failover take effect)"`

	CachePositiveTTL    time.Duration `key:"cache-positive-ttl" help:"how long a found recipient is cached (0 disables)"`
	CacheNegativeTTL    time.Duration `key:"cache-negative-ttl" help:"how long 'no such mailbox' is cached (0 disables)"`
	CacheMaxEntries     int           `key:"cache-max-entries" help:"most cached found, and most cached not-found, recipients (least recently used are dropped)"`
	AuthCacheTTL        time.Duration `key:"auth-cache-ttl" help:"how long a successful password check is remembered (0 disables)"`
	AuthCacheMaxEntries int           `key:"auth-cache-max-entries" help:"most remembered password checks"`

	AuthVerifyConcurrency int           `key:"auth-verify-concurrency" help:"password checks (argon2id) running at once; 0 means half the CPUs, at least 1"`
	AuthVerifyQueue       int           `key:"auth-verify-queue" help:"password checks waiting for a slot; more are refused at once as temporary (POP3 -ERR [SYS/TEMP])"`
	AuthVerifyWait        time.Duration `key:"auth-verify-wait" help:"longest wait for a password check slot; then temporary (POP3 -ERR [SYS/TEMP])"`
	AuthVerifyBusyPercent int           `key:"auth-verify-busy-percent" help:"most of its time a password check slot spends on failed checks: after one it rests for the rest (100: no rest)"`
}

// Named bounds used by Validate.
const (
	maxTimeout      = time.Minute
	maxPoolSize     = 1000
	maxCacheTTL     = 24 * time.Hour
	maxCacheEntries = 10_000_000
	maxHosts        = 16
	// Each running argon2id check holds 19 MiB: 256 of them hold ~5 GiB.
	maxVerifyConcurrency = 256
	maxVerifyQueue       = 100_000
)

// Defaults returns a configuration for the embedded engine. PowerMail kept a
// pool of 10 connections; the TTLs mean an added mailbox receives mail within
// a minute and a removed one stops within a minute.
func Defaults() Config {
	return Config{
		Driver:              DriverSQLite,
		Path:                "/var/lib/powermail/userbase.db",
		ConnectTimeout:      2 * time.Second,
		QueryTimeout:        3 * time.Second,
		PoolSize:            10,
		ConnMaxLifetime:     5 * time.Minute,
		CachePositiveTTL:    60 * time.Second,
		CacheNegativeTTL:    10 * time.Second,
		CacheMaxEntries:     100_000,
		AuthCacheTTL:        5 * time.Minute,
		AuthCacheMaxEntries: 100_000,
		// A queue of 64 with one check at a time holds about 3.5 s of
		// argon2id work; waiting longer than 2 s is worse than a retry.
		AuthVerifyQueue: 64,
		AuthVerifyWait:  2 * time.Second,
		// One slot at 25% is about 5 failed argon2id checks per second:
		// what two shared cores hashed without raising SMTP latency much
		// (verifygate.go).
		AuthVerifyBusyPercent: 25,
	}
}

var tablePrefixRE = regexp.MustCompile(`^([a-z][a-z0-9_]{0,31})?$`)

// Validate reports the first bad key, naming it and saying why.
func (c Config) Validate() error {
	if err := c.validateEngine(); err != nil {
		return err
	}
	for _, d := range []struct {
		key    string
		v, max time.Duration
		zeroOK bool
	}{
		{"connect-timeout", c.ConnectTimeout, maxTimeout, false},
		{"query-timeout", c.QueryTimeout, maxTimeout, false},
		{"conn-max-lifetime", c.ConnMaxLifetime, maxCacheTTL, false},
		{"cache-positive-ttl", c.CachePositiveTTL, maxCacheTTL, true},
		{"cache-negative-ttl", c.CacheNegativeTTL, maxCacheTTL, true},
		{"auth-cache-ttl", c.AuthCacheTTL, maxCacheTTL, true},
		{"auth-verify-wait", c.AuthVerifyWait, maxTimeout, false},
	} {
		if d.v < 0 || d.v == 0 && !d.zeroOK || d.v > d.max {
			return config.Errorf(d.key, "%v out of range (want > 0 and <= %v)", d.v, d.max)
		}
	}
	if c.PoolSize < 1 || c.PoolSize > maxPoolSize {
		return config.Errorf("pool-size", "%d out of range 1..%d", c.PoolSize, maxPoolSize)
	}
	if c.CacheMaxEntries < 0 || c.CacheMaxEntries > maxCacheEntries {
		return config.Errorf("cache-max-entries", "%d out of range 0..%d", c.CacheMaxEntries, maxCacheEntries)
	}
	if c.AuthCacheMaxEntries < 0 || c.AuthCacheMaxEntries > maxCacheEntries {
		return config.Errorf("auth-cache-max-entries", "%d out of range 0..%d", c.AuthCacheMaxEntries, maxCacheEntries)
	}
	return c.validateVerify()
}

// validateVerify bounds the password check gate (see verifyGate).
func (c Config) validateVerify() error {
	if c.AuthVerifyConcurrency < 0 || c.AuthVerifyConcurrency > maxVerifyConcurrency {
		return config.Errorf("auth-verify-concurrency", "%d out of range 0..%d", c.AuthVerifyConcurrency, maxVerifyConcurrency)
	}
	if c.AuthVerifyQueue < 0 || c.AuthVerifyQueue > maxVerifyQueue {
		return config.Errorf("auth-verify-queue", "%d out of range 0..%d", c.AuthVerifyQueue, maxVerifyQueue)
	}
	if c.AuthVerifyBusyPercent < 1 || c.AuthVerifyBusyPercent > 100 {
		return config.Errorf("auth-verify-busy-percent", "%d out of range 1..100", c.AuthVerifyBusyPercent)
	}
	return nil
}

func (c Config) validateEngine() error {
	if !tablePrefixRE.MatchString(c.TablePrefix) {
		return config.Errorf("table-prefix", "%q: want a lower-case letter then up to 31 of [a-z0-9_]", c.TablePrefix)
	}
	switch c.Driver {
	case DriverSQLite:
		if len(c.Hosts) > 0 {
			return config.Errorf("hosts", "needs driver mysql")
		}
		if c.Path == "" {
			return config.Errorf("db", "driver sqlite needs a database file")
		}
		if strings.ContainsAny(c.Path, "?#") {
			return config.Errorf("db", "%q: a file name with ? or # is not supported", c.Path)
		}
	case DriverMySQL:
		if err := validateDSN(c.DSN); err != nil {
			return err
		}
		return validateHosts(c.Hosts)
	default:
		return config.Errorf("driver", "%q: want %s or %s", c.Driver, DriverSQLite, DriverMySQL)
	}
	return nil
}

// validateDSN refuses timeouts inside the DSN: they would silently fight
// with connect-timeout and query-timeout, which are the documented knobs.
func validateDSN(dsn string) error {
	if dsn == "" {
		return config.Errorf("dsn", "driver mysql needs a DSN such as user:pass@tcp(127.0.0.1:3306)/powermail")
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return config.Errorf("dsn", "%v", err)
	}
	if mc.Timeout != 0 || mc.ReadTimeout != 0 || mc.WriteTimeout != 0 {
		return config.Errorf("dsn", "remove timeout/readTimeout/writeTimeout from the DSN; set connect-timeout and query-timeout instead")
	}
	return nil
}

// validateHosts checks the failover list: host:port entries, no repeats.
func validateHosts(hosts []string) error {
	if len(hosts) > maxHosts {
		return config.Errorf("hosts", "%d nodes; at most %d", len(hosts), maxHosts)
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return config.Errorf("hosts", "%q: want host:port", h)
		}
		if seen[h] {
			return config.Errorf("hosts", "%s listed twice", h)
		}
		seen[h] = true
	}
	return nil
}

// mysqlConfig returns the parsed DSN with our timeouts and options applied.
func (c Config) mysqlConfig() (*mysql.Config, error) {
	mc, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	mc.Timeout = c.ConnectTimeout
	mc.ReadTimeout = c.QueryTimeout
	mc.WriteTimeout = c.QueryTimeout
	// UPDATE must report rows matched, not rows changed, or setting a
	// quota to its current value would look like "no such mailbox".
	mc.ClientFoundRows = true
	return mc, nil
}

// sqliteDSN opens the file read-write without creating it (create says
// otherwise), in WAL mode so that readers do not block on the writer, with a
// busy timeout equal to the query timeout.
func (c Config) sqliteDSN(create bool) string {
	mode := "rw"
	if create {
		mode = "rwc"
	}
	// _txlock=immediate: the only transactions are writes (db.tx), which
	// then wait for the write lock at BEGIN (busy_timeout) instead of
	// failing when they upgrade from a read.
	return fmt.Sprintf("file:%s?mode=%s&_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate",
		c.Path, mode, c.QueryTimeout.Milliseconds())
}
