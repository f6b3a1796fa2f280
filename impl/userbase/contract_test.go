package userbase

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"powermail/impl/mail"
	"powermail/impl/mailbox"
	"powermail/impl/userbase/password"
)

// uncached returns a Cached with caching off, so every call reaches the engine.
// uncached is a Cached without caches. Nor do failed password checks rest
// their slot (verifyGate): these tests follow a wrong password with a
// login at once, which a POP session's penalty never does, and under the
// race detector a check's rest can outlast auth-verify-wait.
func uncached(db *DB, cfg Config) *Cached {
	cfg.CacheMaxEntries, cfg.AuthCacheMaxEntries = 0, 0
	cfg.AuthVerifyBusyPercent = 100
	return NewCached(db, cfg, nil)
}

func mustAdd(t *testing.T, db *DB, m Mailbox) {
	t.Helper()
	m.Enabled = true
	if err := db.AddMailbox(ctx(t), m); err != nil {
		t.Fatalf("add %s: %v", m.Name, err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func TestContractCaseInsensitiveOneCanonicalName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		ub := uncached(db, cfg)
		mustAdd(t, db, Mailbox{Name: "Alice@Example.COM"})
		for _, spelling := range []mailbox.Name{"alice@example.com", "ALICE@EXAMPLE.COM", "aLiCe@example.Com"} {
			e, err := ub.Lookup(ctx(t), spelling)
			if err != nil || e.Name != "alice@example.com" || e.CatchAll {
				t.Fatalf("Lookup(%s) = %+v, %v", spelling, e, err)
			}
		}
		err := db.AddMailbox(ctx(t), Mailbox{Name: "ALICE@example.com", Enabled: true})
		wantErr(t, "second spelling", err, ErrExists)
		// A hand-written INSERT in the wrong case is refused by the schema,
		// on both engines, so the two cannot disagree about "Alice".
		if _, err := db.sql.Exec(db.dialect.expand(qInsert, db.prefix), "Bob@example.com", "", 0, "", 1); err == nil {
			t.Fatal("schema accepted a mixed-case mailbox")
		}
	})
}

func TestContractCatchAll(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		ub := uncached(db, cfg)
		mustAdd(t, db, Mailbox{Name: mailbox.CatchAll("example.com"), QuotaBytes: 7})
		mustAdd(t, db, Mailbox{Name: "alice@example.com", QuotaBytes: 1})
		e, err := ub.Lookup(ctx(t), "nobody@example.com")
		if err != nil || e.Name != "*@example.com" || !e.CatchAll || e.QuotaBytes != 7 {
			t.Fatalf("catch-all lookup = %+v, %v", e, err)
		}
		if e, _ := ub.Lookup(ctx(t), "alice@example.com"); e.Name != "alice@example.com" || e.CatchAll {
			t.Fatalf("exact entry must win over catch-all: %+v", e)
		}
		_, err = ub.Lookup(ctx(t), "nobody@example.org")
		wantErr(t, "other domain", err, ErrNoSuchMailbox)
		_, err = ub.Lookup(ctx(t), "nobody@sub.example.com")
		wantErr(t, "subdomain", err, ErrNoSuchMailbox)
		// A disabled mailbox is as if absent: the catch-all takes its mail.
		if err := db.SetEnabled(ctx(t), "alice@example.com", false); err != nil {
			t.Fatal(err)
		}
		if e, _ := ub.Lookup(ctx(t), "alice@example.com"); e.Name != "*@example.com" {
			t.Fatalf("disabled mailbox: %+v", e)
		}
	})
}

