package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"powermail/loadgen/msg"
	"powermail/loadgen/pop3c"
)

// POPConfig describes a POP3 run: Concurrency sessions, each logging in to
// a mailbox, STAT, and with Retr UIDL and RETR of every message (verified
// with package msg when Verify), DELE when Dele, then QUIT. Worker w serves
// mailboxes w, w+Concurrency, ... so no two sessions share a mailbox (a
// POP3 server may lock the maildrop: RFC 1939 8).
type POPConfig struct {
	Addr        string        `json:"addr"`
	Concurrency int           `json:"concurrency"`
	Users       int           `json:"users"`
	UserFormat  string        `json:"user_format"` // fmt with one %d
	PassFormat  string        `json:"pass_format"` // fmt with one %d, or a fixed password
	Sessions    int64         `json:"sessions"`    // 0: each mailbox once (or until Duration)
	Duration    time.Duration `json:"duration"`
	Retr        bool          `json:"retr"`
	Dele        bool          `json:"dele"`
	Verify      bool          `json:"verify"`
	Timeout     time.Duration `json:"timeout"`

	Progress io.Writer `json:"-"`
	// IDLog gets one line per retrieved message: "uidl loadgen-id ok|error".
	IDLog io.Writer `json:"-"`
}

// Validate checks the config and fills defaults.
func (c *POPConfig) Validate() error {
	if c.Users < 1 || c.Concurrency < 1 {
		return errors.New("load: users and concurrency must be >= 1")
	}
	c.Concurrency = min(c.Concurrency, c.Users)
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	return nil
}

// RunPOP runs the load and returns its result.
func RunPOP(ctx context.Context, cfg POPConfig) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	res := &Result{Tool: "loadgen", Mode: "pop3", Target: cfg.Addr, Config: cfg}
	if cfg.Verify {
		res.Verify = &VerifyStats{}
	}
	cpu := startCPU()
	res.Start = time.Now()
	rs := runPOPWorkers(ctx, &cfg)
	elapsed := time.Since(res.Start)
	lat, retrLat := merge(res, rs)
	res.Latency = Summarize(lat)
	if cfg.Retr {
		l := Summarize(retrLat)
		res.RetrLatency = &l
	}
	res.finish(elapsed)
	res.CPU = cpu.stop(elapsed, max(res.Messages, res.Ops))
	return res, nil
}

func runPOPWorkers(ctx context.Context, cfg *POPConfig) []*recorder {
	var wg sync.WaitGroup
	var claimed, done atomic.Int64
	idlog := &lockedWriter{w: cfg.IDLog}
	rs := make([]*recorder, cfg.Concurrency)
	for i := range rs {
		w := &popWorker{cfg: cfg, rec: newRecorder(), idlog: idlog}
		rs[i] = w.rec
		wg.Go(func() {
			for u := range w.mailboxes(ctx, i, &claimed) {
				w.session(u)
				done.Add(1)
			}
		})
	}
	stop := make(chan struct{})
	go progress(cfg.Progress, stop, &done, cfg.Sessions, cfg.Duration)
	wg.Wait()
	close(stop)
	return rs
}

type popWorker struct {
	cfg   *POPConfig
	rec   *recorder
	buf   []byte
	idlog *lockedWriter
}

// mailboxes yields this worker's mailbox numbers until the session count,
// the time bound, or (with neither) one pass over its mailboxes ends.
func (w *popWorker) mailboxes(ctx context.Context, first int, claimed *atomic.Int64) func(func(int) bool) {
	return func(yield func(int) bool) {
		for u := first; ctx.Err() == nil; {
			if w.cfg.Sessions > 0 && claimed.Add(1) > w.cfg.Sessions {
				return
			}
			if !yield(u) {
				return
			}
			u += w.cfg.Concurrency
			if u >= w.cfg.Users {
				if w.cfg.Sessions == 0 && w.cfg.Duration == 0 {
					return
				}
				u = first
			}
		}
	}
}

func fill(format string, n int) string {
	if strings.Contains(format, "%") {
		return fmt.Sprintf(format, n)
	}
	return format
}

// session runs one POP3 session on mailbox u and records it.
func (w *popWorker) session(u int) {
	start := time.Now()
	c, err := pop3c.Dial(context.Background(), w.cfg.Addr, w.cfg.Timeout)
	if err != nil {
		w.rec.fail(err)
		return
	}
	defer c.Close()
	if err := w.transact(c, u); err != nil {
		w.rec.fail(err)
		return
	}
	if err := c.Quit(); err != nil {
		w.rec.fail(err)
		return
	}
	w.rec.ops++
	w.rec.lat = append(w.rec.lat, ms(time.Since(start)))
}

func (w *popWorker) transact(c *pop3c.Client, u int) error {
	if err := c.Login(fill(w.cfg.UserFormat, u), fill(w.cfg.PassFormat, u)); err != nil {
		return err
	}
	n, _, err := c.Stat()
	if err != nil || !w.cfg.Retr {
		return err
	}
	uidl, err := c.UIDL()
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		if err := w.retr(c, i, uidl[i]); err != nil {
			return err
		}
		if w.cfg.Dele {
			if err := c.Dele(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *popWorker) retr(c *pop3c.Client, i int, uidl string) error {
	t0 := time.Now()
	var err error
	w.buf, err = c.Retr(i, w.buf[:0])
	if err != nil {
		return err
	}
	w.rec.retrLat = append(w.rec.retrLat, ms(time.Since(t0)))
	w.rec.messages++
	w.rec.bytes += int64(len(w.buf))
	if !w.cfg.Verify {
		return nil
	}
	w.rec.checked++
	info, verr := msg.Verify(w.buf)
	outcome := "ok"
	if verr != nil {
		w.rec.corrupt++
		outcome = "corrupt"
		if w.rec.firstCorrupt == "" {
			w.rec.firstCorrupt = fmt.Sprintf("message %d (uidl %s): %v", i, uidl, verr)
		}
	}
	w.idlog.printf("%s %s %s\n", uidl, info.ID, outcome)
	return nil
}
