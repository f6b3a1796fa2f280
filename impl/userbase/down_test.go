package userbase

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// downTimeout is the configured query timeout in these tests; slack is what
// we allow on top for scheduling on a loaded 2-core machine.
const (
	downTimeout = 300 * time.Millisecond
	downSlack   = 700 * time.Millisecond
)

func downConfig(dsn string) Config {
	c := Defaults()
	c.Driver, c.DSN = DriverMySQL, dsn
	c.ConnectTimeout, c.QueryTimeout = downTimeout, downTimeout
	return c
}

// assertTemporaryWithin checks that both calls give ErrTemporary, never a
// definite answer, and within the configured timeout.
func assertTemporaryWithin(t *testing.T, cfg Config) {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open must not need the database: %v", err)
	}
	defer s.Close()
	calls := map[string]func(context.Context) error{
		"lookup": func(ctx context.Context) error { _, err := s.Lookup(ctx, "a@example.com"); return err },
		"login":  func(ctx context.Context) error { _, err := s.Authenticate(ctx, "a@example.com", "pw"); return err },
		"admin":  func(ctx context.Context) error { _, err := s.DB().ListBackends(ctx); return err },
	}
	for name, call := range calls {
		start := time.Now()
		err := call(context.Background())
		elapsed := time.Since(start)
		if !errors.Is(err, ErrTemporary) || errors.Is(err, ErrNoSuchMailbox) || errors.Is(err, ErrAuthFailed) {
			t.Errorf("%s: err = %v, want only ErrTemporary", name, err)
		}
		if elapsed > cfg.QueryTimeout+downSlack {
			t.Errorf("%s: took %v, configured timeout %v", name, elapsed, cfg.QueryTimeout)
		}
	}
}

func TestMySQLRefusedIsTemporary(t *testing.T) {
	assertTemporaryWithin(t, downConfig("root@tcp(127.0.0.1:1)/test"))
}

// TestMySQLSilentServerTimesOut: a server that accepts the connection and
// never sends its greeting (a hung mysqld, a black-holed proxy).
func TestMySQLSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accept, then say nothing
		}
	}()
	assertTemporaryWithin(t, downConfig("root@tcp("+ln.Addr().String()+")/test"))
}

// TestCallerDeadlineIsHonoured: a caller with less time than the query
// timeout gets its answer (temporary) by its own deadline.
func TestCallerDeadlineIsHonoured(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(5 * time.Second)
		}
	}()
	cfg := downConfig("root@tcp(" + ln.Addr().String() + ")/test")
	cfg.QueryTimeout, cfg.ConnectTimeout = 10*time.Second, 10*time.Second
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
	defer cancel()
	start := time.Now()
	_, err = s.Lookup(ctx, "a@example.com")
	if !errors.Is(err, ErrTemporary) || time.Since(start) > downTimeout+downSlack {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestSQLiteMissingFileIsAnOpenError(t *testing.T) {
	cfg := Defaults()
	cfg.Path = filepath.Join(t.TempDir(), "typo.db")
	_, err := Open(cfg)
	if err == nil || !strings.Contains(err.Error(), "ppadmin init") {
		t.Fatalf("err = %v, want a hint to run ppadmin init", err)
	}
}

// TestSQLiteLockedIsTemporaryWithinTimeout: a writer stuck behind another
// process's lock (ppadmin in a long transaction) gives up after the busy
// timeout, which is the query timeout.
func TestSQLiteLockedIsTemporaryWithinTimeout(t *testing.T) {
	cfg := sqliteConfig(t)
	cfg.QueryTimeout = downTimeout
	db := newDB(t, cfg)
	// Hold the write lock in another connection; a writer must give up
	// after the busy timeout (= query timeout) with a temporary error.
	other, err := openDB(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.sql.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	start := time.Now()
	err = db.SetQuota(context.Background(), "a@example.com", 1)
	if !errors.Is(err, ErrTemporary) || time.Since(start) > downTimeout+downSlack {
		t.Fatalf("locked write: err = %v after %v", err, time.Since(start))
	}
	// Readers are not blocked by the writer (WAL).
	_, err = db.Find(context.Background(), "a@example.com")
	wantErr(t, "read during write", err, ErrNoSuchMailbox)
}
