package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// ppadmin runs the tool in-process and returns exit status and output.
func ppadmin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func tempDB(t *testing.T) []string {
	db := []string{"-db", filepath.Join(t.TempDir(), "u.db")}
	if code, _, e := ppadmin(t, "", append(db, "init")...); code != exitOK {
		t.Fatalf("init: %s", e)
	}
	return db
}

func TestExitStatuses(t *testing.T) {
	db := tempDB(t)
	for _, c := range []struct {
		args    []string
		code    int
		errText string
	}{
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"add"}, exitUsage, "usage: ppadmin add"},
		{[]string{"add", "a@example.com", "-password", "x", "-hash", "{plain}x"}, exitUsage, "only one of"},
		{[]string{"add", "'; DROP TABLE mailboxes; --"}, exitError, "invalid mailbox name"},
		{[]string{"add", strings.Repeat("a", 300) + "@example.com"}, exitError, "longer than 254"},
		{[]string{"add", "a@example.com", "-quota", "lots"}, exitUsage, "quota"},
		{[]string{"add", "a@example.com", "-forward", "not-an-address"}, exitError, "not a mailbox"},
		{[]string{"quota", "ghost@example.com", "1M"}, exitError, "no such mailbox"},
		{[]string{"forward", "ghost@example.com"}, exitUsage, "-clear"},
		{[]string{"backend", "add", "nohost"}, exitError, "host:port"},
		{[]string{"backend", "fly"}, exitUsage, "unknown backend subcommand"},
	} {
		code, _, errOut := ppadmin(t, "", append(slices.Clone(db), c.args...)...)
		if code != c.code || !strings.Contains(errOut, c.errText) {
			t.Errorf("%q: exit %d, stderr %q; want %d containing %q", c.args, code, errOut, c.code, c.errText)
		}
	}
	if code, _, errOut := ppadmin(t, "", "-db", filepath.Join(t.TempDir(), "none.db"), "list"); code != exitError || !strings.Contains(errOut, "ppadmin init") {
		t.Errorf("missing db: %d %q", code, errOut)
	}
	if code, _, errOut := ppadmin(t, "", "-drvier", "x", "list"); code != exitUsage || !strings.Contains(errOut, "drvier") {
		t.Errorf("unknown flag: %d %q", code, errOut)
	}
}

// TestDatabaseDownIsTempfail: scripts can tell "retry later" from "wrong".
func TestDatabaseDownIsTempfail(t *testing.T) {
	start := time.Now()
	code, _, errOut := ppadmin(t, "", "-driver", "mysql", "-dsn", "root@tcp(127.0.0.1:1)/test",
		"-query-timeout", "500ms", "list")
	if code != exitTemporary || !strings.Contains(errOut, "temporarily unavailable") || time.Since(start) > 3*time.Second {
		t.Fatalf("exit %d after %v: %s", code, time.Since(start), errOut)
	}
}

func TestPasswordFromStdinAndJSON(t *testing.T) {
	db := tempDB(t)
	if code, _, e := ppadmin(t, "s3cret\r\n", append(db, "add", "-password-stdin", "-scheme", "bcrypt", "u@example.com")...); code != 0 {
		t.Fatal(e)
	}
	long := strings.Repeat("x", 2000) + "\n"
	if code, _, e := ppadmin(t, long, append(db, "passwd", "u@example.com", "-password-stdin")...); code == 0 || !strings.Contains(e, "longer") {
		t.Fatalf("over-long stdin password: %d %s", code, e)
	}
	code, out, e := ppadmin(t, "", append(db, "enable", "u@example.com", "-json")...)
	var m mailboxJSON
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil || m.PasswordScheme != "bcrypt" || !m.Enabled {
		t.Fatalf("enable -json: %d %q %s", code, out, e)
	}
	if strings.Contains(out, "$2") {
		t.Fatal("JSON output leaks the password hash")
	}
	code, out, _ = ppadmin(t, "", append(db, "list", "-json", "example.org")...)
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty list -json: %q", out)
	}
}

func TestSplitGlobal(t *testing.T) {
	for _, c := range []struct{ in, global, rest string }{
		{"-db x add a@b -quota 1", "-db x", "add a@b -quota 1"},
		{"-db=x -driver sqlite list", "-db=x -driver sqlite", "list"},
		{"-config f.conf -- list", "-config f.conf", "list"},
		{"list -json", "", "list -json"},
		{"-db", "-db", ""},
	} {
		g, r := splitGlobal(strings.Fields(c.in))
		if strings.Join(g, " ") != c.global || strings.Join(r, " ") != c.rest {
			t.Errorf("splitGlobal(%q) = %q %q", c.in, g, r)
		}
	}
}

func TestParseQuota(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "unlimited": 0, "1024": 1024, "250k": 250 << 10, "100M": 100 << 20, "2G": 2 << 30} {
		if got, err := parseQuota(in); err != nil || got != want {
			t.Errorf("parseQuota(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1.5G", "M", "99999999999T", "1X"} {
		if _, err := parseQuota(in); err == nil {
			t.Errorf("parseQuota(%q) accepted", in)
		}
	}
}

// TestMySQL runs a few commands against MariaDB when PM_TEST_MYSQL_DSN is
// set (required in CI), in tables of their own.
func TestMySQL(t *testing.T) {
	dsn := os.Getenv("PM_TEST_MYSQL_DSN")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PM_TEST_MYSQL_DSN is not set but CI is")
		}
		t.Skip("PM_TEST_MYSQL_DSN not set")
	}
	prefix := "ppadmin" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "") + "_"
	db := []string{"-driver", "mysql", "-dsn", dsn, "-table-prefix", prefix}
	t.Cleanup(func() { dropTables(t, dsn, prefix) })
	for _, args := range [][]string{{"init"}, {"add", "Alice@Example.com", "-password", "pw"}, {"catchall", "example.com"}} {
		if code, _, e := ppadmin(t, "", append(slices.Clone(db), args...)...); code != 0 {
			t.Fatalf("%v: %s", args, e)
		}
	}
	code, out, _ := ppadmin(t, "", append(db, "list")...)
	if code != 0 || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "*@example.com") {
		t.Fatalf("list: %q", out)
	}
}
