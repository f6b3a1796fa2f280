// Package mailbox defines the canonical name of a mailbox.
//
// PowerMail is mailbox-centric: a mailbox name includes its domain
// ("info@company.biz") and there is no per-domain configuration. Every
// component (userbase, backend store, powersmtp, powerpop) must agree on one
// spelling of a name, so all of them pass names through Parse, which
// lower-cases and validates. The original matched case-insensitively in MySQL
// but named directories after the typed case; one canonical form prevents that.
//
// Accepted syntax is the RFC 5321 section 4.1.2 Dot-string local part (with
// RFC 6531 UTF-8 atext) and an LDH domain. Quoted local parts and address
// literals are refused: they are the raw material of open-relay tricks such as
// `"u@remote"@local` and `u@[1.2.3.4]`, and no mailbox in a userbase needs them.
package mailbox

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits from RFC 5321 section 4.5.3.1.
const (
	MaxLocalBytes  = 64
	MaxDomainBytes = 255
	// MaxNameBytes bounds a whole name (local "@" domain), RFC 5321 4.5.3.1.3
	// path limit less the angle brackets.
	MaxNameBytes = 254
)

// Name is a canonical mailbox name: "local@domain", lower-cased, validated.
// The zero value is not a valid name.
type Name string

// ErrSyntax is wrapped by every error that Parse returns.
var ErrSyntax = errors.New("invalid mailbox name")

// Parse returns the canonical form of s or an error that wraps ErrSyntax.
func Parse(s string) (Name, error) {
	if len(s) > MaxNameBytes {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrSyntax, MaxNameBytes)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", fmt.Errorf("%w: no @", ErrSyntax)
	}
	local, domain := s[:at], s[at+1:]
	if err := checkLocal(local); err != nil {
		return "", err
	}
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	return Name(strings.ToLower(local) + "@" + strings.ToLower(domain)), nil
}

// MustParse is Parse for constants in tests and examples; it panics on error.
func MustParse(s string) Name {
	n, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return n
}

// CatchAll is the userbase entry "*@domain" that accepts every local part of
// domain that has no mailbox of its own.
func CatchAll(domain string) Name { return Name("*@" + strings.ToLower(domain)) }

// Local returns the part before the last "@".
func (n Name) Local() string { return string(n[:strings.LastIndexByte(string(n), '@')]) }

// Domain returns the part after the last "@".
func (n Name) Domain() string { return string(n[strings.LastIndexByte(string(n), '@')+1:]) }

// IsCatchAll reports whether n is a "*@domain" entry.
func (n Name) IsCatchAll() bool { return n.Local() == "*" }

func (n Name) String() string { return string(n) }

// checkLocal accepts a Dot-string (RFC 5321 4.1.2): atoms of atext joined by
// single dots; RFC 6531 section 3.3 extends atext with UTF-8 non-ASCII, of
// which only visible characters are accepted (see isAtext).
func checkLocal(local string) error {
	switch {
	case local == "":
		return fmt.Errorf("%w: empty local part", ErrSyntax)
	case len(local) > MaxLocalBytes:
		return fmt.Errorf("%w: local part longer than %d bytes", ErrSyntax, MaxLocalBytes)
	case !utf8.ValidString(local):
		return fmt.Errorf("%w: local part is not UTF-8", ErrSyntax)
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return fmt.Errorf("%w: misplaced dot in local part", ErrSyntax)
	}
	for _, r := range local {
		if r != '.' && !isAtext(r) {
			return fmt.Errorf("%w: character %q not allowed in local part", ErrSyntax, r)
		}
	}
	return nil
}

// isAtext is RFC 5321 atext, and of RFC 6531's UTF8-non-ascii only letters,
// marks, digits, punctuation and symbols. Refused are the C1 controls
// (U+0085 NEL among them) and the line and paragraph separators U+2028 and
// U+2029, which RFC 5198 section 2 keeps out of Net-Unicode text; format
// characters (bidi overrides such as U+202E, zero-width characters, soft
// hyphen); spaces; private-use and unassigned code points. A name travels
// raw into our Received: header, logs, ppadmin listings and POP clients:
// these characters would break a header line in some readers or make one
// address display as another ("Trojan Source", CVE-2021-42574), and no
// mailbox needs them.
func isAtext(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	case r >= 0x80:
		return r != utf8.RuneError && unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// checkDomain accepts LDH labels joined by dots (RFC 5321 4.1.2 Domain). A
// trailing dot is refused rather than stripped, so "u@example.com." can never
// be a second spelling of a local mailbox.
func checkDomain(domain string) error {
	if domain == "" || len(domain) > MaxDomainBytes {
		return fmt.Errorf("%w: domain empty or too long", ErrSyntax)
	}
	for _, label := range strings.Split(domain, ".") {
		if err := checkLabel(label); err != nil {
			return err
		}
	}
	return nil
}

func checkLabel(label string) error {
	if label == "" || len(label) > 63 {
		return fmt.Errorf("%w: empty or over-long domain label", ErrSyntax)
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return fmt.Errorf("%w: domain label starts or ends with '-'", ErrSyntax)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
		if !ok {
			return fmt.Errorf("%w: character %q not allowed in domain", ErrSyntax, c)
		}
	}
	return nil
}
