package backendview

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mail"
	"powermail/impl/placement"
)

type fakeChecker struct {
	mu     sync.Mutex
	down   bool
	st     mail.BackendStatus
	closed bool
}

func (f *fakeChecker) Status(context.Context) (mail.BackendStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return mail.BackendStatus{}, errors.New("connection refused")
	}
	return f.st, nil
}

func (f *fakeChecker) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakeChecker) set(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// mutableSource is a membership the test edits, like rows of the table.
type mutableSource struct {
	mu  sync.Mutex
	ms  []mail.Member
	err error
}

func (s *mutableSource) Members(context.Context) ([]mail.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail.Member(nil), s.ms...), s.err
}

func newTestCluster(src Source) (*View[*fakeChecker], map[string]*fakeChecker) {
	checkers := map[string]*fakeChecker{}
	var mu sync.Mutex
	dial := func(m mail.Member) *fakeChecker {
		mu.Lock()
		defer mu.Unlock()
		f := &fakeChecker{st: mail.BackendStatus{FreeBytes: 1 << 30}}
		checkers[m.Addr] = f
		return f
	}
	cfg := Config{HealthInterval: 10 * time.Millisecond, HealthTimeout: time.Second, MembershipInterval: 10 * time.Millisecond}
	return New(cfg, src, dial, nil), checkers
}

func addrs[C Checker](ns []*Node[C]) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Addr)
	}
	return out
}

func TestMembershipChangesAtRunTime(t *testing.T) {
	src := &mutableSource{ms: []mail.Member{{Addr: "a:1", Group: "g1"}, {Addr: "b:1", Group: "g2"}}}
	c, checkers := newTestCluster(src)
	require.NoError(t, c.Refresh(context.Background()))
	assert.Equal(t, []string{"a:1", "b:1"}, addrs(c.Nodes()))

	src.mu.Lock()
	src.ms = []mail.Member{{Addr: "b:1", Group: "g2", ReadOnly: true}, {Addr: "c:1", Group: "g3"}}
	src.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	require.Eventually(t, func() bool {
		return assert.ObjectsAreEqual([]string{"b:1", "c:1"}, addrs(c.Nodes()))
	}, 2*time.Second, 5*time.Millisecond)
	assert.True(t, checkers["a:1"].closed, "removed backend's client is closed")
	require.Eventually(t, func() bool { return len(c.Reachable()) == 2 }, 2*time.Second, 5*time.Millisecond)
	assert.True(t, c.Nodes()[0].placement().ReadOnly, "operator's read-only flag follows the table")
	cancel()
	<-done
}

func TestFailedReloadKeepsPreviousList(t *testing.T) {
	src := &mutableSource{ms: []mail.Member{{Addr: "a:1", Group: "g1"}}}
	c, _ := newTestCluster(src)
	require.NoError(t, c.Refresh(context.Background()))
	src.err = errors.New("database down")
	assert.Error(t, c.Refresh(context.Background()))
	assert.Equal(t, []string{"a:1"}, addrs(c.Nodes()))
}

func TestHealthDownAndRecovery(t *testing.T) {
	src := &mutableSource{ms: []mail.Member{{Addr: "a:1", Group: "g1"}, {Addr: "b:1", Group: "g2"}}}
	c, checkers := newTestCluster(src)
	require.NoError(t, c.Refresh(context.Background()))
	checkers["a:1"].set(true)
	c.checkAll(context.Background())
	assert.Equal(t, []string{"b:1"}, addrs(c.Reachable()))

	primary, spares, err := c.Choose(placement.Request{Target: 2, Min: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"b:1"}, addrs(primary), "a down backend is never chosen")
	assert.Empty(t, spares)

	checkers["a:1"].set(false)
	c.checkAll(context.Background())
	assert.Len(t, c.Reachable(), 2, "recovery is automatic")
}