func TestContractForwardAndQuota(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		ub := uncached(db, cfg)
		fwd := []string{"Bob@Remote.example", "carol@elsewhere.example"}
		mustAdd(t, db, Mailbox{Name: "fwd@example.com", Forward: fwd})
		e, err := ub.Lookup(ctx(t), "fwd@example.com")
		if err != nil || !slices.Equal(e.Forward, fwd) || e.QuotaBytes != 0 {
			t.Fatalf("forward entry = %+v, %v (destinations are kept as typed)", e, err)
		}
		if err := db.SetForward(ctx(t), "fwd@example.com", nil); err != nil {
			t.Fatal(err)
		}
		if err := db.SetQuota(ctx(t), "fwd@example.com", 5<<20); err != nil {
			t.Fatal(err)
		}
		// Setting a value to what it already is must not look like "no such
		// mailbox" (MySQL counts changed rows unless told otherwise).
		if err := db.SetQuota(ctx(t), "fwd@example.com", 5<<20); err != nil {
			t.Fatalf("idempotent update: %v", err)
		}
		e, _ = ub.Lookup(ctx(t), "fwd@example.com")
		if e.Forward != nil || e.QuotaBytes != 5<<20 {
			t.Fatalf("after updates: %+v", e)
		}
	})
}

func TestContractAuthenticateEachScheme(t *testing.T) {
	argon, err := password.HashArgon2id("pw-argon", password.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{"argon": argon}
	for _, s := range []string{password.Bcrypt, password.MD5, password.Plain} {
		hashes[s], _ = password.HashScheme(s, "pw-"+s)
	}
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		ub := uncached(db, cfg)
		for user, h := range hashes {
			mustAdd(t, db, Mailbox{Name: mailbox.Name(user + "@example.com"), PasswordHash: h})
			for _, login := range []string{user + "@example.com", strings.ToUpper(user) + "@Example.com", user + "%example.com"} {
				e, err := ub.Authenticate(ctx(t), login, "pw-"+user)
				if err != nil || e.Name != mailbox.Name(user+"@example.com") {
					t.Errorf("%s: Authenticate(%s) = %+v, %v", user, login, e, err)
				}
			}
			_, err := ub.Authenticate(ctx(t), user+"@example.com", "pw-"+user+"x")
			wantErr(t, user+" wrong password", err, ErrAuthFailed)
		}
	})
}

func TestContractAuthenticateRefusals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		ub := uncached(db, cfg)
		plain := "{plain}secret"
		mustAdd(t, db, Mailbox{Name: "off@example.com", PasswordHash: plain})
		mustAdd(t, db, Mailbox{Name: "*@example.com", PasswordHash: plain})
		mustAdd(t, db, Mailbox{Name: "nopw@example.com"})
		mustAdd(t, db, Mailbox{Name: "bare@example.com", PasswordHash: "{md5}"})
		if err := db.SetEnabled(ctx(t), "off@example.com", false); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ login, pw string }{
			{"unknown@example.org", "secret"},      // no such mailbox
			{"off@example.com", "secret"},          // disabled
			{"someone@example.com", "secret"},      // catch-all does not log in other names
			{"nopw@example.com", ""},               // empty stored hash never matches
			{"bare@example.com", "anything"},       // PowerMail's bare {md5} bug
			{"off@example.com", ""},                // empty password
			{"not a login", "secret"},              // syntax
			{strings.Repeat("a", 300) + "@x", "x"}, // over-long
		} {
			_, err := ub.Authenticate(ctx(t), c.login, c.pw)
			wantErr(t, c.login, err, ErrAuthFailed)
		}
		if _, err := ub.Authenticate(ctx(t), "*%example.com", "secret"); err != nil {
			t.Fatalf("catch-all owner login: %v", err)
		}
	})
}

