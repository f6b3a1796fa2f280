package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"powermail/loadgen/gen"
)

// SMTPConfig describes an SMTP run. Closed loop when Rate is 0 (Concurrency
// sessions send as fast as the server answers); open loop otherwise
// (Poisson arrivals at Rate, served by up to Concurrency sessions; latency
// counts from each message's intended start, so a stalled server shows up
// as queueing instead of hiding it: no coordinated omission).
type SMTPConfig struct {
	Addr        string        `json:"addr"`
	Helo        string        `json:"helo"`
	From        string        `json:"from"`
	Concurrency int           `json:"concurrency"`
	Rate        float64       `json:"rate_per_sec"`
	Count       int64         `json:"count"`    // messages; 0: until Duration
	Duration    time.Duration `json:"duration"` // time bound; 0: until Count
	PerConn     int           `json:"messages_per_conn"`
	Rcpts       int           `json:"rcpts_per_message"`
	Mailboxes   gen.Mailboxes `json:"mailboxes"`
	RcptFormat  string        `json:"rcpt_format"` // fmt with one %d: the mailbox number
	Sizes       gen.Sizes     `json:"sizes"`
	Seed        uint64        `json:"seed"`
	RunID       string        `json:"run_id"` // prefix of message ids
	Timeout     time.Duration `json:"timeout"`
	NoPipeline  bool          `json:"no_pipelining"`

	Progress io.Writer `json:"-"` // progress bar, nil for none
	// IDLog gets one line per message: "id ok|CODE rcpt,rcpt" (for checkers).
	IDLog io.Writer `json:"-"`
}

// Validate checks the config and fills defaults.
func (c *SMTPConfig) Validate() error {
	if c.Count <= 0 && c.Duration <= 0 {
		return errors.New("load: need a count or a duration")
	}
	if c.Concurrency < 1 || c.Rcpts < 1 || c.Mailboxes.N < 1 {
		return errors.New("load: concurrency, rcpts and mailboxes must be >= 1")
	}
	c.PerConn = max(c.PerConn, 1)
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.RunID == "" {
		c.RunID = strconv.FormatInt(time.Now().UnixNano()/1e6, 36)
	}
	return c.Sizes.Validate()
}

// job is one message to send; intended is when it should have started.
type job struct {
	seq      int64
	intended time.Time
}

// RunSMTP runs the load and returns its result.
func RunSMTP(ctx context.Context, cfg SMTPConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Arrivals stop at the time bound; the sessions may drain the arrivals
	// already queued for as long again (dropping them would hide exactly
	// the queueing an open loop is there to show). What is still queued
	// after that is reported as unsent.
	genCtx, workCtx := ctx, ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		genCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
		workCtx, cancel = context.WithTimeout(ctx, 2*cfg.Duration)
		defer cancel()
	}
	res := &Result{Tool: "loadgen", Mode: "smtp-closed", Target: cfg.Addr, Config: cfg}
	cpu := startCPU()
	res.Start = time.Now()
	var jobs chan job
	if cfg.Rate > 0 {
		// Arrivals queue here while every session is busy.
		jobs = make(chan job, openQueueJobs)
		res.Mode, res.OfferedPerSec = "smtp-open", cfg.Rate
		go openLoop(genCtx, cfg, res.Start, jobs)
	} else {
		jobs = make(chan job)
		go closedLoop(genCtx, cfg, jobs)
	}
	var unsent atomic.Int64
	rs := runSMTPWorkers(workCtx, &cfg, jobs, &unsent)
	elapsed := time.Since(res.Start)
	lat, _ := merge(res, rs)
	res.Unsent = unsent.Load()
	res.Latency = Summarize(lat)
	res.finish(elapsed)
	res.CPU = cpu.stop(elapsed, res.Ops+res.Failed) // per attempted message
	return res, nil
}

// openQueueJobs bounds the arrivals waiting for a free session.
const openQueueJobs = 1 << 16

func closedLoop(ctx context.Context, cfg SMTPConfig, jobs chan<- job) {
	defer close(jobs)
	for seq := int64(0); cfg.Count <= 0 || seq < cfg.Count; seq++ {
		select {
		case jobs <- job{seq: seq}:
		case <-ctx.Done():
			return
		}
	}
}

// openLoop emits Poisson arrivals. Go's timers sleep at least about a
// millisecond, so arrivals closer than that leave in small bursts; their
// intended times stay exact.
func openLoop(ctx context.Context, cfg SMTPConfig, start time.Time, jobs chan<- job) {
	defer close(jobs)
	arr := gen.NewArrivals(gen.NewRand(cfg.Seed, -1), cfg.Rate)
	for seq := int64(0); cfg.Count <= 0 || seq < cfg.Count; seq++ {
		at := start.Add(arr.Next())
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return
			}
		}
		select {
		case jobs <- job{seq: seq, intended: at}:
		case <-ctx.Done():
			return
		}
	}
}

func runSMTPWorkers(ctx context.Context, cfg *SMTPConfig, jobs chan job, unsent *atomic.Int64) []*recorder {
	var wg sync.WaitGroup
	var done atomic.Int64
	rs := make([]*recorder, cfg.Concurrency)
	idlog := &lockedWriter{w: cfg.IDLog}
	for i := range rs {
		w := newSMTPWorker(cfg, i, idlog, &done)
		rs[i] = w.rec
		wg.Go(func() { w.run(ctx, jobs, unsent) })
	}
	stop := make(chan struct{})
	go progress(cfg.Progress, stop, &done, cfg.Count, cfg.Duration)
	wg.Wait()
	close(stop)
	return rs
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, format, args...)
	l.mu.Unlock()
}
