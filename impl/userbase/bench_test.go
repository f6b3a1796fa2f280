package userbase

import (
	"context"
	"fmt"
	"testing"

	"powermail/impl/mailbox"
	"powermail/impl/userbase/password"
)

// benchMailboxes is how many rows the benchmark database holds; lookups
// cycle through them so that the uncached run is not one hot row.
const benchMailboxes = 1000

// BenchmarkLookup measures recipient lookups per second on each engine,
// with the cache (all hits after the first round) and without it.
// Run: go test -run '^$' -bench Lookup ./impl/userbase/
func BenchmarkLookup(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			cfg := e.cfg(b)
			db := newDB(b, cfg)
			names := make([]mailbox.Name, benchMailboxes)
			for i := range names {
				names[i] = mailbox.Name(fmt.Sprintf("user%d@example.com", i))
				if err := db.AddMailbox(context.Background(), Mailbox{Name: names[i], Enabled: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("uncached", func(b *testing.B) { benchLookups(b, uncached(db, cfg), names) })
			b.Run("cached", func(b *testing.B) { benchLookups(b, NewCached(db, cfg, nil), names) })
		})
	}
}

func benchLookups(b *testing.B, s *Cached, names []mailbox.Name) {
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.Lookup(ctx, names[i%len(names)]); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkAuthenticate measures POP logins against the embedded engine
// with a default (argon2id) password: every login hashing, and repeated
// logins served by the verification cache (the row is still read).
func BenchmarkAuthenticate(b *testing.B) {
	cfg := sqliteConfig(b)
	db := newDB(b, cfg)
	h, err := password.Hash("pw")
	if err != nil {
		b.Fatal(err)
	}
	if err := db.AddMailbox(context.Background(), Mailbox{Name: "a@example.com", PasswordHash: h, Enabled: true}); err != nil {
		b.Fatal(err)
	}
	for name, s := range map[string]*Cached{"uncached": uncached(db, cfg), "cached": NewCached(db, cfg, nil)} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Authenticate(context.Background(), "a@example.com", "pw"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		})
	}
}
