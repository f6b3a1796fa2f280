package mailbox

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCanonicalizes(t *testing.T) {
	for in, want := range map[string]Name{
		"Info@Company.BIZ":      "info@company.biz",
		"a.b+tag@example.com":   "a.b+tag@example.com",
		"u%remote@example.com":  "u%remote@example.com", // a local part, never a route
		"*@example.com":         "*@example.com",
		"Ünïcode@example.com":   "ünïcode@example.com",
		"x@localhost":           "x@localhost",
		"o'brien@ex-ample.com":  "o'brien@ex-ample.com",
		"a/b@example.com":       "a/b@example.com", // '/' is atext; the store hashes names
		"1234567890@123.45.com": "1234567890@123.45.com",
	} {
		got, err := Parse(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", "nobody", "@example.com", "u@", "u@@example.com",
		`"u@remote"@example.com`, "u@[1.2.3.4]", "u@example.com.", ".u@example.com",
		"u.@example.com", "u..v@example.com", "u v@example.com", "u\x00@example.com",
		"u@exa_mple.com", "u@-example.com", "u@example..com", "u\r\n@example.com",
		"../../etc/passwd", "u@remote@example.com" + strings.Repeat("x", 300),
		strings.Repeat("l", 65) + "@example.com", "\xff@example.com",
		"<u@example.com>", "u@" + strings.Repeat("a", 64) + ".com",
	} {
		_, err := Parse(in)
		assert.True(t, errors.Is(err, ErrSyntax), "%q: %v", in, err)
	}
}

// "u@remote@local" has a local part containing '@', which is not atext.
func TestParseRejectsDoubleAt(t *testing.T) {
	_, err := Parse("u@remote@local.example")
	assert.ErrorIs(t, err, ErrSyntax)
}

func TestParts(t *testing.T) {
	n := MustParse("Info@Example.com")
	assert.Equal(t, "info", n.Local())
	assert.Equal(t, "example.com", n.Domain())
	assert.False(t, n.IsCatchAll())
	assert.True(t, CatchAll("Example.com").IsCatchAll())
	assert.Equal(t, Name("*@example.com"), CatchAll("Example.com"))
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a@b.c", "A@B.C", `"x"@y`, "a..b@c", "ü@x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		// Canonical names are fixed points, bounded, and contain no path
		// separators that could matter outside the local part.
		again, err := Parse(string(n))
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %q, not a fixed point (%v)", s, n, err)
		}
		if len(n) > MaxNameBytes || strings.ContainsAny(string(n), "\x00\r\n ") {
			t.Fatalf("bad canonical name %q", n)
		}
	})
}
