package store

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/mailbox"
	"powermail/impl/msgid"
)

var boxPathRE = regexp.MustCompile(`^mbox/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$`)

// checkBoxPath asserts what the name-to-path mapping promises for any input.
func checkBoxPath(t *testing.T, name string) string {
	p := boxPath(mailbox.Name(name))
	m := boxPathRE.FindStringSubmatch(p)
	if m == nil || !filepath.IsLocal(p) || m[1] != m[3][0:2] || m[2] != m[3][2:4] {
		t.Fatalf("boxPath(%q) = %q: not a hashed path inside the root", name, p)
	}
	if again := boxPath(mailbox.Name(name)); again != p {
		t.Fatalf("boxPath(%q) not deterministic: %q then %q", name, p, again)
	}
	return p
}

func FuzzMailboxPath(f *testing.F) {
	f.Add("alice@example.com", "Alice@example.com")
	f.Add("../../etc/passwd", "..@example.com")
	f.Add("a/b@example.com", "a\x00@example.com")
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, pb := checkBoxPath(t, a), checkBoxPath(t, b)
		if a != b && pa == pb {
			t.Fatalf("distinct names %q and %q share directory %q", a, b, pa)
		}
		// Parsing then mapping: the canonical name is accepted by the store.
		if n, err := mailbox.Parse(a); err == nil {
			if err := checkName(n); err != nil {
				t.Fatalf("canonical %q refused: %v", n, err)
			}
		}
	})
}

func TestHostileNamesRefusedOrContained(t *testing.T) {
	for _, raw := range []string{"../../etc/passwd", "x@../..", "a\x00b@example.com", "..@example.com"} {
		_, err := mailbox.Parse(raw)
		assert.ErrorIs(t, err, mailbox.ErrSyntax, raw)
	}
	s, dir := openTemp(t)
	// Cast around Parse: the store refuses what is not canonical.
	for _, raw := range []string{"../../etc/passwd", "Alice@Example.com", ""} {
		_, err := s.List(mailbox.Name(raw))
		assert.ErrorIs(t, err, mailbox.ErrSyntax, raw)
		assert.ErrorIs(t, s.Delete(mailbox.Name(raw), msgid.New(t0), t0), mailbox.ErrSyntax, raw)
	}
	for _, raw := range []string{"../../../etc/passwd", "../mbox/x", strings.Repeat("A", msgid.Len)} {
		_, err := s.Begin(msgid.ID(raw))
		assert.ErrorIs(t, err, msgid.ErrSyntax, raw)
	}
	// Valid names full of path syntax land in hashed directories.
	odd := []mailbox.Name{
		mailbox.MustParse("a/b@example.com"), mailbox.MustParse("a/.b@example.com"),
		mailbox.MustParse("%2e%2e@example.com"), mailbox.CatchAll("example.com"),
		mailbox.MustParse("/etc/passwd@x"), // "/" is atext (RFC 5321 4.1.2)
	}
	deliver(t, s, body(3), odd...)
	assertLayoutOnly(t, dir)
	names, err := s.Mailboxes()
	require.NoError(t, err)
	assert.ElementsMatch(t, odd, names)
}

// assertLayoutOnly walks dir and fails on any path the layout does not name.
func assertLayoutOnly(t *testing.T, dir string) {
	entry := regexp.MustCompile(`^mbox/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}/(name|[0-9a-f]{44}(\.tomb)?)$`)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == lockFile {
			return nil
		}
		assert.Regexp(t, entry, rel)
		return nil
	})
	require.NoError(t, err)
}
