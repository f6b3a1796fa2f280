package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"powermail/impl/devcluster"
)

// Traffic shape: a few concurrent senders (loopback, two shared cores),
// one POP session deleting now and then, some mail to two recipients (so
// a commit links more than once: phase "between two links").
const (
	senders         = 4
	deletePause     = 250 * time.Millisecond
	maxDeletes      = 2
	twoRcptPercent  = 25
	maxRecordedErrs = 200
	failPause       = 20 * time.Millisecond
	maxTopLines     = 3
)

// history is everything the clients did, for the checker.
type history struct {
	mu      sync.Mutex
	sends   []SendRecord
	deletes []DeleteRecord
	next    atomic.Int64
	seed    uint64
	// TOP replies checked against the RETR that followed, and those that
	// differed from the stored message's first lines (a violation).
	topChecked, topWrong atomic.Int64
	users                []devcluster.User
	// backendOf maps every address powersmtp knew a backend by (its
	// fault proxy's, which changes each epoch) to the backend's index,
	// so that the orphan log can be read against the final cluster.
	backendOf map[string]int
	start     time.Time // of the run: times in the records count from here
	epoch     int       // the epoch running (set before its traffic starts)
}

// sinceStart is t in milliseconds since the run started (monotonic).
func (h *history) sinceStart(t time.Time) float64 {
	return float64(t.Sub(h.start).Microseconds()) / 1000
}

func (h *history) addSend(s SendRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sends) > maxRecordedErrs && s.Outcome != OK {
		s.Err = "" // keep the report small; the count is what matters
	}
	h.sends = append(h.sends, s)
}

func (h *history) addDeletes(ds []DeleteRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deletes = append(h.deletes, ds...)
}

// send delivers one new message; its content depends only on seed and n.
func (h *history) send(addr string, pick *rand.Rand) Outcome {
	n := h.next.Add(1)
	rng := rand.New(rand.NewPCG(h.seed, uint64(n)))
	rcpts := []string{h.users[pick.IntN(len(h.users))].Name}
	if pick.IntN(100) < twoRcptPercent {
		if other := h.users[pick.IntN(len(h.users))].Name; other != rcpts[0] {
			rcpts = append(rcpts, other)
		}
	}
	m := newMessage(rng, fmt.Sprintf("m%07d", n), rcpts)
	start := time.Now()
	res := sendSMTP(addr, rcpts, m)
	rec := SendRecord{ID: m.ID, Boxes: rcpts, Outcome: res.Outcome, Code: res.Code, Err: res.Err,
		LatencyMs: float64(time.Since(start).Microseconds()) / 1000, fp: fingerprintOf(m.Wire), Epoch: h.epoch}
	if res.Outcome == OK {
		rec.DataAtMs, rec.AckAtMs = h.sinceStart(res.DataAt), h.sinceStart(res.AckAt)
	}
	h.addSend(rec)
	return res.Outcome
}

// refusals counts the sends so far answered with a 4xx code.
func (h *history) refusals() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, s := range h.sends {
		if s.Code >= 400 && s.Code < 500 {
			n++
		}
	}
	return n
}

// run drives senders and the deleter until ctx ends.
func (h *history) run(ctx context.Context, smtpAddr, popAddr string, rng *rand.Rand) {
	var wg sync.WaitGroup
	for i := 0; i < senders; i++ {
		pick := rand.New(rand.NewPCG(rng.Uint64(), uint64(i)))
		wg.Go(func() {
			for ctx.Err() == nil {
				if h.send(smtpAddr, pick) != OK {
					sleep(ctx, failPause) // a refusing cluster is not a reason to spin
				}
			}
		})
	}
	pick := rand.New(rand.NewPCG(rng.Uint64(), senders))
	wg.Go(func() {
		for ctx.Err() == nil {
			u := h.users[pick.IntN(len(h.users))]
			h.addDeletes(h.deleteSome(popAddr, u, pick))
			sleep(ctx, deletePause)
		}
	})
	wg.Wait()
}

// deleteSome deletes up to maxDeletes messages of u in one POP session,
// reading each first with TOP and RETR.
// A delete is acknowledged only by the +OK to QUIT (RFC 1939 section 6).
func (h *history) deleteSome(addr string, u devcluster.User, pick *rand.Rand) []DeleteRecord {
	p, err := popLogin(addr, u.Name, u.Password)
	if err != nil {
		return nil
	}
	defer p.Close()
	list, err := p.uidl()
	if err != nil || len(list) == 0 {
		return nil
	}
	var out []DeleteRecord
	for k := 0; k < maxDeletes; k++ {
		n := 1 + pick.IntN(len(list))
		lines := pick.IntN(maxTopLines + 1)
		top, topErr := p.top(n, lines)
		stored, err := p.retr(n)
		if err != nil {
			break
		}
		h.checkTop(top, topErr, stored, lines)
		if _, err := p.cmd(fmt.Sprintf("DELE %d", n)); err == nil {
			out = append(out, DeleteRecord{ID: chaosID(stored), Box: u.Name, UID: list[n], Epoch: h.epoch})
		}
	}
	acked := p.quit() == nil
	for i := range out {
		out[i].Acked = acked
	}
	return out
}

// checkTop compares a TOP reply with the message that RETR returned next in
// the same session. A TOP refused with -ERR (no copy reachable under a
// fault) is not checked; a TOP cut short, or one with other bytes, is wrong.
func (h *history) checkTop(top []byte, err error, stored []byte, lines int) {
	if errors.Is(err, errNegative) {
		return
	}
	h.topChecked.Add(1)
	if err != nil || !bytes.Equal(top, topOf(stored, lines)) {
		h.topWrong.Add(1)
	}
}
