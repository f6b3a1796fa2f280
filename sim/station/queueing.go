package station

import "math"

// ErlangC is the probability that an arrival waits in an M/M/c queue with
// arrival rate lambda and per-server service rate mu (Erlang's C formula).
func ErlangC(c int, lambda, mu float64) float64 {
	a := lambda / mu // offered load in erlangs
	rho := a / float64(c)
	if rho >= 1 {
		return 1
	}
	sum, term := 0.0, 1.0 // term = a^k / k!
	for k := range c {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	last := term * a / float64(c) // a^c / c!
	top := last / (1 - rho)
	return top / (sum + top)
}

// MMcResponse is the mean response time (wait + service) of an M/M/c queue.
// For c = 1 it is 1/(mu - lambda).
func MMcResponse(c int, lambda, mu float64) float64 {
	if lambda >= float64(c)*mu {
		return math.Inf(1)
	}
	return ErlangC(c, lambda, mu)/(float64(c)*mu-lambda) + 1/mu
}
