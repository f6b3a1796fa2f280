package workload

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSizesMatchTheMix(t *testing.T) {
	mix := Realistic()
	mix.TailProb = 0 // lognormal only: the mean is finite and known
	g := NewGen(mix, 10, rand.New(rand.NewPCG(1, 1)))
	const n = 200000
	sum := 0.0
	for range n {
		sum += g.SizeKiB()
	}
	if got, want := sum/n, mix.MeanSizeKiB(); math.Abs(got-want)/want > 0.03 {
		t.Errorf("mean size %.2f KiB, want %.2f", got, want)
	}
}

func TestRecipientsAndMailboxesInRange(t *testing.T) {
	g := NewGen(Realistic(), 1000, rand.New(rand.NewPCG(2, 2)))
	single := 0
	for range 100000 {
		k := g.Recipients()
		if k < 1 || k > maxRecipients {
			t.Fatalf("recipients %d", k)
		}
		if k == 1 {
			single++
		}
		if m := g.Mailbox(); m >= 1000 {
			t.Fatalf("mailbox %d out of range", m)
		}
	}
	if frac := float64(single) / 100000; math.Abs(frac-0.9) > 0.01 {
		t.Errorf("single-recipient fraction %.3f, want 0.9", frac)
	}
}

func TestFixedMix(t *testing.T) {
	g := NewGen(Fixed(4), 5, rand.New(rand.NewPCG(3, 3)))
	if g.SizeKiB() != 4 || g.Recipients() != 1 {
		t.Error("fixed mix is not fixed")
	}
}
