package load

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"powermail/loadgen/gen"
	"powermail/loadgen/msg"
	"powermail/loadgen/smtpc"
)

// smtpWorker is one SMTP session slot: it keeps a connection for PerConn
// messages and redials after that or after a broken connection.
type smtpWorker struct {
	cfg    *SMTPConfig
	rec    *recorder
	r      *rand.Rand
	pick   *gen.Picker
	client *smtpc.Client
	onConn int // messages sent on client
	buf    []byte
	idx    []int
	rcpts  []string
	idlog  *lockedWriter
	done   *atomic.Int64
}

func newSMTPWorker(cfg *SMTPConfig, i int, idlog *lockedWriter, done *atomic.Int64) *smtpWorker {
	r := gen.NewRand(cfg.Seed, i)
	return &smtpWorker{cfg: cfg, rec: newRecorder(), r: r, pick: cfg.Mailboxes.NewPicker(r),
		idlog: idlog, done: done}
}

func (w *smtpWorker) run(ctx context.Context, jobs <-chan job, unsent *atomic.Int64) {
	for j := range jobs {
		if ctx.Err() != nil {
			unsent.Add(1)
			continue
		}
		if j.intended.IsZero() {
			j.intended = time.Now() // closed loop: no intended time but now
		}
		w.one(j)
		w.done.Add(1)
	}
	if w.client != nil {
		w.client.Quit()
	}
}

// one sends message j and records its outcome; latency counts from the
// intended start and includes connecting when this message opens a session.
func (w *smtpWorker) one(j job) {
	id := w.cfg.RunID + "-" + strconv.FormatInt(j.seq, 10)
	w.idx = w.pick.Distinct(w.idx, w.cfg.Rcpts)
	w.rcpts = w.rcpts[:0]
	for _, n := range w.idx {
		w.rcpts = append(w.rcpts, fill(w.cfg.RcptFormat, n))
	}
	w.buf = msg.Build(w.buf[:0], id, w.rcpts[0], w.cfg.Sizes.Draw(w.r))
	refused, err := w.send()
	w.rec.lat = append(w.rec.lat, ms(time.Since(j.intended)))
	if err != nil {
		w.rec.fail(err)
		w.idlog.printf("%s %s %s\n", id, errCode(err), strings.Join(w.rcpts, ","))
		return
	}
	w.rec.ops++
	w.rec.messages++
	w.rec.rcpts += int64(len(w.rcpts) - refused)
	w.rec.bytes += int64(len(w.buf))
	if refused > 0 {
		w.rec.errors["RCPT refused"] += refused
	}
	w.idlog.printf("%s ok %s\n", id, strings.Join(w.rcpts, ","))
}

func (w *smtpWorker) send() (int, error) {
	if w.client == nil {
		c, err := smtpc.Dial(context.Background(), w.cfg.Addr, w.cfg.Helo, w.cfg.Timeout, !w.cfg.NoPipeline)
		if err != nil {
			return 0, err
		}
		w.client, w.onConn = c, 0
	}
	refused, err := w.client.Send(w.cfg.From, w.rcpts, w.buf)
	w.onConn++
	if smtpc.IsNet(err) {
		w.client.Close()
		w.client = nil
	} else if w.onConn >= w.cfg.PerConn {
		w.client.Quit()
		w.client = nil
	}
	return refused, err
}

// errCode is the reply code of err for the id log ("net" for none).
func errCode(err error) string {
	if e, ok := err.(*smtpc.Error); ok && e.Code != 0 {
		return strconv.Itoa(e.Code)
	}
	return "net"
}
