package userbase

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// A userbase that survives a database node: Config.Hosts lists the nodes
// of a replicated MySQL-compatible cluster (MariaDB Galera: every node
// takes reads and writes). The pool opens each new connection through
// failover.Connect:
//
//	try the node that answered last, then the others in list order, once
//	round the list; a node that refuses, does not greet within
//	connect-timeout, or is not ready (Galera's wsrep_ready is OFF: it is
//	joining, or cut off from the cluster's majority) is skipped.
//
// Starting from the last good node means a dead node costs its timeout once,
// not on every new connection. A connection already in the pool to a node
// that dies fails its next query; the MySQL driver notices a closed
// connection before using it and database/sql then opens a new one, so
// most callers never see the failure. A query that was in flight when the
// node died fails as temporary (SMTP 451, POP -ERR [SYS/TEMP]): the sender
// retries, nothing is lost. There is no primary to elect and no state here:
// which node answers does not matter, since all of them hold the same rows.
type failover struct {
	nodes []driver.Connector
	addrs []string
	last  atomic.Int32 // index of the node that answered last
}

var nodeConnects = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "powermail_userbase_connects_total",
	Help: "New userbase database connections by node (host:port) and result (ok, error, not_ready).",
}, []string{"node", "result"})

// newFailover makes a connector per host from the parsed DSN mc.
func newFailover(mc *mysql.Config, hosts []string) (*failover, error) {
	f := &failover{addrs: hosts}
	for _, h := range hosts {
		nc := mc.Clone()
		nc.Addr = h
		c, err := mysql.NewConnector(nc)
		if err != nil {
			return nil, fmt.Errorf("userbase: node %s: %w", h, err)
		}
		f.nodes = append(f.nodes, c)
		nodeConnects.WithLabelValues(h, "error") // start at 0: alerts see the first failure
	}
	return f, nil
}

// Connect implements driver.Connector.
func (f *failover) Connect(ctx context.Context) (driver.Conn, error) {
	start := int(f.last.Load())
	var errs []error
	for i := range f.nodes {
		n := (start + i) % len(f.nodes)
		c, err := f.connect(ctx, n)
		if err == nil {
			f.last.Store(int32(n))
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", f.addrs[n], err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

var errNotReady = errors.New("node not ready (wsrep_ready is OFF)")

func (f *failover) connect(ctx context.Context, n int) (driver.Conn, error) {
	c, err := f.nodes[n].Connect(ctx)
	if err != nil {
		nodeConnects.WithLabelValues(f.addrs[n], "error").Inc()
		return nil, err
	}
	if err := checkReady(ctx, c); err != nil {
		c.Close()
		result := "error"
		if errors.Is(err, errNotReady) {
			result = "not_ready"
		}
		nodeConnects.WithLabelValues(f.addrs[n], result).Inc()
		return nil, err
	}
	nodeConnects.WithLabelValues(f.addrs[n], "ok").Inc()
	return c, nil
}

// Driver implements driver.Connector.
func (f *failover) Driver() driver.Driver { return mysql.MySQLDriver{} }

// checkReady refuses a Galera node that cannot serve queries. A server
// without Galera, or with it compiled in but off (Debian's MariaDB), has
// wsrep_on absent or OFF and is ready.
func checkReady(ctx context.Context, c driver.Conn) error {
	on, err := showValue(ctx, c, "SHOW VARIABLES LIKE 'wsrep_on'")
	if err != nil || on != "ON" {
		return err
	}
	ready, err := showValue(ctx, c, "SHOW STATUS LIKE 'wsrep_ready'")
	if err == nil && ready != "ON" {
		err = errNotReady
	}
	return err
}

// showValue runs a SHOW ... LIKE statement and returns the value of its
// first row ("" when there is none).
func showValue(ctx context.Context, c driver.Conn, q string) (string, error) {
	qc, ok := c.(driver.QueryerContext)
	if !ok {
		return "", nil
	}
	rows, err := qc.QueryContext(ctx, q, nil)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	row := make([]driver.Value, len(rows.Columns()))
	if err := rows.Next(row); errors.Is(err, io.EOF) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	v, _ := row[len(row)-1].([]byte)
	return string(v), nil
}
