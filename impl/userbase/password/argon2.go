package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters (RFC 9106 section 3.1).
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultArgon2 is OWASP's minimum for argon2id (19 MiB, 2 passes, 1 lane):
// a POP login flood then costs bounded memory per concurrent verification,
// and the verification cache in package userbase absorbs repeated logins.
var DefaultArgon2 = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// Limits on parameters read from a stored hash, so that a corrupt or hostile
// row cannot make one login allocate gigabytes or spin for minutes.
const (
	maxArgon2MemoryKiB = 256 << 10 // 256 MiB
	maxArgon2Time      = 16
	argon2SaltBytes    = 16
	argon2KeyBytes     = 32
)

var b64 = base64.RawStdEncoding

// HashArgon2id returns pw as "{argon2id}" followed by a PHC string.
func HashArgon2id(pw string, p Argon2Params) (string, error) {
	if len(pw) > MaxPasswordBytes {
		return "", ErrTooLong
	}
	salt := make([]byte, argon2SaltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, argon2KeyBytes)
	return fmt.Sprintf("{%s}$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", Argon2id, argon2.Version,
		p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verifyArgon2id checks pw against a PHC string
// "$argon2id$v=19$m=M,t=T,p=P$salt$key".
func verifyArgon2id(phc, pw string) (bool, error) {
	p, salt, want, err := parseArgon2id(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func parseArgon2id(phc string) (p Argon2Params, salt, key []byte, err error) {
	f := strings.Split(phc, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: not a $argon2id$v=%d$ PHC string", ErrMalformed, argon2.Version)
	}
	if _, err := fmt.Sscanf(f[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("%w: argon2id parameters %q", ErrMalformed, f[3])
	}
	if p.MemoryKiB == 0 || p.MemoryKiB > maxArgon2MemoryKiB || p.Time == 0 || p.Time > maxArgon2Time || p.Threads == 0 {
		return p, nil, nil, fmt.Errorf("%w: argon2id parameters out of range %q", ErrMalformed, f[3])
	}
	salt, err1 := b64.DecodeString(f[4])
	key, err2 := b64.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, fmt.Errorf("%w: argon2id salt or key", ErrMalformed)
	}
	return p, salt, key, nil
}
