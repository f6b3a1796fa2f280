package quota

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
)

var box = mailbox.MustParse("ann@example.com")

// listing is a fake exact counter: the mailbox's real size, and how often
// it was asked.
type listing struct {
	size  atomic.Int64
	asked atomic.Int32
}

func (l *listing) Usage(context.Context, mailbox.Name) (int64, error) {
	l.asked.Add(1)
	return l.size.Load(), nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup() (*Meter, *listing, *clock) {
	l, c := &listing{}, &clock{t: time.Unix(1_800_000_000, 0)}
	return New(Config{}, l, c.now), l, c
}

func TestEstimateSavesListings(t *testing.T) {
	m, l, c := setup()
	ctx := context.Background()
	l.size.Store(1000)
	for i := 0; i < 100; i++ {
		used, err := m.Usage(ctx, box, false)
		require.NoError(t, err)
		assert.EqualValues(t, 1000+i*10, used, "the estimate counts what was added")
		m.Added(box, 10)
		l.size.Add(10)
		c.t = c.t.Add(100 * time.Millisecond)
	}
	assert.EqualValues(t, 1, l.asked.Load(), "one listing within EstimateTTL")
	c.t = c.t.Add(DefaultEstimateTTL)
	_, _ = m.Usage(ctx, box, false)
	assert.EqualValues(t, 2, l.asked.Load(), "recounted when the estimate is old")
}

// A refusal rests on a recent exact count: after a POP3 delete the estimate
// is too high, and the exact figure shows the room.
func TestExactCountAfterDelete(t *testing.T) {
	m, l, c := setup()
	ctx := context.Background()
	l.size.Store(5000)
	used, _ := m.Usage(ctx, box, false)
	require.EqualValues(t, 5000, used)
	l.size.Store(100) // deleted through POP3
	c.t = c.t.Add(DefaultExactTTL + time.Millisecond)
	est, _ := m.Usage(ctx, box, false)
	assert.EqualValues(t, 5000, est, "the estimate does not see the delete")
	exact, _ := m.Usage(ctx, box, true)
	assert.EqualValues(t, 100, exact)
}

// A full mailbox costs one listing per ExactTTL however much mail comes.
func TestFullMailboxRecountsAtMostPerExactTTL(t *testing.T) {
	m, l, c := setup()
	ctx := context.Background()
	l.size.Store(1 << 30)
	for i := 0; i < 50; i++ {
		_, _ = m.Usage(ctx, box, true)
		c.t = c.t.Add(100 * time.Millisecond)
	}
	assert.LessOrEqual(t, int(l.asked.Load()), 50*100/int(DefaultExactTTL/time.Millisecond)+1)
	assert.EqualValues(t, l.asked.Load(), m.Recounts())
}

func TestAddedWithoutFigureIsIgnored(t *testing.T) {
	m, l, _ := setup()
	m.Added(box, 10)
	used, _ := m.Usage(context.Background(), box, false)
	assert.Zero(t, used)
	assert.EqualValues(t, 1, l.asked.Load())
}
