package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"powermail/impl/mailbox"
	"powermail/impl/userbase"
)

// lookupWorkers matches the SMTP concurrency of the throughput scenarios.
const (
	lookupWorkers   = 8
	lookupMailboxes = 1000
)

// userbaseLookup measures the engines themselves (caches off), as
// powersmtp's RCPT would see them on a cache miss, through the same
// userbase.Cached the daemons use.
func userbaseLookup(ctx context.Context, e *env) (*Result, error) {
	sqlite := userbase.Defaults()
	sqlite.Path = filepath.Join(e.opt.WorkDir, "lookup.db")
	engines := map[string]userbase.Config{"sqlite": sqlite}
	var notes []string
	if e.opt.MySQL != "" {
		my := userbase.Defaults()
		my.Driver, my.DSN, my.TablePrefix = userbase.DriverMySQL, e.opt.MySQL, "pmbench_"
		engines["mariadb"] = my
	} else {
		notes = append(notes, "MariaDB not measured: no DSN given (make bench BENCH_MYSQL_DSN=...)")
	}
	dur := pick(e, 4*time.Second, time.Second)
	samples := make([]sample, e.opt.Runs)
	for name, cfg := range engines {
		cfg.CachePositiveTTL, cfg.CacheNegativeTTL = 0, 0
		store, err := prepareUserbase(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for i := range samples {
			if samples[i] == nil {
				samples[i] = sample{}
			}
			rate, err := lookupRate(ctx, store, dur)
			if err != nil {
				store.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			samples[i][name+"_lookups_per_sec"] = rate
		}
		store.Close()
	}
	r := aggregate(map[string]any{"mailboxes": lookupMailboxes, "workers": lookupWorkers,
		"duration": dur.String(), "caches": "off", "mysql_dsn_host": "loopback"}, samples, nil)
	r.Notes = notes
	return r, nil
}

func prepareUserbase(ctx context.Context, cfg userbase.Config) (*userbase.Cached, error) {
	if err := userbase.Init(ctx, cfg); err != nil {
		return nil, err
	}
	db, err := userbase.OpenDB(cfg)
	if err != nil {
		return nil, err
	}
	for i := range lookupMailboxes {
		m := userbase.Mailbox{Name: mailbox.MustParse(fmt.Sprintf(rcptFormat, i)), Enabled: true}
		if err := db.AddMailbox(ctx, m); err != nil && !errors.Is(err, userbase.ErrExists) {
			db.Close()
			return nil, err
		}
	}
	db.Close()
	return userbase.Open(cfg)
}

// lookupRate runs lookupWorkers goroutines of random existing recipients.
func lookupRate(ctx context.Context, s *userbase.Cached, d time.Duration) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, lookupWorkers)
	start := time.Now()
	for w := range lookupWorkers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for ctx.Err() == nil {
				name := mailbox.MustParse(fmt.Sprintf(rcptFormat, r.IntN(lookupMailboxes)))
				if _, err := s.Lookup(context.Background(), name); err != nil {
					errs[w] = err
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), errors.Join(errs...)
}