func TestContractSQLMetacharactersAreInert(t *testing.T) {
	const evil = "'; DROP TABLE mailboxes; --"
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		ub := uncached(db, cfg)
		mustAdd(t, db, Mailbox{Name: "o'brien@example.com", PasswordHash: "{plain}" + evil})
		if _, err := ub.Authenticate(ctx(t), "o'brien@example.com", evil); err != nil {
			t.Fatalf("password with SQL metacharacters: %v", err)
		}
		// Find takes the name as given: feed it the raw string, bypassing
		// the syntax check, to show the query itself is safe.
		_, err := db.Find(ctx(t), mailbox.Name(evil+"@example.org"))
		wantErr(t, "raw evil name", err, ErrNoSuchMailbox)
		_, err = ub.Authenticate(ctx(t), evil, evil)
		wantErr(t, "evil login", err, ErrAuthFailed)
		_, err = db.ListMailboxes(ctx(t), "%")
		wantErr(t, "wildcard domain", err, ErrInvalid)
		err = db.AddMailbox(ctx(t), Mailbox{Name: evil + "@example.com"})
		wantErr(t, "evil add", err, ErrInvalid)
		if list, err := db.ListMailboxes(ctx(t), ""); err != nil || len(list) != 1 {
			t.Fatalf("table damaged: %v %v", list, err)
		}
	})
}

func TestContractOverLongAndBadFields(t *testing.T) {
	long := strings.Repeat("a", 250) + "@example.com"
	manyFwd := slices.Repeat([]string{"x@example.org"}, maxForwards+1)
	bigFwd := []string{strings.Repeat("a", 60) + "@" + strings.Repeat("b", 60) + ".example"}
	bigFwd = slices.Repeat(bigFwd, 9)
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		for what, m := range map[string]Mailbox{
			"name":        {Name: mailbox.Name(long)},
			"hash":        {Name: "a@example.com", PasswordHash: "{plain}" + strings.Repeat("x", maxHashBytes)},
			"bare hash":   {Name: "a@example.com", PasswordHash: "secret"},
			"quota":       {Name: "a@example.com", QuotaBytes: -1},
			"forwards":    {Name: "a@example.com", Forward: manyFwd},
			"forward len": {Name: "a@example.com", Forward: bigFwd},
			"forward bad": {Name: "a@example.com", Forward: []string{"a@b,c@d"}},
		} {
			err := db.AddMailbox(ctx(t), m)
			wantErr(t, what, err, ErrInvalid)
			if !strings.Contains(err.Error(), "at most") && !strings.Contains(err.Error(), "mailbox") &&
				!strings.Contains(err.Error(), "range") && !strings.Contains(err.Error(), "scheme") {
				t.Errorf("%s: unclear error %q", what, err)
			}
		}
		wantErr(t, "remove unknown", db.RemoveMailbox(ctx(t), "ghost@example.com"), ErrNoSuchMailbox)
		wantErr(t, "quota unknown", db.SetQuota(ctx(t), "ghost@example.com", 1), ErrNoSuchMailbox)
		_, err := db.Mailbox(ctx(t), "ghost@example.com")
		wantErr(t, "get unknown", err, ErrNoSuchMailbox)
	})
}

func TestContractAdminRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		mustAdd(t, db, Mailbox{Name: "b@example.com", QuotaBytes: 9})
		mustAdd(t, db, Mailbox{Name: "a@example.com"})
		mustAdd(t, db, Mailbox{Name: "z@example.org"})
		if err := db.SetPassword(ctx(t), "a@example.com", "{plain}x"); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListMailboxes(ctx(t), "example.com")
		if err != nil || len(list) != 2 || list[0].Name != "a@example.com" || list[0].PasswordHash != "{plain}x" {
			t.Fatalf("list example.com = %+v, %v", list, err)
		}
		if err := db.RemoveMailbox(ctx(t), "B@example.com"); err != nil {
			t.Fatal(err)
		}
		m, err := db.Mailbox(ctx(t), "z@example.org")
		if err != nil || !m.Enabled || m.Name != "z@example.org" {
			t.Fatalf("get = %+v, %v", m, err)
		}
		if all, _ := db.ListMailboxes(ctx(t), ""); len(all) != 2 {
			t.Fatalf("after remove: %+v", all)
		}
	})
}

