package bench

import (
	"context"
	"fmt"

	"powermail/impl/devcluster"
	"powermail/loadgen/load"
)

const fanoutRcpts = 100

// smtp100Rcpts sends one message to 100 mailboxes at R=2 and counts what
// it cost: files (inodes), directory entries and bytes on each backend, and
// the bytes and PREPAREs the backends received (their own metrics).
func smtp100Rcpts(ctx context.Context, e *env) (*Result, error) {
	c, err := e.startCluster(ctx, "smtp-100-rcpts", 2, fanoutRcpts, false)
	if err != nil {
		return nil, err
	}
	defer stopCluster(c)
	// The first message to a mailbox also creates its directory and name
	// file (package store): deliver one unmeasured message first.
	first, _, err := fanoutOnce(ctx, c, -1)
	if err != nil {
		return nil, err
	}
	var samples []sample
	var raw []any
	for i := range e.opt.Runs {
		s, detail, err := fanoutOnce(ctx, c, i)
		if err != nil {
			return nil, err
		}
		samples = append(samples, s)
		raw = append(raw, detail)
	}
	res := aggregate(map[string]any{"redundancy": 2, "backends": 3, "recipients": fanoutRcpts, "size_bytes": 4096}, samples, raw)
	res.Notes = append(res.Notes, fmt.Sprintf("a first, unmeasured message created the 100 mailboxes on each replica: %.0f files, %.0f ms", first["files"], first["accept_ms"]),
		"target: 2 files (one per replica, linked into 100 mailbox directories) and 2 transfers of the message")
	return res, nil
}

type fanoutDetail struct {
	Backends []census    `json:"backends_delta"`
	Loadgen  load.Result `json:"loadgen"`
}

func fanoutOnce(ctx context.Context, c *devcluster.Cluster, i int) (sample, fanoutDetail, error) {
	before, inB, prepB, err := backendState(c)
	if err != nil {
		return nil, fanoutDetail{}, err
	}
	cfg := smtpLoad(c.SMTPAddr, 4<<10, 1, 1, fmt.Sprint("fanout-", i))
	cfg.Rcpts, cfg.Mailboxes.N = fanoutRcpts, fanoutRcpts
	res, err := load.RunSMTP(ctx, cfg)
	if err != nil {
		return nil, fanoutDetail{}, err
	}
	if res.Ops != 1 {
		return nil, fanoutDetail{}, fmt.Errorf("100-recipient message not accepted: %v", res.Errors)
	}
	after, inA, prepA, err := backendState(c)
	if err != nil {
		return nil, fanoutDetail{}, err
	}
	d := fanoutDetail{Loadgen: *res}
	s := sample{"bytes_to_backends": inA - inB, "prepares": prepA - prepB,
		"message_bytes": float64(res.Bytes), "accept_ms": res.Latency.Max}
	for b := range after {
		delta := after[b].minus(before[b])
		d.Backends = append(d.Backends, delta)
		s["files"] += float64(delta.Files)
		s["links"] += float64(delta.Links)
		s["disk_bytes"] += float64(delta.BlockBytes)
		s["other_files"] += float64(delta.Other)
	}
	return s, d, nil
}

// backendState is each backend's census and the summed received bytes and
// successful PREPAREs of all backends.
func backendState(c *devcluster.Cluster) ([]census, float64, float64, error) {
	var cs []census
	var in, prep float64
	for _, b := range c.Backends {
		ce, err := takeCensus(b.Root)
		if err != nil {
			return nil, 0, 0, err
		}
		cs = append(cs, ce)
		m, err := devcluster.Scrape(context.Background(), b.MetricsAddr)
		if err != nil {
			return nil, 0, 0, err
		}
		in += m.Sum("powermail_listener_bytes_total", map[string]string{"direction": "in"})
		prep += m.Sum("powermail_listener_requests_total", map[string]string{"verb": "PREPARE", "result": "ok"})
	}
	return cs, in, prep, nil
}
