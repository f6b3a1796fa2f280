package repair

import (
	"context"
	"sync"
	"time"

	"powermail/impl/mail"
	"powermail/impl/placement"
	"powermail/impl/ppclient"
)

// Node is one member of the cluster as the operator configured it (the
// userbase backends table or a static list), and a client to reach it.
type Node struct {
	mail.Member
	Client *ppclient.Client
}

// State is a backend's answer to STATUS, or why there was none.
type State struct {
	Node
	Up     bool
	Status mail.BackendStatus
	Err    error
}

// Writable reports whether the backend may receive copies: up, not
// read-only by the operator's mark or its own, and above its free-space
// floor (placement.Candidate.Eligible, the front ends' rule).
func (s State) Writable() bool { return s.placement().Eligible() }

func (s State) placement() placement.Candidate {
	return placement.Observed(s.Member, s.Status, s.Up)
}

// probeTimeout bounds one STATUS; a backend that takes longer counts as down.
const probeTimeout = 5 * time.Second

// Probe asks every backend for its STATUS, concurrently, and returns the
// states in the order of backends.
func Probe(ctx context.Context, backends []Node) []State {
	out := make([]State, len(backends))
	forEach(len(backends), len(backends), func(i int) {
		pctx, cancel := context.WithTimeout(ctx, probeTimeout)
		defer cancel()
		st, err := backends[i].Client.Status(pctx)
		out[i] = State{Node: backends[i], Up: err == nil, Status: st, Err: err}
	})
	return out
}

// forEach runs f(0..n-1) on at most limit goroutines and waits for all.
func forEach(n, limit int, f func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}
