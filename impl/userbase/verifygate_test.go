package userbase

import (
	"context"
	"errors"
	"testing"
	"time"
)

// testGate is a gate of concurrency slots, a queue of maxWaiting, a wait
// bound, and no rest after failures unless busyPercent < 100.
func testGate(concurrency, maxWaiting int, wait time.Duration, busyPercent int) *verifyGate {
	c := Defaults()
	c.AuthVerifyConcurrency, c.AuthVerifyQueue, c.AuthVerifyWait = concurrency, maxWaiting, wait
	c.AuthVerifyBusyPercent = busyPercent
	return newVerifyGate(c)
}

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
	g := testGate(2, 1, time.Hour, 100)
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
			defer leave(0)
		}
		waiter <- err
	}()
	waitQueued(t, g, 1)
	if _, err := g.enter(ctx); !errors.Is(err, ErrVerifyBusy) {
		t.Fatalf("check beyond slots and queue: %v, want ErrVerifyBusy", err)
	}
	select {
	case err := <-waiter:
		t.Fatalf("queued check ran while every slot was busy: %v", err)
	default:
	}
	leave1(0)
	if err := <-waiter; err != nil {
		t.Fatalf("queued check after a slot was freed: %v", err)
	}
}

func TestVerifyGateWaitIsBounded(t *testing.T) {
	g := testGate(1, 10, 20*time.Millisecond, 100)
	if _, err := g.enter(context.Background()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := g.enter(context.Background()); !errors.Is(err, ErrVerifyBusy) {
		t.Fatalf("wait for a busy slot: %v, want ErrVerifyBusy", err)
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
	cfg.AuthVerifyConcurrency, cfg.AuthVerifyQueue, cfg.AuthVerifyBusyPercent = 1, 0, 100
	s := NewCached(&fakeSource{rows: rows(plainRow("a@example.com", "pw"))}, cfg, nil)
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
	leave(0)
	wantErr(t, "wrong password after the flood", auth("a@example.com", "guess"), ErrAuthFailed)
}

// TestVerifyGateRestsAfterFailures: at 10%, a slot whose check failed
// after 100 ms stays taken for 900 ms more; after a successful check it is
// free at once.
func TestVerifyGateRestsAfterFailures(t *testing.T) {
	g := testGate(1, 0, time.Hour, 10)
	ctx := context.Background()
	leave, err := g.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leave(0)
	if leave, err = g.enter(ctx); err != nil {
		t.Fatalf("slot after a successful check: %v", err)
	}
	leave(100 * time.Millisecond)
	failedAt := time.Now()
	if _, err := g.enter(ctx); !errors.Is(err, ErrVerifyBusy) {
		t.Fatalf("slot right after a failed check: %v, want ErrVerifyBusy (resting)", err)
	}
	for {
		leave, err := g.enter(ctx)
		if err == nil {
			leave(0)
			break
		}
		if time.Since(failedAt) > 10*time.Second {
			t.Fatal("slot never came back after its rest")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rested := time.Since(failedAt); rested < 900*time.Millisecond {
		t.Fatalf("slot free %v after a failed check of 100 ms, want >= 900 ms at 10%%", rested)
	}
}

func TestVerifyConfigIsValidated(t *testing.T) {
	for _, bad := range []func(*Config){
		func(c *Config) { c.AuthVerifyConcurrency = -1 },
		func(c *Config) { c.AuthVerifyQueue = -1 },
		func(c *Config) { c.AuthVerifyWait = 0 },
		func(c *Config) { c.AuthVerifyBusyPercent = 0 },
		func(c *Config) { c.AuthVerifyBusyPercent = 101 },
	} {
		c := Defaults()
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
