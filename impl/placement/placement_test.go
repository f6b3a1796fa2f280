package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"powermail/impl/mail"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

func up(id, group string, prio int, free int64) Candidate {
	return Candidate{ID: id, Group: group, Priority: prio, Up: true, FreeBytes: free}
}

func ids(bs []Candidate) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.ID
	}
	return out
}

func groupsOf(bs []Candidate) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Group
	}
	return out
}

func TestChooseTable(t *testing.T) {
	down := up("down", "a", 0, 100)
	down.Up = false
	ro := up("ro", "b", 0, 100)
	ro.ReadOnly = true
	full := up("full", "c", 0, 100)
	full.BelowFreeFloor = true
	tests := []struct {
		name     string
		in       []Candidate
		req      Request
		primary  []string // nil: only check the count
		nPrimary int
		spares   int
		err      error
	}{
		{"skips down, read-only and full", []Candidate{down, ro, full, up("ok", "d", 0, 1)},
			Request{Target: 1, Min: 1}, []string{"ok"}, 1, 0, nil},
		{"too few for min", []Candidate{down, ro, up("ok", "d", 0, 1)},
			Request{Target: 2, Min: 2}, nil, 0, 0, ErrTooFew},
		{"degrades to min when target cannot be met", []Candidate{down, up("x", "a", 0, 1), up("y", "b", 0, 1)},
			Request{Target: 3, Min: 2}, nil, 2, 0, nil},
		{"priority wins within a group", []Candidate{up("low", "a", 5, 1<<40), up("high", "a", 1, 1)},
			Request{Target: 1, Min: 1, Spread: SpreadMostFree}, []string{"high"}, 1, 1, nil},
		{"most free breaks priority ties", []Candidate{up("small", "a", 1, 10), up("big", "a", 1, 1000)},
			Request{Target: 1, Min: 1, Spread: SpreadMostFree}, []string{"big"}, 1, 1, nil},
		{"least load breaks priority ties", []Candidate{
			{ID: "busy", Group: "a", Up: true, Load: 3}, {ID: "idle", Group: "a", Up: true, Load: 0.1}},
			Request{Target: 1, Min: 1, Spread: SpreadLeastLoad}, []string{"idle"}, 1, 1, nil},
		{"second replica reuses a group only when groups run out", []Candidate{
			up("a1", "a", 0, 1), up("a2", "a", 0, 1)},
			Request{Target: 2, Min: 2}, nil, 2, 0, nil},
		{"spares keep the remaining eligible backends", []Candidate{
			up("a1", "a", 0, 1), up("a2", "a", 0, 1), up("b1", "b", 0, 1), up("c1", "c", 0, 1)},
			Request{Target: 2, Min: 1}, nil, 2, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Choose(tc.in, tc.req, seeded(1))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.primary != nil && !slices.Equal(ids(c.Primary), tc.primary) {
				t.Errorf("primary = %v, want %v", ids(c.Primary), tc.primary)
			}
			if len(c.Primary) != tc.nPrimary || len(c.Spares) != tc.spares {
				t.Errorf("got %d primary, %d spares; want %d, %d", len(c.Primary), len(c.Spares), tc.nPrimary, tc.spares)
			}
		})
	}
}

func TestChooseRejectsBadInput(t *testing.T) {
	dup := []Candidate{up("x", "a", 0, 1), up("x", "b", 0, 1)}
	if _, err := Choose(dup, Request{Target: 2, Min: 2}, seeded(1)); err == nil {
		t.Error("Choose accepted a backend listed twice")
	}
	for _, req := range []Request{{Target: 0, Min: 0}, {Target: 1, Min: 2}, {Target: 2, Min: 0}} {
		if _, err := Choose([]Candidate{up("x", "a", 0, 1)}, req, seeded(1)); err == nil {
			t.Errorf("Choose(%+v) accepted a bad request", req)
		}
	}
}

// TestSpreadFreeIsWeighted checks the weighted draw: a backend with 9x the free
// space is first about 90% of the time.
func TestSpreadFreeIsWeighted(t *testing.T) {
	in := []Candidate{up("big", "a", 0, 900), up("small", "a", 0, 100)}
	const draws = 10000
	rng := seeded(7)
	big := 0
	for range draws {
		c, err := Choose(in, Request{Target: 1, Min: 1, Spread: SpreadFree}, rng)
		if err != nil {
			t.Fatal(err)
		}
		if c.Primary[0].ID == "big" {
			big++
		}
	}
	if frac := float64(big) / draws; frac < 0.87 || frac > 0.93 {
		t.Errorf("big chosen %.3f of the time, want about 0.9", frac)
	}
}

