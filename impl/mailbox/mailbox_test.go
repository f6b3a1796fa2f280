package mailbox

import (
	"errors"
	"strings"
	"testing"
	"unicode"

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

// TestParseRejectsInvisibleUnicode: letters of any script are local-part
// characters (RFC 6531), controls, separators and format characters are not.
func TestParseRejectsInvisibleUnicode(t *testing.T) {
	for _, r := range []rune{
		0x80, 0x85, 0x9f, // C1 controls, NEL
		0xa0, 0x2003, 0x3000, // spaces
		0x2028, 0x2029, // line and paragraph separators
		0xad, 0x200b, 0x200d, 0x200e, 0x202a, 0x202e, 0x2066, 0x2069, 0xfeff, // format
		0xe000, 0xf0000, // private use
		0xfffe, 0x10ffff, // noncharacters
	} {
		_, err := Parse("a" + string(r) + "b@example.com")
		assert.ErrorIs(t, err, ErrSyntax, "U+%04X", r)
	}
	for _, ok := range []string{"ünïcode", "用户", "δοκιμή", "пользователь", "ユーザー", "a\u0301"} {
		_, err := Parse(ok + "@example.com")
		assert.NoError(t, err, ok)
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
		// Nothing invisible that could break or disguise a header line.
		for _, r := range string(n) {
			if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Z) {
				t.Fatalf("canonical name %q holds U+%04X", n, r)
			}
		}
	})
}
