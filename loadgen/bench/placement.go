package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"powermail/impl/devcluster"
	"powermail/impl/placement"
	"powermail/loadgen/load"
	"powermail/loadgen/smtpc"
	"powermail/sim/workload"
)

// The placement scenarios (issue 13) compare the two policies of the
// placement key on the real system: what a POP3 login costs as the
// cluster grows, and how many copies multi-recipient mail costs.

var policies = []placement.Policy{placement.PowerMail, placement.Rendezvous}

// loginCostBackends are the cluster sizes of pop3-login-cost.
var loginCostBackends = []int{3, 12, 24}

const loginCostUsers = 20

// popLoginCost measures POP3 login+STAT latency and the backend requests
// per login at 3, 12 and 24 backends under each policy. Every mailbox
// holds one message, so that a LIST has something to list.
func popLoginCost(ctx context.Context, e *env) (*Result, error) {
	var samples []sample
	var raw []any
	for range e.opt.Runs {
		s := sample{}
		for _, pol := range policies {
			for _, n := range loginCostBackends {
				res, err := e.loginCostPoint(ctx, pol, n, s)
				if err != nil {
					return nil, err
				}
				raw = append(raw, res)
			}
		}
		samples = append(samples, s)
	}
	r := aggregate(map[string]any{"redundancy": 2, "mailboxes": loginCostUsers, "backends": loginCostBackends,
		"concurrency": popSessions, "sessions_per_point": pick(e, 400, 100)}, samples, raw)
	r.Notes = append(r.Notes, "metric@policy-backends; each session: connect, USER, PASS, STAT, QUIT (auth cache warm)",
		"lists_per_login and requests_per_login count what every backend served (LIST; every verb but the health checks' STATUS), divided by the sessions")
	return r, nil
}

// loginCostPoint is one cluster: it adds its metrics to s.
func (e *env) loginCostPoint(ctx context.Context, pol placement.Policy, n int, s sample) (*load.Result, error) {
	name := fmt.Sprintf("login-cost-%s-%d", pol, n)
	c, err := e.startCluster(ctx, name, 2, loginCostUsers, true, func(o *devcluster.Options) {
		o.Backends, o.Placement = n, pol
	})
	if err != nil {
		return nil, err
	}
	defer stopCluster(c)
	if err := populate(ctx, c, loginCostUsers, 1, 4<<10); err != nil {
		return nil, err
	}
	if _, err := warmLogins(ctx, c, c.POPAddr, loginCostUsers); err != nil {
		return nil, err
	}
	before, err := requestCounts(ctx, c)
	if err != nil {
		return nil, err
	}
	cfg := popLoad(c, loginCostUsers, false, false)
	cfg.Sessions = int64(pick(e, 400, 100))
	res, err := load.RunPOP(ctx, cfg)
	if err == nil && res.Failed > 0 {
		err = fmt.Errorf("POP3 logins failed: %v", res.Errors)
	}
	if err != nil {
		return nil, err
	}
	after, err := requestCounts(ctx, c)
	if err != nil {
		return nil, err
	}
	at := fmt.Sprintf("@%s-%d", pol, n)
	s["login_p50_ms"+at], s["login_p99_ms"+at], s["logins_per_sec"+at] = res.Latency.P50, res.Latency.P99, res.OpsPerSec
	s["lists_per_login"+at] = (after.lists - before.lists) / float64(res.Ops)
	s["requests_per_login"+at] = (after.requests - before.requests) / float64(res.Ops)
	return res, nil
}

// requests are what every backend of a cluster has served.
type requests struct{ lists, requests float64 }

func requestCounts(ctx context.Context, c *devcluster.Cluster) (requests, error) {
	var out requests
	for _, b := range c.Backends {
		m, err := devcluster.Scrape(ctx, b.MetricsAddr)
		if err != nil {
			return out, err
		}
		out.lists += m.Sum("powermail_listener_requests_total", map[string]string{"verb": "LIST"})
		out.requests += m.Sum("powermail_listener_requests_total", nil) -
			m.Sum("powermail_listener_requests_total", map[string]string{"verb": "STATUS"})
	}
	return out, nil
}

// Multi-recipient mail, with the simulator's recipient counts.
const (
	copiesBackends  = 10 // the smallest point of the simulator's scale-out
	copiesMailboxes = 1000
)