// randomCluster builds a cluster of n backends in up to g groups with random
// states, from rng.
func randomCluster(rng *rand.Rand, n, g int) []Candidate {
	bs := make([]Candidate, n)
	for i := range bs {
		bs[i] = Candidate{
			ID: fmt.Sprintf("b%02d", i), Group: fmt.Sprintf("g%d", rng.IntN(g)),
			Priority: rng.IntN(3), Up: rng.IntN(5) > 0, ReadOnly: rng.IntN(6) == 0,
			BelowFreeFloor: rng.IntN(8) == 0, FreeBytes: rng.Int64N(1 << 40), Load: rng.Float64() * 4,
		}
	}
	return bs
}

func distinctGroups(bs []Candidate) int {
	seen := map[string]bool{}
	for _, b := range bs {
		if b.Eligible() {
			seen[b.Group] = true
		}
	}
	return len(seen)
}

// TestChooseProperties checks, over many random clusters: only eligible
// backends are chosen, each at most once; primaries are in distinct groups
// whenever there are enough groups; the result does not depend on input order
// and is the same for the same seed.
func TestChooseProperties(t *testing.T) {
	gen := seeded(42)
	for iter := range 2000 {
		bs := randomCluster(gen, 1+gen.IntN(12), 1+gen.IntN(5))
		req := Request{Target: 1 + gen.IntN(3), Spread: Spread(gen.IntN(4))}
		req.Min = 1 + gen.IntN(req.Target)
		seed := gen.Uint64()
		c, err := Choose(bs, req, seeded(seed))
		if err != nil {
			if !errors.Is(err, ErrTooFew) {
				t.Fatalf("iter %d: unexpected error %v", iter, err)
			}
			continue
		}
		checkChoice(t, iter, bs, req, c)
		shuffled := slices.Clone(bs)
		gen.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		again, _ := Choose(shuffled, req, seeded(seed))
		if !slices.Equal(ids(c.Primary), ids(again.Primary)) || !slices.Equal(ids(c.Spares), ids(again.Spares)) {
			t.Fatalf("iter %d: not deterministic: %v/%v vs %v/%v", iter, ids(c.Primary), ids(c.Spares), ids(again.Primary), ids(again.Spares))
		}
	}
}

func checkChoice(t *testing.T, iter int, bs []Candidate, req Request, c Choice) {
	t.Helper()
	all := append(slices.Clone(c.Primary), c.Spares...)
	seen := map[string]bool{}
	eligible := 0
	for _, b := range bs {
		if b.Eligible() {
			eligible++
		}
	}
	for _, b := range all {
		if !b.Eligible() || seen[b.ID] {
			t.Fatalf("iter %d: ineligible or repeated backend %+v", iter, b)
		}
		seen[b.ID] = true
	}
	if len(all) != eligible || len(c.Primary) != min(req.Target, eligible) {
		t.Fatalf("iter %d: %d primary + %d spares of %d eligible, target %d", iter, len(c.Primary), len(c.Spares), eligible, req.Target)
	}
	want := min(len(c.Primary), distinctGroups(bs))
	got := map[string]bool{}
	for _, g := range groupsOf(c.Primary) {
		got[g] = true
	}
	if len(got) != want {
		t.Fatalf("iter %d: primaries span %d groups, want %d: %v", iter, len(got), want, groupsOf(c.Primary))
	}
}

// TestChooserReuseMatchesChoose: a Chooser that keeps its buffers gives
// what a fresh Choose gives, whether the identities of the backends
// changed since the last call (the canonical order is rebuilt) or only
// their state did (it is reused).
func TestChooserReuseMatchesChoose(t *testing.T) {
	gen := seeded(9)
	var c Chooser
	bs := randomCluster(gen, 10, 3)
	for iter := range 1000 {
		switch gen.IntN(3) {
		case 0:
			bs = randomCluster(gen, 1+gen.IntN(12), 1+gen.IntN(5))
		case 1:
			i := gen.IntN(len(bs))
			bs[i].Up, bs[i].FreeBytes, bs[i].Load = !bs[i].Up, gen.Int64N(1<<40), gen.Float64()
		}
		req := Request{Target: 1 + gen.IntN(3), Min: 1, Spread: Spread(gen.IntN(4))}
		seed := gen.Uint64()
		want, werr := Choose(bs, req, seeded(seed))
		got, gerr := c.Choose(bs, req, seeded(seed))
		if (werr == nil) != (gerr == nil) || !slices.Equal(ids(want.Primary), ids(got.Primary)) || !slices.Equal(ids(want.Spares), ids(got.Spares)) {
			t.Fatalf("iter %d: Chooser %v/%v %v, Choose %v/%v %v", iter, ids(got.Primary), ids(got.Spares), gerr, ids(want.Primary), ids(want.Spares), werr)
		}
	}
}

