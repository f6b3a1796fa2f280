package gen

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSizes(t *testing.T) {
	r := NewRand(7, 0)
	ln := Sizes{Dist: "lognormal", Bytes: 4096, Sigma: 1, Max: 10 << 20}
	require.NoError(t, ln.Validate())
	var xs []int
	for range 20001 {
		xs = append(xs, ln.Draw(r))
	}
	slices.Sort(xs)
	med := xs[len(xs)/2]
	require.InDelta(t, 4096, med, 300, "lognormal median")
	require.Greater(t, xs[len(xs)*999/1000], 8*4096, "heavy tail")

	pa := Sizes{Dist: "pareto", Bytes: 2000, Alpha: 1.5, Max: 1 << 20}
	for range 1000 {
		x := pa.Draw(r)
		require.GreaterOrEqual(t, x, 2000)
		require.LessOrEqual(t, x, 1<<20)
	}
	require.Error(t, Sizes{Dist: "weird", Bytes: 1}.Validate())
}

func TestPickerDistinctAndZipf(t *testing.T) {
	p := Mailboxes{N: 100, Zipf: 1.2}.NewPicker(NewRand(1, 0))
	counts := make([]int, 100)
	var got []int
	for range 2000 {
		got = p.Distinct(got, 5)
		require.Len(t, got, 5)
		for i, v := range got {
			require.NotContains(t, got[i+1:], v)
			counts[v]++
		}
	}
	require.Greater(t, counts[0], counts[50]*3, "popular mailbox 0")
	require.Len(t, Mailboxes{N: 3}.NewPicker(NewRand(1, 0)).Distinct(nil, 10), 3)
}

func TestArrivalsRate(t *testing.T) {
	a := NewArrivals(NewRand(3, 0), 1000)
	var last time.Duration
	for range 10000 {
		last = a.Next()
	}
	require.InDelta(t, 10.0, last.Seconds(), 0.5)
	require.False(t, math.IsNaN(last.Seconds()))
}
