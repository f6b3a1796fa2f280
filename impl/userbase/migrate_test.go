package userbase

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestMySQLReadmeMigration runs the README's migration from PowerMail 1.9's
// mysqlplain table (as the README describes it) on MySQL, the
// engine PowerMail sites have.
func TestMySQLReadmeMigration(t *testing.T) {
	cfg := mysqlConfig(t)
	db := newDB(t, cfg)
	migrate, err := os.ReadFile("testdata/readme-migrate.sql")
	if err != nil {
		t.Fatal(err)
	}
	old := cfg.TablePrefix + "mboxes"
	t.Cleanup(func() { db.sql.Exec("DROP TABLE IF EXISTS " + old) })
	// PowerMail declared password VARCHAR(40); "{md5}" plus 32 hex digits
	// does not fit, so sites that used {md5} had widened it.
	for _, q := range []string{
		"CREATE TABLE " + old + ` (id INT AUTO_INCREMENT PRIMARY KEY, mbox VARCHAR(128) UNIQUE,
			password VARCHAR(40), quotaMB INT DEFAULT 0, isForward TINYINT, fwdDest VARCHAR(80))`,
		"INSERT INTO " + old + ` (mbox, password, quotaMB, isForward, fwdDest) VALUES
			('Ann@Example.com', 'secret', 25, 0, ''),
			('md5@example.com', '{md5}5f4dcc3b5aa765d61d8327deb882cf99', 0, 0, ''),
			('fwd@example.com', '', 0, 1, 'elsewhere@example.org')`,
		strings.NewReplacer("INTO mailboxes", "INTO "+cfg.TablePrefix+"mailboxes", "FROM mboxes", "FROM "+old).Replace(string(migrate)),
	} {
		if _, err := db.sql.ExecContext(ctx(t), q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	ub := uncached(db, cfg)
	if e, err := ub.Authenticate(ctx(t), "ann@example.com", "secret"); err != nil || e.QuotaBytes != 25<<20 {
		t.Errorf("migrated plaintext: %+v %v", e, err)
	}
	if _, err := ub.Authenticate(ctx(t), "md5@example.com", "password"); err != nil {
		t.Errorf("migrated {md5}: %v", err)
	}
	if e, err := ub.Lookup(ctx(t), "fwd@example.com"); err != nil || !slices.Equal(e.Forward, []string{"elsewhere@example.org"}) {
		t.Errorf("migrated forward: %+v %v", e, err)
	}
	_, err = ub.Authenticate(ctx(t), "fwd@example.com", "")
	wantErr(t, "forward-only, no password", err, ErrAuthFailed)
}
