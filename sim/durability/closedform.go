// Package durability answers how likely an acknowledged message is to be
// lost, in closed form and by simulation, for a given replica count R, write
// quorum W, layout of backends in failure domains (groups), disk annual
// failure rate and repair time.
//
// Placement is as in powermail/impl/placement: the R copies of a message sit
// on R distinct backends in min(R, groups) distinct groups, uniformly within
// a group. The closed forms below assume R <= groups (one copy per group);
// the enumeration and the simulations check them.
package durability

import "math"

// Binom is the binomial coefficient C(n, k) as a float.
func Binom(n, k int) float64 {
	if k < 0 || k > n {
		return 0
	}
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// SnapshotLoss is the expected fraction of messages lost when exactly failed
// of n backends fail at once, chosen uniformly: a message survives unless all
// R of its (distinct) backends are among the failed, so the answer is
// C(n-R, failed-R) / C(n, failed) whatever the group layout.
func SnapshotLoss(n, failed, r int) float64 {
	return Binom(n-r, failed-r) / Binom(n, failed)
}

// IndependentLoss is the expected fraction lost when every backend fails
// independently with probability p: p^R.
func IndependentLoss(p float64, r int) float64 { return math.Pow(p, float64(r)) }

// ElemSym is the elementary symmetric polynomial e_k(x): the number of ways
// to take one backend from each of k distinct groups when group g offers
// x[g] backends. The number of copy sets of a one-copy-per-group placement
// is ElemSym(groupSizes, R).
func ElemSym(x []float64, k int) float64 {
	e := make([]float64, k+1) // e[j] over the groups seen so far
	e[0] = 1
	for _, v := range x {
		for j := k; j >= 1; j-- {
			e[j] += e[j-1] * v
		}
	}
	return e[k]
}

// Params describe failures and repair over a year.
type Params struct {
	R, W        int
	AFR         float64 // disk losses per backend-year
	GroupAFR    float64 // whole-group losses per group-year (fire, flood, a rack's power)
	RepairHours float64 // time to re-create a lost disk's copies elsewhere
	// DegradedFrac is the fraction of messages acknowledged with only W
	// copies (fewer than R backends were eligible); they stay at W copies
	// for DegradedHours, until repair tops them up.
	DegradedFrac  float64
	DegradedHours float64
}

const hoursPerYear = 365.25 * 24

// PerMessageAnnual is the probability that a given acknowledged message is
// lost within a year, with its copies in distinct groups (R <= groups). Each
// copy alternates between up (failing at rate lambda) and in repair (for T),
// independently of the others because they are in distinct groups: it is in
// repair a fraction u = lambda*T/(1+lambda*T) of the time. A message with k
// copies is lost when an up copy fails while the other k-1 are in repair:
// rate k*lambda*(1-u)*u^(k-1), about k*lambda*(lambda*T)^(k-1) (valid while
// the result is << 1). A copy fails with its disk or its group: lambda =
// AFR + GroupAFR. Degraded messages add the chance that all W of their
// copies fail within their window.
func PerMessageAnnual(p Params) float64 {
	lambda := p.AFR + p.GroupAFR
	t := p.RepairHours / hoursPerYear
	full := lossRate(p.R, lambda, t)
	td := p.DegradedHours / hoursPerYear
	degraded := math.Pow(lambda*td, float64(p.W)) + float64(p.W)*lambda*td*math.Pow(lambda*t, float64(p.W-1))
	return (1-p.DegradedFrac)*full + p.DegradedFrac*math.Min(1, degraded)
}

// lossRate is k*lambda*(1-u)*u^(k-1) with u the fraction of time a copy is
// in repair.
func lossRate(k int, lambda, repairYears float64) float64 {
	u := lambda * repairYears / (1 + lambda*repairYears)
	return float64(k) * lambda * (1 - u) * math.Pow(u, float64(k-1))
}

// ClusterAnyLossAnnual is the probability that a cluster of n backends loses
// at least one message within a year, when it holds so many messages that
// every copy set is in use (random placement, the PowerMail case): any R
// backends failing within one repair window lose data. Rate: n*lambda times
// the chance that R-1 of the other n-1 are in repair.
func ClusterAnyLossAnnual(n int, p Params) float64 {
	lambda := p.AFR + p.GroupAFR
	t := p.RepairHours / hoursPerYear
	u := lambda * t / (1 + lambda*t)
	rate := float64(n) * lambda * (1 - u) * Binom(n-1, p.R-1) * math.Pow(u, float64(p.R-1))
	return 1 - math.Exp(-rate)
}

// DegradedFraction is the probability that fewer than r of n backends are
// up when each is up with probability avail: the fraction of messages that
// placement cannot give r copies.
func DegradedFraction(n, r int, avail float64) float64 {
	q := 0.0
	for k := 0; k < r && k <= n; k++ {
		q += Binom(n, k) * math.Pow(avail, float64(k)) * math.Pow(1-avail, float64(n-k))
	}
	return q
}
