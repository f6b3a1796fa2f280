// Package password hashes and verifies mailbox passwords.
//
// A stored password is a scheme in braces at the very start of the string,
// then the scheme's own encoding:
//
//	{argon2id}$argon2id$v=19$m=19456,t=2,p=1$<salt b64>$<hash b64>   (default, PHC string)
//	{bcrypt}$2a$10$...                                              (bcrypt's modular crypt form)
//	{md5}5ebe2294ecd0e0f08eab7690d2a6ee69                           (hex MD5, PowerMail migration)
//	{plain}secret                                                   (PowerMail migration)
//
// PowerMail 1.9 looked for "{md5}" anywhere in the stored string, so a stored
// value of just "{md5}" matched every password. Here the scheme must be the
// prefix, every scheme checks its own encoding, an empty stored value or an
// empty password never matches, and every comparison is constant-time.
package password

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Scheme names as they appear between the braces.
const (
	Argon2id = "argon2id"
	Bcrypt   = "bcrypt"
	MD5      = "md5"
	Plain    = "plain"
)

// MaxPasswordBytes bounds a password presented for hashing or verification,
// so that a client cannot make the server hash megabytes per attempt.
const MaxPasswordBytes = 1024

// ErrMalformed is wrapped by Verify's error when the stored value cannot be
// parsed; such a value never matches any password.
var ErrMalformed = errors.New("malformed stored password")

// ErrTooLong is returned when a password exceeds MaxPasswordBytes.
var ErrTooLong = fmt.Errorf("password longer than %d bytes", MaxPasswordBytes)

// Hash returns the default stored form of pw: argon2id with DefaultArgon2.
func Hash(pw string) (string, error) { return HashArgon2id(pw, DefaultArgon2) }

// HashScheme returns pw stored with the named scheme. The legacy schemes
// exist so that migrations and tests can produce them; new mailboxes should
// use Hash.
func HashScheme(scheme, pw string) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", ErrTooLong
	}
	switch scheme {
	case Argon2id:
		return Hash(pw)
	case Bcrypt:
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
		if err != nil {
			return "", err
		}
		return "{" + Bcrypt + "}" + string(h), nil
	case MD5:
		sum := md5.Sum([]byte(pw))
		return "{" + MD5 + "}" + hex.EncodeToString(sum[:]), nil
	case Plain:
		return "{" + Plain + "}" + pw, nil
	}
	return "", fmt.Errorf("unknown password scheme %q", scheme)
}

// SchemeOf returns the scheme named at the start of stored, or "" if stored
// does not start with "{scheme}".
func SchemeOf(stored string) string {
	scheme, _, ok := split(stored)
	if !ok {
		return ""
	}
	return scheme
}

func split(stored string) (scheme, rest string, ok bool) {
	if !strings.HasPrefix(stored, "{") {
		return "", "", false
	}
	end := strings.IndexByte(stored, '}')
	if end < 2 {
		return "", "", false
	}
	return stored[1:end], stored[end+1:], true
}

// Verify reports whether pw matches stored. A false result with a nil error
// is an ordinary wrong password; an error means the stored value (or pw) is
// unusable, which the caller should log and treat as a failed login.
func Verify(stored, pw string) (bool, error) {
	if pw == "" || len(pw) > MaxPasswordBytes {
		return false, nil
	}
	scheme, rest, ok := split(stored)
	if !ok {
		return false, fmt.Errorf("%w: no {scheme} prefix", ErrMalformed)
	}
	switch scheme {
	case Argon2id:
		return verifyArgon2id(rest, pw)
	case Bcrypt:
		return verifyBcrypt(rest, pw)
	case MD5:
		return verifyMD5(rest, pw)
	case Plain:
		return verifyPlain(rest, pw)
	}
	return false, fmt.Errorf("%w: unknown scheme %q", ErrMalformed, scheme)
}

func verifyBcrypt(rest, pw string) (bool, error) {
	err := bcrypt.CompareHashAndPassword([]byte(rest), []byte(pw))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformed, err)
}

func verifyMD5(rest, pw string) (bool, error) {
	want, err := hex.DecodeString(rest)
	if err != nil || len(want) != md5.Size {
		return false, fmt.Errorf("%w: {md5} needs %d hex digits", ErrMalformed, 2*md5.Size)
	}
	got := md5.Sum([]byte(pw))
	return subtle.ConstantTimeCompare(got[:], want) == 1, nil
}

// verifyPlain compares digests rather than the strings themselves because
// subtle.ConstantTimeCompare returns early when the lengths differ, which
// would leak the stored password's length.
func verifyPlain(rest, pw string) (bool, error) {
	if rest == "" {
		return false, fmt.Errorf("%w: empty {plain} password", ErrMalformed)
	}
	a, b := sha256.Sum256([]byte(rest)), sha256.Sum256([]byte(pw))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1, nil
}