func TestMarkDownAndFullBackends(t *testing.T) {
	src := &mutableSource{ms: []mail.Member{{Addr: "a:1", Group: "g1"}, {Addr: "b:1", Group: "g2"}, {Addr: "c:1", Group: "g3"}}}
	c, checkers := newTestCluster(src)
	require.NoError(t, c.Refresh(context.Background()))
	checkers["c:1"].st = mail.BackendStatus{FreeBytes: 10, MinFreeBytes: 100}
	checkers["b:1"].st = mail.BackendStatus{FreeBytes: 1 << 30, ReadOnly: true}
	c.checkAll(context.Background())
	primary, _, err := c.Choose(placement.Request{Target: 3, Min: 1})
	require.NoError(t, err)
	assert.Equal(t, []string{"a:1"}, addrs(primary))

	c.Nodes()[0].MarkDown(errors.New("reset"))
	_, _, err = c.Choose(placement.Request{Target: 1, Min: 1})
	assert.ErrorIs(t, err, placement.ErrTooFew)
}

func TestChooseWithoutMembers(t *testing.T) {
	c, _ := newTestCluster(&mutableSource{})
	_, _, err := c.Choose(placement.Request{Target: 1, Min: 1})
	assert.ErrorIs(t, err, ErrNoMembers)
}

func TestParseMembers(t *testing.T) {
	ms, err := ParseMembers([]string{"g1:0:127.0.0.1:1101", "g2:5:127.0.0.1:1102:ro"})
	require.NoError(t, err)
	assert.Equal(t, Static{
		{Addr: "127.0.0.1:1101", Group: "g1", Priority: 0},
		{Addr: "127.0.0.1:1102", Group: "g2", Priority: 5, ReadOnly: true},
	}, ms)
	for _, bad := range []string{"127.0.0.1:1101", "g:x:h:1", "g:1:h:99999", ":1:h:1", "g:1::1"} {
		_, err := ParseMembers([]string{bad})
		assert.Error(t, err, bad)
	}
	_, err = ParseMembers([]string{"g:1:h:1", "g2:1:h:1"})
	assert.ErrorContains(t, err, "twice")
}

// TestLeastLoadFollowsTheBackendsLoad: the least-load spread prefers the
// backend with the shorter expected wait, from its STATUS and from this
// front end's own uploads in flight, which count at once.
func TestLeastLoadFollowsTheBackendsLoad(t *testing.T) {
	src := &mutableSource{ms: []mail.Member{{Addr: "slow:1", Group: "g1"}, {Addr: "fast:1", Group: "g2"}}}
	c, checkers := newTestCluster(src)
	require.NoError(t, c.Refresh(context.Background()))
	checkers["slow:1"].st = mail.BackendStatus{FreeBytes: 1 << 30, FlushWait: 20000 * time.Microsecond, Uploads: 4}
	checkers["fast:1"].st = mail.BackendStatus{FreeBytes: 1 << 30, FlushWait: 500 * time.Microsecond}
	c.checkAll(context.Background())
	least := placement.Request{Target: 1, Min: 1, Spread: placement.SpreadLeastLoad}
	for range 20 {
		primary, _, err := c.Choose(least)
		require.NoError(t, err)
		assert.Equal(t, []string{"fast:1"}, addrs(primary))
	}
	fast := c.Nodes()[0]
	require.Equal(t, "fast:1", fast.Addr)
	for range 200 { // 500 us x 201 > 20 ms x 5
		fast.StartUpload()
	}
	primary, _, err := c.Choose(least)
	require.NoError(t, err)
	assert.Equal(t, []string{"slow:1"}, addrs(primary), "this front end's own uploads count before the next check")
	for range 200 {
		fast.EndUpload()
	}
	assert.Equal(t, Load(mail.BackendStatus{FlushWait: 500 * time.Microsecond}, 0), fast.placement().Load)
}

func TestLoad(t *testing.T) {
	assert.Equal(t, 2000.0, Load(mail.BackendStatus{FlushWait: 1000 * time.Microsecond, Uploads: 1}, 0))
	assert.Equal(t, 4000.0, Load(mail.BackendStatus{FlushWait: 1000 * time.Microsecond, Uploads: 1}, 3), "the larger count of uploads")
	assert.Equal(t, Load(mail.BackendStatus{FlushWait: minFlushWait}, 0), Load(mail.BackendStatus{}, 0), "an unknown wait is the floor")
}
