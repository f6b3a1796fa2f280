package userbase

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The contract suite runs every test against each engine. SQLite always runs
// (a file in a temp dir); MySQL/MariaDB runs when PM_TEST_MYSQL_DSN names a
// server, and is mandatory in CI (CI set), where a missing DSN fails instead
// of silently testing one engine.
const mysqlDSNEnv = "PM_TEST_MYSQL_DSN"

// testTimeout bounds every database call in the tests.
const testTimeout = 5 * time.Second

type engine struct {
	name string
	cfg  func(t testing.TB) Config
}

var engines = []engine{
	{DriverSQLite, sqliteConfig},
	{DriverMySQL, mysqlConfig},
}

func testConfig() Config {
	c := Defaults()
	c.QueryTimeout, c.ConnectTimeout = testTimeout, testTimeout
	return c
}

func sqliteConfig(t testing.TB) Config {
	c := testConfig()
	c.Path = filepath.Join(t.TempDir(), "userbase.db")
	return c
}

// mysqlConfig gives each test its own table prefix, so parallel runs (two
// developers, or CI next to a developer) never share tables, and drops the
// tables afterwards.
func mysqlConfig(t testing.TB) Config {
	dsn := os.Getenv(mysqlDSNEnv)
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set but CI is: the MySQL contract tests must run in CI", mysqlDSNEnv)
		}
		t.Skipf("%s not set (e.g. root@tcp(127.0.0.1:3306)/test); skipping MySQL", mysqlDSNEnv)
	}
	c := testConfig()
	c.Driver, c.DSN = DriverMySQL, dsn
	var r [6]byte
	rand.Read(r[:])
	c.TablePrefix = "t" + hex.EncodeToString(r[:]) + "_"
	t.Cleanup(func() { dropTables(t, c) })
	return c
}

func dropTables(t testing.TB, c Config) {
	db, err := openDB(c, false)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer db.Close()
	for _, table := range TableNames() {
		if _, err := db.sql.Exec("DROP TABLE IF EXISTS " + c.TablePrefix + table); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// forEachEngine runs f as a subtest per engine with a fresh, initialised
// database.
func forEachEngine(t *testing.T, f func(t *testing.T, db *DB, cfg Config)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			cfg := e.cfg(t)
			f(t, newDB(t, cfg), cfg)
		})
	}
}

func newDB(t testing.TB, cfg Config) *DB {
	if err := Init(ctx(t), cfg); err != nil {
		t.Fatalf("init: %v", err)
	}
	db, err := OpenDB(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 4*testTimeout)
	t.Cleanup(cancel)
	return c
}