// smtpCopies sends messages whose recipient counts follow the simulator's
// realistic mix (90% one recipient, a Pareto tail up to 100) to a cluster
// of 10 backends at R=2 under each policy, and counts the message files
// the backends hold afterwards: copies per message.
func smtpCopies(ctx context.Context, e *env) (*Result, error) {
	msgs := pick(e, 300, 60)
	var samples []sample
	var raw []any
	for run := range e.opt.Runs {
		s := sample{}
		for _, pol := range policies {
			d, err := e.copiesPoint(ctx, pol, msgs, uint64(run+1))
			if err != nil {
				return nil, err
			}
			at := "@" + string(pol)
			s["copies_per_message"+at], s["rcpts_per_message"+at] = d.files/d.msgs, d.rcpts/d.msgs
			s["links_per_message"+at] = d.links / d.msgs
			raw = append(raw, d)
		}
		samples = append(samples, s)
	}
	r := aggregate(map[string]any{"redundancy": 2, "backends": copiesBackends, "mailboxes": copiesMailboxes,
		"messages_per_run": msgs, "recipients": "sim/workload Realistic: 90% one, else 1+Pareto(1, 1.2), at most 100"}, samples, raw)
	r.Notes = append(r.Notes, "copies = message files (distinct inodes) on all backends per accepted message; PowerMail's placement stores R whatever the recipients, rendezvous one copy per distinct backend of the union of the recipients' homes",
		"the simulator counts one file per distinct home set instead (results/sim/scale-out.json: 2.56 copies per message at 10 backends, 2.72 at 1,000)")
	return r, nil
}

// copiesDetail is one policy's run.
type copiesDetail struct {
	Policy placement.Policy `json:"policy"`
	msgs   float64
	rcpts  float64
	files  float64
	links  float64
	// Census is each backend's message files and links afterwards.
	Census []census `json:"census"`
}

func (e *env) copiesPoint(ctx context.Context, pol placement.Policy, msgs int, seed uint64) (*copiesDetail, error) {
	c, err := e.startCluster(ctx, fmt.Sprintf("copies-%s-%d", pol, seed), 2, copiesMailboxes, false, func(o *devcluster.Options) {
		o.Backends, o.Placement = copiesBackends, pol
	})
	if err != nil {
		return nil, err
	}
	defer stopCluster(c)
	rcpts, err := sendMultiRecipient(ctx, c.SMTPAddr, msgs, seed)
	if err != nil {
		return nil, err
	}
	d := &copiesDetail{Policy: pol, msgs: float64(msgs), rcpts: float64(rcpts)}
	for _, b := range c.Backends {
		ce, err := takeCensus(b.Root)
		if err != nil {
			return nil, err
		}
		d.Census = append(d.Census, ce)
		d.files += float64(ce.Files)
		d.links += float64(ce.Links)
	}
	return d, nil
}

// sendMultiRecipient sends msgs messages, recipients drawn from the
// simulator's realistic mix, over 4 connections; every one must be
// accepted. It returns the recipients sent to.
func sendMultiRecipient(ctx context.Context, addr string, msgs int, seed uint64) (int, error) {
	gen := workload.NewGen(workload.Realistic(), copiesMailboxes, rand.New(rand.NewPCG(seed, 13)))
	envelopes := make(chan []string, msgs)
	total := 0
	for range msgs {
		var rcpts []string
		for k := gen.Recipients(); len(rcpts) < k; {
			if r := fmt.Sprintf(rcptFormat, gen.Mailbox()); !slices.Contains(rcpts, r) {
				rcpts = append(rcpts, r)
			}
		}
		total += len(rcpts)
		envelopes <- rcpts
	}
	close(envelopes)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- sendAll(ctx, addr, envelopes) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

func sendAll(ctx context.Context, addr string, envelopes <-chan []string) error {
	c, err := smtpc.Dial(ctx, addr, "loadgen.invalid", time.Minute, true)
	if err != nil {
		return err
	}
	defer c.Close()
	body := []byte("Subject: copies\r\n\r\nOne message, several mailboxes.\r\n")
	for rcpts := range envelopes {
		if refused, err := c.Send("loadgen@loadgen.invalid", rcpts, body); err != nil || refused > 0 {
			return fmt.Errorf("message to %d recipients: %d refused, %v", len(rcpts), refused, err)
		}
	}
	c.Quit()
	return nil
}
