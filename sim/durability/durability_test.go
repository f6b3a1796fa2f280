package durability

import (
	"math"
	"testing"
)

func near(t *testing.T, what string, got, want, relTol float64) {
	t.Helper()
	if math.Abs(got-want) > relTol*math.Abs(want) {
		t.Errorf("%s = %.6g, want %.6g (within %.0f%%)", what, got, want, 100*relTol)
	}
}

// TestPowerMailClaimExact: 6 servers in 3 groups, target 3, half the
// servers fail: the exact expected loss is 1/20.
func TestPowerMailClaimExact(t *testing.T) {
	near(t, "SnapshotLoss(6,3,3)", SnapshotLoss(6, 3, 3), 0.05, 1e-12)
	near(t, "enumerated", EnumerateSnapshotLoss(Layout(6, 3), 3, 3), 0.05, 1e-12)
	near(t, "independent p=0.5", IndependentLoss(0.5, 3), 0.125, 1e-12)
}

// TestEnumerationMatchesClosedForm over layouts, including fewer groups than
// copies: a uniformly random failed set does not care how copies are laid out.
func TestEnumerationMatchesClosedForm(t *testing.T) {
	for _, c := range []struct{ n, g, r, f int }{
		{6, 3, 2, 3}, {6, 2, 3, 4}, {8, 4, 2, 2}, {9, 3, 3, 5}, {5, 5, 1, 2}, {7, 1, 2, 3},
	} {
		near(t, "enumerated", EnumerateSnapshotLoss(Layout(c.n, c.g), c.r, c.f), SnapshotLoss(c.n, c.f, c.r), 1e-12)
	}
}

func TestElemSymCountsCopySets(t *testing.T) {
	for _, c := range []struct{ n, g, r int }{{6, 3, 3}, {6, 3, 2}, {10, 4, 3}, {9, 9, 2}} {
		sizes := make([]float64, c.g)
		for _, gr := range Layout(c.n, c.g) {
			sizes[gr]++
		}
		if got, want := ElemSym(sizes, c.r), float64(len(copySets(Layout(c.n, c.g), c.r))); got != want {
			t.Errorf("%+v: ElemSym %v, copy sets %v", c, got, want)
		}
	}
	if Binom(6, 3) != 20 || Binom(3, 4) != 0 {
		t.Error("Binom")
	}
}

// TestSnapshotSimUsesRealPlacement: placing with placement.Choose gives the
// exact 5% within sampling error.
func TestSnapshotSimUsesRealPlacement(t *testing.T) {
	got, err := SnapshotSim(Layout(6, 3), 3, 3, 20000, 200, 1)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "simulated loss", got, 0.05, 0.08)
}

// TestYearsSimMatchesClosedForm at failure rates high enough to measure.
func TestYearsSimMatchesClosedForm(t *testing.T) {
	for _, c := range []struct {
		r     int
		lt    float64 // lambda * T
		years float64
	}{{2, 0.01, 2e5}, {3, 0.03, 2e5}, {3, 0.1, 5e4}} {
		p := Params{R: c.r, W: c.r, AFR: 1, RepairHours: c.lt * hoursPerYear}
		got, err := YearsSim(Layout(6, 3), p, c.years, 9)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "simulated annual loss", got, PerMessageAnnual(p), 0.1)
	}
}

// TestGroupFailuresWithDistinctGroups: whole-group failures act like disk
// failures of rate GroupAFR when each copy is in its own group.
func TestGroupFailuresWithDistinctGroups(t *testing.T) {
	p := Params{R: 2, W: 2, GroupAFR: 1, RepairHours: 0.01 * hoursPerYear}
	got, _ := YearsSim(Layout(6, 3), p, 2e5, 11)
	near(t, "group-failure loss", got, PerMessageAnnual(p), 0.1)
	// With one group, one group failure takes every copy.
	one, _ := YearsSim(Layout(6, 1), p, 2e4, 12)
	near(t, "single-group loss", one, 1, 0.05)
}

func TestDegradedFraction(t *testing.T) {
	// 3 backends, need 3, each up 99%: 1 - 0.99^3.
	near(t, "q", DegradedFraction(3, 3, 0.99), 1-math.Pow(0.99, 3), 1e-9)
	if DegradedFraction(10, 2, 1) != 0 {
		t.Error("all up: nothing degraded")
	}
}
