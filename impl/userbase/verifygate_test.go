package userbase

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitQueued waits until n checks wait in g's queue.
func waitQueued(t *testing.T, g *verifyGate, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); g.queued() != n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d checks queued, want %d", g.queued(), n)
		}
	}
}

// TestVerifyGateBoundsChecksAndQueue: two slots, a queue of one. The third
// check waits, the fourth is refused at once, and the waiter runs as soon
// as a slot is free.
func TestVerifyGateBoundsChecksAndQueue(t *testing.T) {
	g := newVerifyGate(2, 1, time.Hour)
	ctx := context.Background()
	leave1, err1 := g.enter(ctx)
	_, err2 := g.enter(ctx)
	if err1 != nil || err2 != nil {
		t.Fatalf("free slots refused: %v, %v", err1, err2)
	}
	waiter := make(chan error, 1)
	go func() {
		leave, err := g.enter(ctx)
		if err == nil {
			defer leave()
		}
		waiter <- err
	}()
	waitQueued(t, g, 1)
	if _, err := g.enter(ctx); !errors.Is(err, errVerifyBusy) {
		t.Fatalf("check beyond slots and queue: %v, want errVerifyBusy", err)
	}
	select {
	case err := <-waiter:
		t.Fatalf("queued check ran while every slot was busy: %v", err)
	default:
	}
	leave1()
	if err := <-waiter; err != nil {
		t.Fatalf("queued check after a slot was freed: %v", err)
	}
}

func TestVerifyGateWaitIsBounded(t *testing.T) {
	g := newVerifyGate(1, 10, 20*time.Millisecond)
	if _, err := g.enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := g.enter(context.Background()); !errors.Is(err, errVerifyBusy) {
		t.Fatalf("wait for a busy slot: %v, want errVerifyBusy", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("gave up after %v, before auth-verify-wait", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.enter(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	if g.queued() != 0 {
		t.Fatalf("%d waiters left in the queue", g.queued())
	}
}

// TestAuthenticateWhenChecksAreSaturated: with every slot taken and no
// queue, a login that needs a hash is temporary, the same for a wrong
// password and an unknown login (no way to tell which logins exist), while
// a login whose success is cached goes through without a slot.
func TestAuthenticateWhenChecksAreSaturated(t *testing.T) {
	cfg := cacheConfig()
	cfg.AuthVerifyConcurrency, cfg.AuthVerifyQueue = 1, 0
	s := NewStore(&fakeSource{rows: rows(plainRow("a@example.com", "pw"))}, cfg, nil)
	ctx := context.Background()
	auth := func(login, pw string) error { _, err := s.Authenticate(ctx, login, pw); return err }
	if err := auth("a@example.com", "pw"); err != nil {
		t.Fatal(err)
	}
	leave, err := s.gate.enter(ctx) // a flood holds the only slot
	if err != nil {
		t.Fatal(err)
	}
	if err := auth("a@example.com", "pw"); err != nil {
		t.Fatalf("cached login during a flood: %v", err)
	}
	wantErr(t, "wrong password", auth("a@example.com", "guess"), ErrTemporary)
	wantErr(t, "unknown login", auth("nobody@example.com", "guess"), ErrTemporary)
	leave()
	wantErr(t, "wrong password after the flood", auth("a@example.com", "guess"), ErrAuthFailed)
}

func TestVerifyConfigIsValidated(t *testing.T) {
	for _, bad := range []func(*Config){
		func(c *Config) { c.AuthVerifyConcurrency = -1 },
		func(c *Config) { c.AuthVerifyQueue = -1 },
		func(c *Config) { c.AuthVerifyWait = 0 },
	} {
		c := Defaults()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
