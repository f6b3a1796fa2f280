package load

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// recorder holds one worker's counts; workers never share one, so the hot
// path takes no lock. merge adds them up at the end.
type recorder struct {
	ops, failed, messages, rcpts, bytes int64
	lat, retrLat                        []float64
	errors                              map[string]int
	checked, corrupt                    int64
	firstCorrupt                        string
}

func newRecorder() *recorder { return &recorder{errors: map[string]int{}} }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// keyed is an error that names its counting key.
type keyed interface{ Key() string }

func (r *recorder) fail(err error) {
	r.failed++
	if k, ok := err.(keyed); ok {
		r.errors[k.Key()]++
		return
	}
	r.errors["OTHER"]++
}

func merge(res *Result, rs []*recorder) (lat, retrLat []float64) {
	res.Errors = map[string]int{}
	for _, r := range rs {
		res.Ops += r.ops
		res.Failed += r.failed
		res.Messages += r.messages
		res.Recipients += r.rcpts
		res.Bytes += r.bytes
		lat = append(lat, r.lat...)
		retrLat = append(retrLat, r.retrLat...)
		for k, v := range r.errors {
			res.Errors[k] += v
		}
		if res.Verify != nil {
			res.Verify.Checked += r.checked
			res.Verify.Corrupt += r.corrupt
			if res.Verify.FirstError == "" {
				res.Verify.FirstError = r.firstCorrupt
			}
		}
	}
	return lat, retrLat
}

// progress draws a one-line bar on w every progressEvery until done closes.
const progressEvery = 250 * time.Millisecond

func progress(w io.Writer, done <-chan struct{}, count *atomic.Int64, total int64, bound time.Duration) {
	if w == nil {
		return
	}
	start := time.Now()
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			fmt.Fprint(w, "\r\033[K")
			return
		case <-t.C:
			n := count.Load()
			el := time.Since(start)
			frac := 0.0
			if bound > 0 {
				frac = el.Seconds() / bound.Seconds()
			}
			if total > 0 {
				frac = max(frac, float64(n)/float64(total))
			}
			frac = min(frac, 1)
			bar := int(frac * 30)
			fmt.Fprintf(w, "\r[%-30s] %d done, %.0f/s ", strings.Repeat("#", bar), n, float64(n)/el.Seconds())
		}
	}
}
