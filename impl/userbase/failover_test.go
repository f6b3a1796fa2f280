package userbase

import (
	"context"
	"net"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A dead first node is skipped: the call succeeds on the next one, and the
// next new connection goes straight to the node that answered.
func TestFailoverSkipsADeadNode(t *testing.T) {
	cfg := mysqlConfig(t)
	mc, err := mysql.ParseDSN(cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	dead := deadAddr(t)
	cfg.Hosts = []string{dead, mc.Addr}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := Init(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	db, err := OpenDB(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	refusedBefore := testutil.ToFloat64(nodeConnects.WithLabelValues(dead, "error"))
	if _, err := db.ListBackends(ctx); err != nil {
		t.Fatalf("with the first node dead: %v", err)
	}
	if got := testutil.ToFloat64(nodeConnects.WithLabelValues(dead, "error")) - refusedBefore; got != 1 {
		t.Errorf("dead node tried %v times, want 1", got)
	}
	db.sql.SetMaxIdleConns(0) // every call opens a connection
	for range 3 {
		if _, err := db.ListBackends(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(nodeConnects.WithLabelValues(dead, "error")) - refusedBefore; got != 1 {
		t.Errorf("dead node tried %v times, want 1: the node that answered goes first", got)
	}
}

// Every node dead: a temporary error within the query timeout.
func TestFailoverAllDeadIsTemporary(t *testing.T) {
	cfg := downConfig("root@tcp(127.0.0.1:1)/test")
	cfg.Hosts = []string{deadAddr(t), deadAddr(t)}
	assertTemporaryWithin(t, cfg)
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
