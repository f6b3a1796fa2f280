// Package workload draws the simulated traffic: message sizes, recipient
// counts and mailbox choices, all from one seeded generator.
//
// The distributions follow the usual measurements of mail traffic: most
// messages are a few KiB, a heavy (Pareto) tail of attachments carries much of
// the volume, and most messages have one recipient with a long tail of
// mailing-list fan-out. The parameters are in Mix so a researcher can set them
// to loadgen's or to a trace's.
package workload

import (
	"math"
	"math/rand/v2"
)

// Limits from PowerMail 1.9 and RFC 5321 section 4.5.3.1.
const (
	maxMessageKiB = 25000 // PowerMail's max-msg-kb
	maxRecipients = 100   // RFC 5321 4.5.3.1.8: at least 100 must be accepted
)

// Mix describes message sizes and recipient counts.
type Mix struct {
	FixedKiB      float64 `json:"fixed_kib"`       // > 0: every message has this size
	BodyMedianKiB float64 `json:"body_median_kib"` // lognormal body
	BodySigma     float64 `json:"body_sigma"`
	TailProb      float64 `json:"tail_prob"`       // probability a message is drawn from the tail
	TailMinKiB    float64 `json:"tail_min_kib"`    // Pareto scale
	TailAlpha     float64 `json:"tail_alpha"`      // Pareto shape (< 2: infinite variance)
	MultiRcptProb float64 `json:"multi_rcpt_prob"` // probability of more than one recipient
	RcptAlpha     float64 `json:"rcpt_alpha"`      // Pareto shape of the extra recipients
	ZipfS         float64 `json:"zipf_s"`          // > 1: mailbox popularity is Zipf(s); else uniform
}

// Realistic is the default heavy-tailed mix: loadgen's lognormal body
// (median 4 KiB, sigma 1) plus a 5% Pareto tail of attachments; mean about
// 29 KiB.
func Realistic() Mix {
	return Mix{BodyMedianKiB: 4, BodySigma: 1.0, TailProb: 0.05, TailMinKiB: 64, TailAlpha: 1.3,
		MultiRcptProb: 0.1, RcptAlpha: 1.2}
}

// Fixed is the benchmark suite's mix: one size, one recipient, uniform mailboxes.
func Fixed(kib float64) Mix { return Mix{FixedKiB: kib} }

// Gen draws from a Mix.
type Gen struct {
	mix  Mix
	rng  *rand.Rand
	zipf *rand.Zipf
	n    uint64
}

// NewGen returns a generator over mailboxes [0, mailboxes).
func NewGen(mix Mix, mailboxes uint64, rng *rand.Rand) *Gen {
	g := &Gen{mix: mix, rng: rng, n: mailboxes}
	if mix.ZipfS > 1 {
		g.zipf = rand.NewZipf(rng, mix.ZipfS, 1, mailboxes-1)
	}
	return g
}

// SizeKiB draws a message size.
func (g *Gen) SizeKiB() float64 {
	m := g.mix
	if m.FixedKiB > 0 {
		return m.FixedKiB
	}
	if g.rng.Float64() < m.TailProb {
		return min(maxMessageKiB, pareto(g.rng, m.TailMinKiB, m.TailAlpha))
	}
	return min(maxMessageKiB, m.BodyMedianKiB*math.Exp(m.BodySigma*g.rng.NormFloat64()))
}

// Recipients draws how many mailboxes a message is addressed to.
func (g *Gen) Recipients() int {
	if g.rng.Float64() >= g.mix.MultiRcptProb {
		return 1
	}
	return min(maxRecipients, 1+int(pareto(g.rng, 1, g.mix.RcptAlpha)))
}

// Mailbox draws a mailbox number.
func (g *Gen) Mailbox() uint32 {
	if g.zipf != nil {
		return uint32(g.zipf.Uint64())
	}
	return uint32(g.rng.Uint64N(g.n))
}

// AnyMailbox draws a mailbox uniformly, whatever the mix's popularity: POP3
// clients poll on a timer, not in proportion to the mail they get.
func (g *Gen) AnyMailbox() uint32 { return uint32(g.rng.Uint64N(g.n)) }

// Exp draws an exponential interval with the given mean: the gap between
// Poisson arrivals.
func (g *Gen) Exp(mean float64) float64 { return g.rng.ExpFloat64() * mean }

// MeanSizeKiB is the expected message size (without the cap), for reports.
func (m Mix) MeanSizeKiB() float64 {
	if m.FixedKiB > 0 {
		return m.FixedKiB
	}
	body := m.BodyMedianKiB * math.Exp(m.BodySigma*m.BodySigma/2)
	tail := math.Inf(1)
	if m.TailAlpha > 1 {
		tail = m.TailAlpha * m.TailMinKiB / (m.TailAlpha - 1)
	}
	return (1-m.TailProb)*body + m.TailProb*tail
}

func pareto(rng *rand.Rand, xm, alpha float64) float64 {
	return xm / math.Pow(1-rng.Float64(), 1/alpha)
}
