package lru

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestExpiry(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string, int](10, clk.now)
	c.Put("a", 1, time.Minute)
	c.Put("b", 2, time.Second)
	clk.t = clk.t.Add(time.Second - 1)
	if v, ok := c.Get("b"); !ok || v != 2 {
		t.Fatalf("b before expiry: %v %v", v, ok)
	}
	clk.t = clk.t.Add(1)
	if _, ok := c.Get("b"); ok {
		t.Fatal("b served at its expiry instant")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a: %v %v", v, ok)
	}
	if c.Len() != 1 {
		t.Fatalf("expired entry not dropped on Get: len %d", c.Len())
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := New[int, int](3, nil)
	for i := range 3 {
		c.Put(i, i, time.Hour)
	}
	c.Get(0) // 1 is now the least recently used
	c.Put(3, 3, time.Hour)
	if _, ok := c.Get(1); ok {
		t.Fatal("least recently used entry survived")
	}
	for _, k := range []int{0, 2, 3} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("entry %d evicted", k)
		}
	}
	if c.Len() != 3 {
		t.Fatalf("len %d, want 3", c.Len())
	}
}

func TestDisabledAndReplace(t *testing.T) {
	off := New[string, int](0, nil)
	off.Put("a", 1, time.Hour)
	if _, ok := off.Get("a"); ok {
		t.Fatal("disabled cache stored a value")
	}
	c := New[string, int](2, nil)
	c.Put("a", 1, time.Hour)
	c.Put("a", 2, time.Hour)
	c.Put("z", 0, 0)
	if v, _ := c.Get("a"); v != 2 || c.Len() != 1 {
		t.Fatalf("replace: v=%d len=%d", v, c.Len())
	}
	c.Delete("a")
	if _, ok := c.Get("a"); ok {
		t.Fatal("deleted entry returned")
	}
}

func TestConcurrentUseStaysBounded(t *testing.T) {
	c := New[string, int](50, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				k := fmt.Sprint(g, i%100)
				c.Put(k, i, time.Hour)
				c.Get(k)
			}
		})
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Fatalf("len %d exceeds bound", c.Len())
	}
}