// TestOrderingsApplyAcrossGroups: with one backend per group (the usual
// layout), least-load and most-free still pick the least loaded and the
// emptiest backends first.
func TestOrderingsApplyAcrossGroups(t *testing.T) {
	bs := []Candidate{
		{ID: "a", Group: "1", Up: true, Load: 5, FreeBytes: 10},
		{ID: "b", Group: "2", Up: true, Load: 1, FreeBytes: 30},
		{ID: "c", Group: "3", Up: true, Load: 3, FreeBytes: 20},
	}
	for seed := range uint64(50) {
		c, err := Choose(bs, Request{Target: 2, Min: 1, Spread: SpreadLeastLoad}, seeded(seed))
		if err != nil || !slices.Equal(ids(c.Primary), []string{"b", "c"}) || !slices.Equal(ids(c.Spares), []string{"a"}) {
			t.Fatalf("least-load: %v %v %v", ids(c.Primary), ids(c.Spares), err)
		}
		c, err = Choose(bs, Request{Target: 1, Min: 1, Spread: SpreadMostFree}, seeded(seed))
		if err != nil || !slices.Equal(ids(c.Primary), []string{"b"}) {
			t.Fatalf("most-free: %v %v", ids(c.Primary), err)
		}
	}
}

func TestParseNames(t *testing.T) {
	for _, s := range []string{"free", "most-free", "least-load", "random"} {
		if sp, err := ParseSpread(s); err != nil || sp.String() != s {
			t.Errorf("ParseSpread(%q) = %v, %v", s, sp, err)
		}
	}
	if p, err := ParsePolicy("rendezvous"); err != nil || p != Rendezvous {
		t.Errorf("ParsePolicy: %v %v", p, err)
	}
	for _, bad := range []string{"", "Rendezvous", "load"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
		if _, err := ParseSpread(bad); err == nil {
			t.Errorf("ParseSpread(%q) accepted", bad)
		}
	}
}

func BenchmarkChoose(b *testing.B) {
	bs := randomCluster(seeded(1), 64, 8)
	rng := seeded(2)
	req := Request{Target: 3, Min: 2, Spread: SpreadFree}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Choose(bs, req, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// bigCluster is 1,000 eligible backends in 100 racks: the simulator's
// speed run.
func bigCluster() []Candidate {
	bs := randomCluster(seeded(1), 1000, 100)
	for i := range bs {
		bs[i].Up, bs[i].ReadOnly, bs[i].BelowFreeFloor, bs[i].Priority = true, false, false, 0
	}
	return bs
}

// BenchmarkChoose1000: the package function, which allocates its result.
func BenchmarkChoose1000(b *testing.B) {
	bs, rng := bigCluster(), seeded(2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Choose(bs, Request{Target: 2, Min: 2}, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChooser1000: what the simulator runs per message; no allocation.
func BenchmarkChooser1000(b *testing.B) {
	bs, rng := bigCluster(), seeded(2)
	var c Chooser
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Choose(bs, Request{Target: 2, Min: 2}, rng); err != nil {
			b.Fatal(err)
		}
	}
}

// A backend is read-only by the operator's mark or its own, full below its
// floor, and a free space beyond int64 does not wrap negative.
func TestObserved(t *testing.T) {
	m := mail.Member{Addr: "a:1", Group: "g", Priority: 2}
	st := mail.BackendStatus{FreeBytes: 1 << 63, MinFreeBytes: 10}
	if b := Observed(m, st, true); !b.Eligible() || b.ID != "a:1" || b.Group != "g" || b.Priority != 2 || b.FreeBytes != 1<<62 {
		t.Errorf("healthy backend: %+v", b)
	}
	for name, c := range map[string]struct {
		m  mail.Member
		st mail.BackendStatus
		up bool
	}{
		"down":             {m, st, false},
		"marked read-only": {mail.Member{Addr: "a:1", ReadOnly: true}, st, true},
		"itself read-only": {m, mail.BackendStatus{FreeBytes: 1 << 30, ReadOnly: true}, true},
		"below its floor":  {m, mail.BackendStatus{FreeBytes: 5, MinFreeBytes: 10}, true},
	} {
		if Observed(c.m, c.st, c.up).Eligible() {
			t.Errorf("%s: eligible", name)
		}
	}
}