func TestContractBackends(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		b1 := BackendRow{Addr: "127.0.0.1:1102", Group: 2, Priority: 1, Enabled: true}
		b0 := BackendRow{Addr: "127.0.0.1:1101", Group: 1, Enabled: true}
		for _, b := range []BackendRow{b1, b0} {
			if err := db.AddBackend(ctx(t), b); err != nil {
				t.Fatal(err)
			}
		}
		wantErr(t, "duplicate", db.AddBackend(ctx(t), b0), ErrExists)
		b1.ReadOnly, b1.Priority = true, 5
		if err := db.UpdateBackend(ctx(t), b1); err != nil {
			t.Fatal(err)
		}
		list, err := db.ListBackends(ctx(t))
		if err != nil || !slices.Equal(list, []BackendRow{b0, b1}) {
			t.Fatalf("list = %+v, %v", list, err)
		}
		b0.Enabled = false
		if err := db.UpdateBackend(ctx(t), b0); err != nil {
			t.Fatal(err)
		}
		members, err := db.Members(ctx(t))
		want := []mail.Member{{Addr: b1.Addr, Group: "2", Priority: 5, ReadOnly: true}}
		if err != nil || !slices.Equal(members, want) {
			t.Fatalf("members = %+v, %v; want the enabled row only: %+v", members, err, want)
		}
		wantErr(t, "remove unknown", db.RemoveBackend(ctx(t), "127.0.0.1:9"), ErrNoSuchBackend)
		wantErr(t, "update unknown", db.UpdateBackend(ctx(t), BackendRow{Addr: "127.0.0.1:9"}), ErrNoSuchBackend)
		for _, bad := range []string{"127.0.0.1", ":1101", "h:0", "h:99999", "h:x", strings.Repeat("h", 300) + ":1"} {
			wantErr(t, bad, db.AddBackend(ctx(t), BackendRow{Addr: bad}), ErrInvalid)
		}
		if err := db.RemoveBackend(ctx(t), b0.Addr); err != nil {
			t.Fatal(err)
		}
		if list, _ := db.ListBackends(ctx(t)); len(list) != 1 {
			t.Fatalf("after remove: %+v", list)
		}
	})
}

// TestContractMissingTablesAreTemporary: a database without our tables (a
// wrong prefix, a half-done migration) must never say "no such mailbox".
func TestContractMissingTablesAreTemporary(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		cfg.TablePrefix = "missing_"
		other, err := OpenDB(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		ub := uncached(other, cfg)
		_, err = ub.Lookup(ctx(t), "alice@example.com")
		wantErr(t, "lookup", err, ErrTemporary)
		_, err = ub.Authenticate(ctx(t), "alice@example.com", "pw")
		wantErr(t, "authenticate", err, ErrTemporary)
		if errors.Is(err, ErrNoSuchMailbox) || errors.Is(err, ErrAuthFailed) {
			t.Fatalf("temporary error also claims a definite answer: %v", err)
		}
	})
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	cfg := sqliteConfig(t)
	db := newDB(t, cfg)
	if _, err := db.ListBackends(ctx(t)); err != nil { // open a connection: WAL files appear
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal"} {
		fi, err := os.Stat(cfg.Path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s%s: mode %v, want 0600 (it holds password hashes)", cfg.Path, suffix, fi.Mode().Perm())
		}
	}
}

// TestContractReadmeInsert runs the README's "one INSERT that adds a
// mailbox" verbatim on each engine and logs in with it.
func TestContractReadmeInsert(t *testing.T) {
	insert, err := os.ReadFile("testdata/readme-insert.sql")
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, db *DB, cfg Config) {
		q := strings.Replace(string(insert), "INTO mailboxes", "INTO "+cfg.TablePrefix+"mailboxes", 1)
		if _, err := db.sql.ExecContext(ctx(t), q); err != nil {
			t.Fatalf("README INSERT: %v", err)
		}
		e, err := uncached(db, cfg).Authenticate(ctx(t), "dave@example.com", "password")
		if err != nil || e.QuotaBytes != 100<<20 {
			t.Fatalf("mailbox added by the README INSERT: %+v, %v", e, err)
		}
	})
}
