// Package gen draws the random parts of a load: message sizes, recipients
// and open-loop arrival times. Every generator is seeded, so a run with the
// same flags offers the same workload.
package gen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// NewRand returns a generator for worker w of a run seeded with seed.
func NewRand(seed uint64, w int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(w)+1))
}

// Sizes draws message sizes in bytes.
type Sizes struct {
	Dist  string  // "fixed", "lognormal" (median Bytes) or "pareto" (minimum Bytes)
	Bytes int     // fixed size, lognormal median or Pareto minimum
	Sigma float64 // lognormal shape (1.0 gives a heavy tail)
	Alpha float64 // Pareto tail index (1.2-1.5 is typical of mail)
	Max   int     // cap of drawn sizes
}

// Validate rejects impossible parameters.
func (s Sizes) Validate() error {
	switch {
	case s.Bytes < 1:
		return fmt.Errorf("gen: size %d < 1", s.Bytes)
	case s.Dist == "lognormal" && s.Sigma <= 0:
		return fmt.Errorf("gen: lognormal needs sigma > 0")
	case s.Dist == "pareto" && s.Alpha <= 0:
		return fmt.Errorf("gen: pareto needs alpha > 0")
	case s.Dist != "fixed" && s.Dist != "lognormal" && s.Dist != "pareto":
		return fmt.Errorf("gen: unknown size distribution %q (fixed, lognormal, pareto)", s.Dist)
	case s.Dist != "fixed" && s.Max < s.Bytes:
		return fmt.Errorf("gen: size max %d < size %d", s.Max, s.Bytes)
	}
	return nil
}

// Draw returns one size.
func (s Sizes) Draw(r *rand.Rand) int {
	var x float64
	switch s.Dist {
	case "lognormal":
		x = float64(s.Bytes) * math.Exp(s.Sigma*r.NormFloat64())
	case "pareto":
		// Inverse transform: xm / U^(1/alpha), U in (0,1].
		x = float64(s.Bytes) / math.Pow(1-r.Float64(), 1/s.Alpha)
	default:
		return s.Bytes
	}
	return int(min(max(x, 1), float64(s.Max)))
}

// Mailboxes picks recipients among N mailboxes numbered 0..N-1.
type Mailboxes struct {
	N    int
	Zipf float64 // 0: uniform; > 1: Zipf exponent s (popular mailboxes get more mail)
}

// Picker draws mailbox numbers for one worker.
type Picker struct {
	r    *rand.Rand
	n    int
	zipf *rand.Zipf
}

// NewPicker returns a picker using r.
func (m Mailboxes) NewPicker(r *rand.Rand) *Picker {
	p := &Picker{r: r, n: m.N}
	if m.Zipf > 1 && m.N > 1 {
		p.zipf = rand.NewZipf(r, m.Zipf, 1, uint64(m.N-1))
	}
	return p
}

// Distinct returns k distinct mailbox numbers (k is capped at N).
func (p *Picker) Distinct(dst []int, k int) []int {
	k = min(k, p.n)
	dst = dst[:0]
	for len(dst) < k {
		v := p.one()
		if !contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}

func (p *Picker) one() int {
	if p.zipf != nil {
		return int(p.zipf.Uint64())
	}
	return p.r.IntN(p.n)
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Arrivals yields the intended times of a Poisson process of the given
// rate: exponential gaps (an open-loop client that does not wait for the
// server, so queueing shows in latency).
type Arrivals struct {
	r    *rand.Rand
	mean float64 // seconds between arrivals
	next time.Duration
}

// NewArrivals starts at offset 0.
func NewArrivals(r *rand.Rand, perSecond float64) *Arrivals {
	return &Arrivals{r: r, mean: 1 / perSecond}
}

// Next returns the offset from the start of the run of the next arrival.
func (a *Arrivals) Next() time.Duration {
	t := a.next
	a.next += time.Duration(a.r.ExpFloat64() * a.mean * float64(time.Second))
	return t
}
