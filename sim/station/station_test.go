package station

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simulate feeds a station Poisson arrivals with exponential service and
// returns the mean response time and the utilisation.
func simulate(c int, lambda, mu float64, jobs int, seed uint64) (meanResp, util float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := New(c)
	now, total := 0.0, 0.0
	for range jobs {
		now += rng.ExpFloat64() / lambda
		total += s.Submit(now, rng.ExpFloat64()/mu) - now
	}
	return total / float64(jobs), s.Utilisation(now)
}

// TestMM1 checks the textbook result E[T] = 1/(mu - lambda) at several loads.
func TestMM1(t *testing.T) {
	const mu = 1000.0 // 1 ms mean service
	for _, rho := range []float64{0.3, 0.6, 0.8} {
		got, util := simulate(1, rho*mu, mu, 400000, 7)
		want := 1 / (mu - rho*mu)
		if math.Abs(got-want)/want > 0.05 {
			t.Errorf("rho %.1f: mean response %.4g s, want %.4g (M/M/1)", rho, got, want)
		}
		if math.Abs(util-rho) > 0.02 {
			t.Errorf("rho %.1f: utilisation %.3f", rho, util)
		}
		if math.Abs(MMcResponse(1, rho*mu, mu)-want) > 1e-12 {
			t.Errorf("MMcResponse(1) = %v, want %v", MMcResponse(1, rho*mu, mu), want)
		}
	}
}

// TestMMc checks multi-server stations against Erlang C.
func TestMMc(t *testing.T) {
	const mu = 500.0
	for _, c := range []int{2, 4} {
		lambda := 0.75 * float64(c) * mu
		got, _ := simulate(c, lambda, mu, 400000, uint64(c))
		want := MMcResponse(c, lambda, mu)
		if math.Abs(got-want)/want > 0.05 {
			t.Errorf("c=%d: mean response %.4g s, want %.4g (Erlang C)", c, got, want)
		}
	}
}

// TestErlangCKnownValue: c=2, a=1 erlang gives C = 1/3.
func TestErlangCKnownValue(t *testing.T) {
	if got := ErlangC(2, 1, 1); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("ErlangC(2, a=1) = %v, want 1/3", got)
	}
}

func TestSubmitOutOfOrderPanics(t *testing.T) {
	s := New(1)
	s.Submit(2, 1)
	defer func() {
		if recover() == nil {
			t.Error("arrival before the previous one was accepted")
		}
	}()
	s.Submit(1, 1)
}
